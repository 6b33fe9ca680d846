"""An article page opened again comes from a kept copy: every change a reader would notice still shows at once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from jinja2 import TemplateError

from kms.articles import services
from kms.articles.models import Article, ArticleStatus, Flag
from kms.articles.views.article_page import Answers, _strict_env
from kms.auth.models import Role, User
from kms.extensions import db, utcnow
from tests.articles.conftest import REAL_TEXT, fields_of
from tests.conftest import login

_TOKEN = re.compile(r'name="csrf_token" value="[^"]*"')


def _reader(app, user):
    client = app.test_client()
    login(client, user)
    return client


def _page(client, article) -> str:
    response = client.get(f"/handbook/articles/{article.slug}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _twice(client, article) -> str:
    """The page as a reader sees it the second time in a row, from the kept copy; asserts the two are the same."""
    first, second = _page(client, article), _page(client, article)
    assert _TOKEN.sub("", first) == _TOKEN.sub("", second)  # a signed token may be renewed in between
    return second


def test_a_new_revision_a_new_title_and_new_tags_show_at_once(app, make_user, make_article, author):
    article = make_article("Refunds", "Refund within thirty days.\n", tags="billing")
    reader = _reader(app, make_user(Role.MEMBER))
    assert "thirty days" in _twice(reader, article) and "#billing" in _page(reader, article)
    services.save_article(
        article.id,
        fields_of(article, title="Refunds and credits", body="Refund within sixty days.\n", tags="credits"),
        base_version=article.version,
        actor=author,
    )
    db.session.commit()
    page = _page(reader, article)
    assert "sixty days" in page and "thirty days" not in page
    assert '<h1 lang="en">Refunds and credits</h1>' in page and "#credits" in page and "#billing" not in page
    assert "version 2" in page and "History (2 revisions)" in page


def test_verification_shows_at_once(app, make_user, make_article):
    article = make_article("Vouchers", REAL_TEXT)
    db.session.get(Article, article.id).verified_at = utcnow() - timedelta(days=400)
    db.session.commit()
    reader = _reader(app, make_user(Role.MEMBER))
    assert "Due for review: last verified 400 days ago by Ada Author" in _twice(reader, article)
    services.mark_verified(article.id, actor=make_user(Role.AUTHOR, name="Vera Verifier"))
    db.session.commit()
    page = _page(reader, article)
    assert "Verified today by Vera Verifier" in page and "Due for review: last" not in page


def test_each_role_sees_its_own_buttons_from_the_same_kept_article(app, make_user, make_article):
    article = make_article("Escalations", REAL_TEXT)
    member, editor = make_user(Role.MEMBER), make_user(Role.AUTHOR)
    as_member, as_author = _reader(app, member), _reader(app, editor)
    for _ in range(2):
        assert ">Edit</a>" not in _page(as_member, article) and "Mark verified" not in _page(
            as_member, article
        )
        assert ">Edit</a>" in _page(as_author, article) and "Mark verified" in _page(as_author, article)
    db.session.get(User, member.id).role = Role.AUTHOR  # promoted while the member's page is kept
    db.session.commit()
    page = _page(as_member, article)
    assert ">Edit</a>" in page and ">Flags</a>" in page  # the button and the handbook sub-menu's link


def test_a_renamed_deactivated_or_changed_owner_shows_at_once(app, make_user, make_article, author):
    owner = make_user(Role.AUTHOR, name="Olga Owner")
    article = make_article("Chargebacks", REAL_TEXT, owner_id=owner.id)
    reader, admin = _reader(app, make_user(Role.MEMBER)), _reader(app, make_user(Role.ADMIN))
    assert "<strong>Owner:</strong> Olga Owner" in _twice(reader, article)
    db.session.get(User, owner.id).name = "Olga Renamed"
    db.session.commit()
    assert "<strong>Owner:</strong> Olga Renamed</p>" in _page(reader, article)
    db.session.get(User, owner.id).active = False
    db.session.commit()
    assert "not active" in _page(reader, article) and "reactivate and invite them" not in _page(
        reader, article
    )
    assert "reactivate and invite them" in _page(admin, article)  # admins get the hint
    services.save_article(
        article.id, fields_of(article, owner_id=None), base_version=article.version, actor=author
    )
    db.session.commit()
    assert "<strong>Owner:</strong> nobody yet" in _page(reader, article)


def test_a_linked_process_and_its_renaming_show_at_once(app, make_user, make_article, make_process, author):
    article = make_article("Card refunds", REAL_TEXT)
    reader = _reader(app, make_user(Role.MEMBER))
    assert "<strong>Process:</strong>" not in _twice(reader, article)
    process = make_process("Refund a card", frequency=12)
    services.save_article(
        article.id, fields_of(article, process_id=process.id), base_version=article.version, actor=author
    )
    db.session.commit()
    assert "<strong>Process:</strong> Refund a card (12/month)" in _twice(reader, article)
    process.name = "Refund a card payment"
    db.session.commit()
    assert "<strong>Process:</strong> Refund a card payment (12/month)" in _page(reader, article)


def test_flags_show_at_once_in_the_readers_time_zone_and_only_owners_may_resolve(
    app, make_user, make_article
):
    owner = make_user(Role.AUTHOR, name="Olga Owner")
    article = make_article("Prices", REAL_TEXT, owner_id=owner.id)
    tokyo = make_user(Role.AUTHOR, time_zone="Asia/Tokyo")
    new_york = make_user(Role.MEMBER, time_zone="America/New_York")
    as_owner, as_tokyo, as_new_york = _reader(app, owner), _reader(app, tokyo), _reader(app, new_york)
    assert "Flagged as possibly wrong" not in _twice(as_new_york, article)
    flag = services.flag_article(article.id, "The price is old", actor=tokyo)
    db.session.commit()
    db.session.get(Flag, flag.id).created_at = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    db.session.commit()
    assert 'The price is old</q> <span class="small">— ' in _page(as_new_york, article)
    assert ", 2026-02-28</span>" in _page(as_new_york, article) and ", 2026-03-01</span>" in _page(
        as_tokyo, article
    )
    assert ">Resolve</button>" in _page(as_owner, article) and ">Resolve</button>" not in _page(
        as_tokyo, article
    )
    services.resolve_flag(flag.id, "Fixed", actor=owner)
    db.session.commit()
    assert "The price is old" not in _page(as_new_york, article)


def test_a_flashed_message_and_a_typed_comment_show_once(app, make_user, make_article):
    article = make_article("Returns", REAL_TEXT)
    editor = _reader(app, make_user(Role.AUTHOR))
    _twice(editor, article)
    response = editor.post(f"/handbook/articles/{article.slug}/verify", follow_redirects=True)
    assert "Marked as verified." in response.get_data(as_text=True)
    assert "Marked as verified." not in _page(editor, article)
    response = editor.post(f"/handbook/articles/{article.slug}/flag", data={"comment": "x" * 2001})
    assert response.status_code == 400 and "x" * 2001 in response.get_data(as_text=True)
    page = _page(editor, article)
    assert "x" * 2001 not in page and 'aria-invalid="true"' not in page


def test_a_draft_stays_hidden_from_readers_after_an_author_opened_it(app, make_user, make_article, author):
    article = make_article("Secret plan", REAL_TEXT, status="draft")
    as_author = _reader(app, author)
    assert "Draft — only authors and admins can see it." in _twice(as_author, article)
    reader = _reader(app, make_user(Role.MEMBER))
    assert reader.get(f"/handbook/articles/{article.slug}").status_code == 404
    services.save_article(
        article.id, fields_of(article, status="published"), base_version=article.version, actor=author
    )
    db.session.commit()
    assert "Draft —" not in _page(reader, article) and "Draft —" not in _page(as_author, article)
    db.session.get(Article, article.id).status = ArticleStatus.ARCHIVED
    db.session.commit()
    assert "Archived — kept for reference" in _page(reader, article)


def test_the_page_template_sees_only_what_it_is_given(app):
    env = _strict_env(app)
    for source in (
        "{{ current_user.name }}",
        "{{ request.path }}",
        "{{ config.SECRET_KEY }}",
        "{{ x|local_time }}",
    ):
        with app.test_request_context(), pytest.raises(TemplateError):
            env.from_string(source).render(x=None)
    assert env.from_string("{{ x|upper }}").render(x="given") == "GIVEN"
    with pytest.raises(KeyError):
        Answers(frozenset())("hiring.view")  # an action the page does not ask about is an error, not "no"
