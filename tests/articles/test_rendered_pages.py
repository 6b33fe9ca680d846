"""The article page shows HTML rendered once per revision: every new revision, approval or draft edit shows at once."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from kms.articles import services
from kms.articles.models import Revision
from kms.articles.rendering import RENDERER_VERSION
from kms.articles.views.article_page import BY_GENERATION
from kms.auth.models import Role
from kms.extensions import db
from tests.articles.conftest import fields_of
from tests.conftest import PASSWORD, csrf_token_from, login


def _page(client, article) -> str:
    return client.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)


def test_each_published_revision_is_shown_as_soon_as_it_is_saved(app, make_user, make_article, author):
    article = make_article("Refunds", "Refund **within** thirty days.\n")
    reader = make_user(Role.MEMBER)
    client = app.test_client()
    login(client, reader)
    assert "Refund <strong>within</strong> thirty days." in _page(client, article)
    assert "Refund <strong>within</strong> thirty days." in _page(
        client, article
    )  # read from the revision's stored HTML
    services.save_article(
        article.id,
        fields_of(article, body="Refund *within* sixty days.\n"),
        base_version=article.version,
        actor=author,
    )
    db.session.expire_all()
    page = _page(client, article)
    assert "Refund <em>within</em> sixty days." in page and "thirty" not in page


def test_a_change_waiting_for_review_shows_only_once_approved(app, make_user, make_article, author):
    from kms.articles.models import Category

    article = make_article("Vouchers", "Old voucher text.\n")
    db.session.get(Category, "Billing").requires_review = True
    db.session.commit()
    services.save_article(
        article.id, fields_of(article, body="New voucher text.\n"), base_version=article.version, actor=author
    )
    reader = make_user(Role.MEMBER)
    client = app.test_client()
    login(client, reader)
    first = _page(client, article)
    assert "Old voucher text." in first, first[first.find("<article") : first.find("</article")]
    services.approve_revision(services.pending_reviews()[0].id, actor=make_user(Role.MANAGER))
    db.session.expire_all()
    page = _page(client, article)
    assert "New voucher text." in page and "Old voucher text." not in page


def test_a_drafts_every_save_shows_to_its_authors(app, make_article, author):
    article = make_article("Draft notes", "First draft.\n", status="draft")
    client = app.test_client()
    login(client, author)
    assert "First draft." in _page(client, article)
    services.save_article(
        article.id, fields_of(article, body="Second draft.\n"), base_version=article.version, actor=author
    )
    db.session.expire_all()
    page = _page(client, article)
    assert "Second draft." in page and "First draft." not in page


def _without_tokens(page: str) -> str:
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]+"', "", page)


def _statements_of(client, url: str) -> tuple[str, list[str]]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        if statement.split(None, 1)[0].upper() in {"SELECT", "INSERT", "UPDATE", "DELETE"}:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        page = client.get(url).get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return page, seen


def test_the_page_costs_two_statements_one_when_kept_and_shows_the_html_stored_with_its_revision(
    app, make_user, make_article
):
    article = make_article("Stored", "Refund **within** thirty days.\n")
    url, revision_id = f"/handbook/articles/{article.slug}", article.published_revision_id
    reader = make_user(Role.MEMBER)
    client = app.test_client()
    login(client, reader)
    client.get(url)
    app.extensions.pop(BY_GENERATION)
    page, statements = _statements_of(client, url)
    # The reader with their menu answers and the pages' generation, then the article with its revision's HTML.
    assert "Refund <strong>within</strong> thirty days." in page
    assert len(statements) == 2, statements
    kept, statements = _statements_of(client, url)
    assert len(statements) == 1 and "FROM users" in statements[0], statements  # the reader only
    assert _without_tokens(kept) == _without_tokens(page)
    revision = db.session.get(Revision, revision_id)
    revision.rendered_html = "<p>The stored copy.</p>"
    db.session.commit()
    assert "The stored copy." in _page(client, article)  # the page reads the revision's HTML, no other cache
    revision.rendered_html, revision.rendered_version = "<p>An old renderer's copy.</p>", "0-old"
    db.session.commit()
    page, statements = _statements_of(client, url)
    assert "Refund <strong>within</strong> thirty days." in page and "old renderer" not in page
    assert any(statement.startswith("UPDATE revisions") for statement in statements)
    db.session.expire_all()
    assert db.session.get(Revision, revision_id).rendered_version == RENDERER_VERSION  # stored again
    page, statements = _statements_of(client, url)
    assert "Refund <strong>within</strong> thirty days." in page and len(statements) == 2, statements
    assert len(_statements_of(client, url)[1]) == 1


def _log_in_with_csrf(client, user):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_a_page_opened_again_carries_the_readers_own_working_csrf_token(app, make_user, make_article):
    article = make_article("Flag me", "Some text.\n")
    reader = make_user(Role.MEMBER)
    first, second = app.test_client(), app.test_client()
    _log_in_with_csrf(first, reader)
    _log_in_with_csrf(second, reader)  # the same reader in another browser: another session
    one, two = _page(first, article), _page(second, article)
    assert csrf_token_from(one) != csrf_token_from(two)
    response = second.post(
        f"/handbook/articles/{article.slug}/flag",
        data={"comment": "Step 3 is gone", "csrf_token": csrf_token_from(two)},
    )
    assert response.status_code in (302, 303), response.status_code
    assert "Step 3 is gone" in _page(first, article)


def test_each_reader_sees_the_page_as_their_role_and_name_give_it(app, make_user, make_article, author):
    article = make_article("Roles", "Role text.\n")
    member = make_user(Role.MEMBER, name="Mia Member")
    member_client, author_client = app.test_client(), app.test_client()
    login(member_client, member)
    login(author_client, author)
    for _ in range(2):  # the second view of each uses the cached HTML
        as_member, as_author = _page(member_client, article), _page(author_client, article)
        assert "Mia Member" in as_member and "Ada Author</a>" not in as_member.split("</header>")[0]
        assert ">Edit</a>" not in as_member and ">Edit</a>" in as_author
    member.name = "Mia Renamed"
    db.session.commit()
    assert "Mia Renamed" in _page(member_client, article)
    services.mark_verified(article.id, actor=author)
    assert "Verified today by Ada Author" in _page(member_client, article)
