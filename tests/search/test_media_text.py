"""Search finds a page by the text of the PDFs it links and the alt text of its images, and opens the page."""

from __future__ import annotations

import pytest

from kms.articles import services as handbook
from kms.articles.models import Category
from kms.auth.models import Role
from kms.extensions import db
from kms.search.indexer import EXTENSION
from kms.training import services as training
from tests.hiring.conftest import make_process, process, rubric  # noqa: F401 - hiring's fixtures, reused
from tests.media.conftest import image_bytes, login, pdf_bytes, upload


@pytest.fixture
def author(app, client, make_user):
    for position, name in enumerate(handbook.DEFAULT_CATEGORIES):
        db.session.add(Category(name=name, position=position))
    db.session.commit()
    app.extensions[EXTENSION].rebuild()
    user = make_user(Role.AUTHOR)
    login(client, user)
    return user


def _article(author, title: str, body: str):
    article = handbook.create_article(
        handbook.ArticleFields(title=title, body=body, category="Billing"), actor=author
    )
    db.session.commit()
    return article


def _results(client, make_user, query: str) -> list[dict]:
    login(client, make_user(Role.MEMBER))
    response = client.get(f"/api/search?q={query}")
    assert response.status_code == 200
    return [dict(r, url=r["url"].removeprefix("http://kms.test")) for r in response.get_json()["results"]]


def test_words_in_a_linked_pdf_find_the_article_and_the_result_opens_the_article(client, author, make_user):
    guide = upload(
        client, pdf_bytes("Gather the zanzibarian ledger before replying", "Page two: quokka"), "evidence.pdf"
    ).get_json()
    article = _article(author, "Chargeback evidence", f"Use the guide: {guide['markdown']}\n")
    for word in ("zanzibarian", "quokka"):
        results = _results(client, make_user, word)
        assert [(r["title"], r["url"]) for r in results] == [
            ("Chargeback evidence", f"/handbook/articles/{article.slug}")
        ]


def test_an_images_alt_text_finds_the_article(client, author, make_user):
    shot = upload(client, image_bytes(), "shot.png", alt="The periwinkle refund button").get_json()
    article = _article(author, "Refunds", f"Click it:\n\n{shot['markdown']}\n")
    results = _results(client, make_user, "periwinkle")
    assert [r["url"] for r in results] == [f"/handbook/articles/{article.slug}"]


def test_a_lessons_pdf_finds_the_lesson(client, author, make_user):
    guide = upload(client, pdf_bytes("The marsupial greeting script"), "script.pdf").get_json()
    module = training.create_module(
        actor=author, title="Phones", summary="Calls", audience=["member"], tags=[]
    )
    lesson = training.add_lesson(module.id, title="Greeting", body=f"Read {guide['markdown']}", actor=author)
    training.set_module_status(module.id, "published", actor=author)
    db.session.commit()
    assert [r["url"] for r in _results(client, make_user, "marsupial")] == [f"/training/lessons/{lesson.id}"]


def test_a_damaged_pdf_is_stored_and_does_not_stop_its_article_or_others_being_indexed(
    client, author, make_user
):
    good = upload(client, pdf_bytes("Wombat reconciliation steps"), "good.pdf").get_json()
    damaged = upload(client, pdf_bytes("Never read")[:150] + b"\x00garbage", "broken.pdf")
    assert damaged.status_code == 201, damaged.data
    broken = _article(author, "Broken attachment", f"Our ocelot policy. {damaged.get_json()['markdown']}\n")
    fine = _article(author, "Fine attachment", f"See {good['markdown']}\n")
    assert [r["url"] for r in _results(client, make_user, "ocelot")] == [f"/handbook/articles/{broken.slug}"]
    assert [r["url"] for r in _results(client, make_user, "wombat")] == [f"/handbook/articles/{fine.slug}"]


def test_a_candidates_cv_named_in_an_article_adds_nothing_to_search(client, author, make_user, process):
    login(client, process.manager)
    cv = upload(
        client, pdf_bytes("Capybara confidential salary"), "cv.pdf", owner=f"candidate:{process.candidate.id}"
    ).get_json()
    _article(author, "Careless", f"[cv]({cv['url']})\n")
    assert _results(client, make_user, "capybara") == []


def test_a_draft_articles_pdf_is_not_found_by_members(client, author, make_user):
    guide = upload(client, pdf_bytes("Narwhal pricing secrets"), "plan.pdf").get_json()
    article = handbook.create_article(
        handbook.ArticleFields(
            title="Plan", body=f"{guide['markdown']}\n", category="Billing", status="draft"
        ),
        actor=author,
    )
    db.session.commit()
    assert article.status.value == "draft"
    assert _results(client, make_user, "narwhal") == []


def test_a_pdf_page_too_large_to_read_is_skipped_and_the_other_pages_are_found(client, author, make_user):
    huge = "padding " * 300_000  # 2.4 MB of drawing instructions on one page
    guide = upload(client, pdf_bytes(huge, "Platypus fallback procedure"), "big.pdf").get_json()
    article = _article(author, "Big guide", f"{guide['markdown']}\n")
    assert [r["url"] for r in _results(client, make_user, "platypus")] == [
        f"/handbook/articles/{article.slug}"
    ]
    assert _results(client, make_user, "padding") == []
