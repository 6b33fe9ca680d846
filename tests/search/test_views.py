"""The search pages and API over the starter content: typos, languages, permissions, gaps, auth, odd input."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kms import content
from kms.articles import services as handbook
from kms.articles.models import Process
from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db
from kms.search.indexer import EXTENSION
from kms.search.models import SearchLog
from tests.conftest import login

SECRET = "Xylophonic pricing ladder"


@pytest.fixture
def starter(app, make_user):
    """The starter handbook and training imported, plus one draft and one unpublished module."""
    app.extensions[EXTENSION].rebuild()
    content.import_content(app.config["KMS_CONTENT_DIR"])
    author = make_user(Role.AUTHOR, name="Ada Author")
    handbook.create_article(
        handbook.ArticleFields(
            title=SECRET,
            body="Xylophonic discounts for renewals.",
            category="Billing",
            status="draft",
            tags=["secret-tag"],
        ),
        actor=author,
    )
    from kms.training import services as training

    module = training.create_module(
        actor=author,
        title="Xylophonic onboarding drills",
        summary="Not yet",
        audience=["member"],
        tags=["hidden-drills"],
    )
    training.add_lesson(module.id, title="Xylophonic lesson", body="Xylophonic practice.", actor=author)
    return author


def member_client(app, make_user):
    client = app.test_client()
    assert login(client, make_user(Role.MEMBER)).status_code == 302
    return client


def text_of(response) -> str:
    return re.sub(r"<[^>]+>", "", response.get_data(as_text=True))


def test_a_typo_finds_the_refund_process_with_did_you_mean(app, starter, make_user):
    client = member_client(app, make_user)
    response = client.get("/search?q=refnud")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Refund request" in text_of(response)
    assert re.search(r'Did you mean <a href="[^"]*q=refund[^"]*"><strong>refund</strong></a>', page)
    data = client.get("/api/search?q=refnud").get_json()
    assert data["did_you_mean"] == "refund"
    assert data["results"][0]["title"] == "Refund request"


def test_a_typo_of_a_word_on_almost_every_page_finds_what_the_word_finds(app, starter, make_user):
    client = member_client(app, make_user)
    for typed, meant in (("custmer", "customer"), ("angry custmer", "angry customer")):
        typo = client.get("/api/search", query_string={"q": typed}).get_json()
        right = client.get("/api/search", query_string={"q": meant}).get_json()
        assert right["total"] > 0 and typo["did_you_mean"] == meant, typed
        assert [r["id"] for r in typo["results"]] == [r["id"] for r in right["results"]], typed
    page = client.get("/search?q=angry+custmer").get_data(as_text=True)
    assert re.search(
        r'Did you mean <a href="[^"]*q=angry\+customer[^"]*"><strong>angry customer</strong>', page
    )


def test_a_typo_of_refund_shows_only_refund_pages_not_a_page_that_matched_read(app, starter, make_user):
    client = member_client(app, make_user)
    typo = client.get("/api/search?q=refnd&per_page=50").get_json()
    right = client.get("/api/search?q=refund&per_page=50").get_json()
    assert typo["did_you_mean"] == "refund"
    assert [r["id"] for r in typo["results"]] == [r["id"] for r in right["results"]]
    assert "Reading churn signals early" not in [r["title"] for r in typo["results"]]


def test_a_norwegian_inflected_form_and_a_two_character_chinese_query_find_their_articles(
    app, starter, make_user
):
    client = member_client(app, make_user)
    nb = client.get("/api/search?q=regionene").get_json()  # "regioner" in the definite plural
    assert "shift-handover-between-regions" in [r["slug"] for r in nb["results"]]
    zh = client.get("/api/search?q=中文").get_json()
    assert "chinese-language-chat-support" in [r["slug"] for r in zh["results"]]
    assert "中文在线聊天支持" in text_of(client.get("/search?q=中文"))


def test_hindi_and_tagalog_articles_are_found_by_other_forms_of_their_words(app, starter, make_user):
    for title, slug, body, language in (
        ("ग्राहकों से बात", "talking-to-customers-hi", "ग्राहकों की समस्याओं को ध्यान से सुनें।", "hi"),
        ("Pagbabayad ng refund", "refund-payments-tl", "Paano binabayaran ang refund ng customer.", "tl"),
    ):
        handbook.create_article(
            handbook.ArticleFields(
                title=title, slug=slug, body=body, category="Billing", status="published", language=language
            ),
            actor=starter,
        )
    client = member_client(app, make_user)
    for query, slug in (
        ("ग्राहक", "talking-to-customers-hi"),
        ("समस्या", "talking-to-customers-hi"),
        ("bayaran", "refund-payments-tl"),
        ("nagbayad", "refund-payments-tl"),
    ):
        found = client.get("/api/search", query_string={"q": query}).get_json()
        assert [r["slug"] for r in found["results"]] == [slug], query
        assert not found["fuzzy"] and found["did_you_mean"] is None, query  # the word, not a typo guess


def test_results_show_snippet_type_category_verified_date_facets_and_pages(app, starter, make_user):
    client = member_client(app, make_user)
    response = client.get("/search?q=customer")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<mark>" in page and "last verified" in page and ">Article<" in page
    assert re.search(r'href="/search\?q=customer&amp;type=article"', page)  # a facet narrows the search
    assert 'rel="next"' in page
    narrowed = client.get("/api/search?q=customer&type=lesson").get_json()
    assert narrowed["results"] and {r["type"] for r in narrowed["results"]} == {"lesson"}
    second = client.get("/search?q=customer&page=2")
    assert second.status_code == 200 and 'aria-current="page" class="button primary">2<' in second.get_data(
        as_text=True
    )


def facets_of(page: str) -> str:
    """The "Narrow the results" aside of a results page, as HTML."""
    match = re.search(r'<aside aria-label="Narrow the results">(.*?)</aside>', page, re.DOTALL)
    assert match, "the page has no facets"
    return match.group(1)


def facet_link(page: str, label: str) -> tuple[str, int]:
    """The URL and the count of the facet that reads `label`."""
    match = re.search(
        r'<a href="([^"]+)">' + re.escape(label) + r'</a> <span class="muted">\((\d+)\)</span>',
        facets_of(page),
    )
    assert match, f"no facet reads {label!r}: {text_of_html(facets_of(page))}"
    return html.unescape(match.group(1)), int(match.group(2))


def text_of_html(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_facets_read_as_category_names_and_clicking_one_shows_only_that_category(app, starter, make_user):
    client = member_client(app, make_user)
    page = client.get("/search?q=customer").get_data(as_text=True)
    shown = text_of_html(facets_of(page))
    assert "Support tickets" in shown and "Renewals and churn" in shown and "Training" in shown
    assert "support-tickets" not in shown and "renewals-and-churn" not in shown

    url, count = facet_link(page, "Support tickets")
    narrowed = client.get(url)
    assert narrowed.status_code == 200
    text = text_of_html(narrowed.get_data(as_text=True))
    assert f"{count} result" in text and "Category: Support tickets" in text
    assert "<strong>Support tickets</strong>" in facets_of(narrowed.get_data(as_text=True))  # the chosen one
    data = client.get("/api" + url + "&per_page=50").get_json()
    assert data["total"] == count > 0
    assert {hit["category"] for hit in data["results"]} == {"Support tickets"}
    assert {"value": "support-tickets", "label": "Support tickets", "count": count} in data["facets"][
        "category"
    ]


def test_typing_a_category_by_name_in_any_case_or_by_its_keyword_filters_to_it(app, starter, make_user):
    client = member_client(app, make_user)
    everything = client.get("/api/search?q=customer").get_json()
    expected = next(f["count"] for f in everything["facets"]["category"] if f["label"] == "Support tickets")
    for typed in ('category:"Support tickets"', 'category:"support TICKETS"', "category:support-tickets"):
        data = client.get("/api/search", query_string={"q": f"customer {typed}", "per_page": 50}).get_json()
        assert data["total"] == expected > 0, typed
        assert {hit["category"] for hit in data["results"]} == {"Support tickets"}, typed
        page = client.get("/search", query_string={"q": f"customer {typed}"}).get_data(as_text=True)
        assert facet_link(page, "Support tickets")[1] == expected, typed
    # A category name typed into the address works like the facet link.
    page = client.get("/search", query_string={"q": "customer", "category": "support TICKETS"})
    text = text_of_html(page.get_data(as_text=True))
    assert f"{expected} result" in text and "Category: Support tickets" in text


def test_categories_and_tags_with_accents_commas_or_chinese_show_as_written_and_filter(
    app, starter, make_user
):
    admin = make_user(Role.ADMIN)
    for name, title in (("Kundestøtte, Norge", "Zorblax i Norge"), ("客户支持", "Zorblax 中文")):
        handbook.save_category(name, requires_review=False, actor=admin)
        handbook.create_article(
            handbook.ArticleFields(title=title, body="Zorblax.", category=name, tags=["gift cards"]),
            actor=admin,
        )
    client = member_client(app, make_user)
    page = client.get("/search?q=zorblax").get_data(as_text=True)
    assert "2 results" in text_of_html(page)
    for name, title in (("Kundestøtte, Norge", "Zorblax i Norge"), ("客户支持", "Zorblax 中文")):
        url, count = facet_link(page, name)
        data = client.get("/api" + url).get_json()
        assert count == 1 and [hit["title"] for hit in data["results"]] == [title], name
        assert f"Category: {name}" in text_of_html(client.get(url).get_data(as_text=True))
    assert facet_link(page, "gift cards")[1] == 2
    for typed, title in (
        ('category:"kundestøtte, norge"', "Zorblax i Norge"),
        ("category:kundestotte-norge", "Zorblax i Norge"),
        ("category:客户支持", "Zorblax 中文"),
    ):
        data = client.get("/api/search", query_string={"q": f"zorblax {typed}"}).get_json()
        assert [hit["title"] for hit in data["results"]] == [title], typed


def test_a_type_filter_reads_as_the_type_name(app, starter, make_user):
    client = member_client(app, make_user)
    text = text_of_html(client.get("/search?q=customer&type=lesson").get_data(as_text=True))
    assert "Type: Lesson" in text and "type: lesson" not in text


def test_no_results_has_a_clear_empty_state_and_the_query_is_echoed_safely(app, starter, make_user):
    client = member_client(app, make_user)
    response = client.get("/search", query_string={"q": "<script>alert(1)</script> qqqzzzq"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No results" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    assert "Type a few words" in client.get("/search").get_data(as_text=True)


def test_a_member_never_sees_drafts_or_unpublished_training(app, starter, make_user):
    client = member_client(app, make_user)
    for query in (
        "xylophonic",
        "Xylophonic pricing",
        "xylophnic",
        "tag:secret-tag",
        "tag:hidden-drills",
        "type:article xylophonic",
    ):
        data = client.get("/api/search", query_string={"q": query}).get_json()
        assert data["total"] == 0 and data["results"] == [], query
        assert data["did_you_mean"] in (None, "") or "xylophon" not in data["did_you_mean"].lower(), query
        assert all(
            v["value"] not in ("secret-tag", "hidden-drills")
            for values in data["facets"].values()
            for v in values
        ), query
        assert "ylophonic" not in client.get("/search", query_string={"q": query}).get_data(
            as_text=True
        ).replace(query, "").replace(query.replace(" ", "+"), "")
    for prefix in ("Xy", "Xylo", "xylophonic p"):
        assert client.get("/search/suggest", query_string={"q": prefix}).get_json()["suggestions"] == []
    facets = client.get("/api/search?q=customer").get_json()["facets"]
    assert "secret-tag" not in str(facets) and "hidden-drills" not in str(facets)


def test_authors_find_their_drafts_and_suggestions_include_them(app, starter):
    client = app.test_client()
    assert login(client, starter).status_code == 302
    assert SECRET in text_of(client.get("/search?q=xylophonic"))
    titles = [s["title"] for s in client.get("/search/suggest?q=xylo").get_json()["suggestions"]]
    assert SECRET in titles


def test_suggestions_are_json_titles_with_links(app, starter, make_user):
    client = member_client(app, make_user)
    data = client.get("/search/suggest?q=refu").get_json()
    assert {"title": "Refund request", "type": "article", "url": "/handbook/articles/refund-request"} in data[
        "suggestions"
    ]


def test_hiring_candidates_are_never_found(app, starter, make_user):
    manager = make_user(Role.MANAGER)
    from kms.hiring import services as hiring

    opening = hiring.create_opening("Support rep", actor=manager)
    hiring.create_candidate(opening_id=opening.id, name="Quorra Vexbridge", actor=manager)
    client = app.test_client()
    assert login(client, manager).status_code == 302
    assert client.get("/api/search?q=Vexbridge").get_json()["total"] == 0
    assert client.get("/search/suggest?q=Vexb").get_json()["suggestions"] == []


def test_api_needs_a_session_or_a_bearer_token_and_a_token_never_opens_the_page(app, starter, make_user):
    anonymous = app.test_client()
    assert anonymous.get("/api/search?q=refund").status_code == 401
    member = make_user(Role.MEMBER)
    _, secret = auth_services.create_token(member, "bot")
    bot = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    response = bot.get("/api/search?q=refund", headers=headers)
    assert response.status_code == 200
    hit = response.get_json()["results"][0]
    assert set(hit) >= {"type", "title", "slug", "url", "snippet", "score"}
    assert hit["url"].startswith("http") and hit["slug"] == "refund-request"
    assert bot.get("/api/search?q=xylophonic", headers=headers).get_json()["total"] == 0
    page = bot.get("/search?q=refund", headers=headers)
    assert page.status_code == 302 and "/login" in page.location
    assert bot.get("/search/suggest?q=ref", headers=headers).status_code == 302
    assert bot.get("/api/search?q=refund", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_every_search_is_logged_with_the_role_but_not_the_person(app, starter, make_user):
    client = member_client(app, make_user)
    client.get("/search?q=refund")
    client.get("/api/search?q=Nonexistent+Topic")
    rows = db.session.scalars(select(SearchLog).order_by(SearchLog.id)).all()
    assert [(r.query, r.role, r.source) for r in rows] == [
        ("refund", "member", "page"),
        ("Nonexistent Topic", "member", "api"),
    ]
    assert rows[0].results > 0 and rows[1].results == 0 and rows[1].normalized == "nonexistent topic"
    columns = set(SearchLog.__table__.columns.keys())
    assert not columns & {"user_id", "email", "ip", "user"}


def test_the_gap_report_lists_failed_searches_and_one_click_makes_a_process_to_document(
    app, starter, make_user
):
    searcher, colleague = member_client(app, make_user), member_client(app, make_user)
    for _ in range(2):
        searcher.get("/search?q=Gift+card+balance")
    colleague.get("/search?q=gift card  balance")
    searcher.get("/search?q=refund")
    author = app.test_client()
    assert login(author, starter).status_code == 302
    page = author.get("/search/gaps")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "gift card balance" in html and "refund<" not in html
    assert member_client(app, make_user).get("/search/gaps").status_code == 403
    response = author.post("/search/gaps/process", data={"query": "gift card balance", "category": "Billing"})
    assert response.status_code == 303
    process = db.session.scalar(select(Process).where(Process.name == "Gift card balance"))
    assert process is not None and process.status.value == "undocumented" and process.frequency >= 3
    assert process in handbook.document_next(limit=100)
    assert "in the inventory" in author.get("/search/gaps").get_data(as_text=True)
    manager = app.test_client()
    assert login(manager, make_user(Role.MANAGER)).status_code == 302
    assert manager.get("/search/gaps").status_code == 200
    assert manager.post("/search/gaps/process", data={"query": "x", "category": "Billing"}).status_code == 403


def test_the_gap_report_knows_a_process_already_in_the_inventory_whatever_its_case(app, starter, make_user):
    from kms.search import services as search_services

    handbook.create_process(
        handbook.ProcessFields(name="ÜBERWEISUNG ZURÜCKHOLEN", category="Billing"), actor=starter
    )
    for client in (member_client(app, make_user), member_client(app, make_user)):
        for query in ("überweisung zurückholen", "zahlungsplan ändern"):
            client.get("/search", query_string={"q": query})
    gaps = {gap.query: gap for gap in search_services.gap_report()}
    assert gaps["überweisung zurückholen"].process_exists and not gaps["zahlungsplan ändern"].process_exists


def _gap_queries() -> list[str]:
    from kms.search import services as search_services

    return [gap.query for gap in search_services.gap_report()]


def _first_result_link(client, query: str) -> str:
    page = client.get("/search", query_string={"q": query}).get_data(as_text=True)
    return html.unescape(re.search(r'<h2 class="card-title"><a href="([^"]+)"', page).group(1))


def test_a_query_only_one_person_asked_is_not_a_gap(app, starter, make_user):
    manager = app.test_client()
    assert login(manager, make_user(Role.MANAGER)).status_code == 302
    for _ in range(3):
        manager.get("/search?q=Jordan+Applicantson")  # a candidate's name, looked up by one manager
    assert _gap_queries() == []
    member_client(app, make_user).get("/search?q=jordan applicantson")
    assert _gap_queries() == ["jordan applicantson"]


def test_a_search_whose_result_was_opened_is_not_a_gap(app, starter, make_user):
    first, second = member_client(app, make_user), member_client(app, make_user)
    query = "Chinese-language chat"
    for client in (first, second):
        assert client.get("/api/search", query_string={"q": query}).get_json()["total"] <= 2
        client.get("/search", query_string={"q": query})
    assert _gap_queries() == [query.lower()]
    link = _first_result_link(second, query)
    assert link.startswith("/search/open?")
    opened = second.get(link)
    assert opened.status_code == 303
    assert opened.location.endswith("/handbook/articles/chinese-language-chat-support")
    assert second.get(opened.location).status_code == 200
    assert _gap_queries() == []
    rows = db.session.scalars(select(SearchLog).where(SearchLog.opened_at.is_not(None))).all()
    assert len(rows) == 1


def test_a_click_only_counts_for_the_person_who_searched(app, starter, make_user):
    searcher, other = member_client(app, make_user), member_client(app, make_user)
    link = _first_result_link(searcher, "refund")
    assert other.get(link).status_code == 303  # the page still opens for anyone
    assert db.session.scalar(select(SearchLog.opened_at)) is None  # but it is not their search
    searcher.get(link)
    assert db.session.scalar(select(SearchLog.opened_at)) is not None


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
        "/ok\r\nLocation: https://evil.example",
        "\\\\evil.example",
    ],
)
def test_the_result_redirect_never_leaves_the_site(app, starter, make_user, target):
    client = member_client(app, make_user)
    response = client.get("/search/open", query_string={"s": "1", "to": target})
    assert response.status_code == 400
    assert "does not lead to a page of this site" in response.get_data(as_text=True)
    assert "evil.example" not in (response.location or "")


def test_an_author_dismisses_a_gap_and_it_comes_back_only_when_asked_again(app, starter, make_user):
    askers = [member_client(app, make_user), member_client(app, make_user)]
    for client in askers:
        client.get("/search?q=parking+permit")
    author = app.test_client()
    assert login(author, starter).status_code == 302
    page = author.get("/search/gaps").get_data(as_text=True)
    assert "parking permit" in page and 'action="/search/gaps/dismiss"' in page
    manager = app.test_client()
    assert login(manager, make_user(Role.MANAGER)).status_code == 302
    assert 'action="/search/gaps/dismiss"' not in manager.get("/search/gaps").get_data(as_text=True)
    assert manager.post("/search/gaps/dismiss", data={"query": "parking permit"}).status_code == 403
    assert askers[0].post("/search/gaps/dismiss", data={"query": "parking permit"}).status_code == 403
    response = author.post("/search/gaps/dismiss", data={"query": "parking permit"}, follow_redirects=True)
    assert response.status_code == 200 and "off the report" in response.get_data(as_text=True)
    assert "parking permit" not in author.get("/search/gaps").get_data(as_text=True)
    askers[0].get("/search?q=parking+permit")
    assert _gap_queries() == []  # one person again is not enough
    askers[1].get("/search?q=Parking+permit")
    assert _gap_queries() == ["parking permit"]


MALFORMED = [
    "title:(",
    '"unclosed',
    "*",
    "a*" * 5000,
    "AND OR NOT",
    "NOT",
    "OR",
    '""',
    "-",
    "tag:",
    ":::",
    "(((",
    "\x00",
    "?",
    "type:article",
    "lang:zh",
    "\u202e\u0000evil",
    "%",
    "a" * 10_000,
]


@pytest.mark.parametrize("query", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_queries_never_fail(app, starter, make_user, query):
    client = member_client(app, make_user)
    for url in ("/search", "/api/search", "/search/suggest"):
        response = client.get(url, query_string={"q": query, "page": "9999999999999"})
        assert response.status_code in (200, 400), (url, query, response.status_code)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=80))
def test_arbitrary_text_never_fails_the_search(app, starter, make_user, text):
    client = getattr(test_arbitrary_text_never_fails_the_search, "_client", None)
    if client is None or client.application is not app:
        client = member_client(app, make_user)
        test_arbitrary_text_never_fails_the_search._client = client
    assert client.get("/search", query_string={"q": text, "type": text[:10]}).status_code == 200
    assert client.get("/search/suggest", query_string={"q": text}).status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"page": "0"},
        {"page": "two"},
        {"page": "1001"},
        {"per_page": "0"},
        {"per_page": "51"},
        {"per_page": "-5"},
    ],
)
def test_the_search_api_refuses_a_bad_page_or_per_page_by_name_instead_of_clamping_it(app, make_user, params):
    response = member_client(app, make_user).get("/api/search", query_string={"q": "refund", **params})
    assert response.status_code == 400 and response.json["error"].startswith(next(iter(params)))
