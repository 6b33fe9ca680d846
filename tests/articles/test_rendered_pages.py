"""The article page shows HTML rendered once per revision: every new revision, approval or draft edit shows at once."""
from __future__ import annotations

from kms.articles import services
from kms.articles.services import rendering
from kms.auth.models import Role
from kms.extensions import db
from tests.articles.conftest import fields_of
from tests.conftest import login


def _page(client, article) -> str:
    return client.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)


def test_each_published_revision_is_shown_as_soon_as_it_is_saved(app, make_user, make_article, author):
    article = make_article("Refunds", "Refund **within** thirty days.\n")
    reader = make_user(Role.MEMBER)
    client = app.test_client()
    login(client, reader)
    assert "Refund <strong>within</strong> thirty days." in _page(client, article)
    assert "Refund <strong>within</strong> thirty days." in _page(client, article)   # served from the kept HTML
    services.save_article(article.id, fields_of(article, body="Refund *within* sixty days.\n"),
                          base_version=article.version, actor=author)
    db.session.expire_all()
    page = _page(client, article)
    assert "Refund <em>within</em> sixty days." in page and "thirty" not in page


def test_a_change_waiting_for_review_shows_only_once_approved(app, make_user, make_article, author):
    from kms.articles.models import Category
    article = make_article("Vouchers", "Old voucher text.\n")
    db.session.get(Category, "Billing").requires_review = True
    db.session.commit()
    services.save_article(article.id, fields_of(article, body="New voucher text.\n"),
                                     base_version=article.version, actor=author)
    reader = make_user(Role.MEMBER)
    client = app.test_client()
    login(client, reader)
    first = _page(client, article)
    assert "Old voucher text." in first, first[first.find("<article"):first.find("</article")]
    services.approve_revision(services.pending_reviews()[0].id, actor=make_user(Role.MANAGER))
    db.session.expire_all()
    page = _page(client, article)
    assert "New voucher text." in page and "Old voucher text." not in page


def test_a_drafts_every_save_shows_to_its_authors(app, make_article, author):
    article = make_article("Draft notes", "First draft.\n", status="draft")
    client = app.test_client()
    login(client, author)
    assert "First draft." in _page(client, article)
    services.save_article(article.id, fields_of(article, body="Second draft.\n"), base_version=article.version,
                          actor=author)
    db.session.expire_all()
    page = _page(client, article)
    assert "Second draft." in page and "First draft." not in page


def test_kept_pages_are_bounded(app, make_user, make_article, monkeypatch):
    monkeypatch.setattr(rendering, "PAGES_KEPT", 2)
    rendering.forget_rendered_pages()
    reader = make_user(Role.MEMBER)
    client = app.test_client()
    login(client, reader)
    articles = [make_article(f"Bounded {n}", f"Text number {n}.\n") for n in range(4)]
    for n, article in enumerate(articles):
        assert f"Text number {n}." in _page(client, article)
    assert len(rendering._pages) == 2
