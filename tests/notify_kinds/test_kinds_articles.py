"""The handbook's notices: review requested (to the other reviewers), approved and sent back (to the author), a
flag (to the owner), verification due (to the owner, once per due period), and "article.published" only when an
article first reaches readers."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kms.articles import services
from kms.articles.models import Category
from kms.auth.models import Role
from kms.extensions import db, utcnow
from tests.articles.conftest import author, categories, make_article  # noqa: F401 - fixtures
from tests.notify_kinds.support import events, inbox, run_job

SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # no SQL of their own


def _save(article, body, actor, reason=""):
    current = services.get_article(article.id)
    revision = services.save_article(
        article.id,
        services.ArticleFields(
            title=current.title,
            body=body,
            category=current.category,
            owner_id=current.owner_id,
            reason=reason,
        ),
        base_version=current.version,
        actor=actor,
    )
    db.session.commit()
    return revision


@SQLITE_ONLY
def test_a_review_goes_to_the_other_reviewers_and_its_outcome_to_the_author(
    app, make_article, make_user, author
):
    db.session.get(Category, "Billing").requires_review = True
    db.session.commit()
    article = make_article(title="Refund requests", actor=make_user(Role.ADMIN))  # admins publish directly
    writer = make_user(Role.AUTHOR, name="Wren Writer")
    manager, member = make_user(Role.MANAGER), make_user(Role.MEMBER)
    first = _save(article, "Second version.\n", writer, reason="Clearer steps")
    requested = inbox("article.review_requested")
    assert set(requested) >= {author.id, manager.id}
    assert writer.id not in requested and member.id not in requested
    assert "Wren Writer" in requested[author.id][0].body and "Clearer steps" in requested[author.id][0].body

    services.reject_revision(first.id, actor=manager, reason="Say who approves")
    db.session.commit()
    [sent_back] = inbox("article.review_sent_back")[writer.id]
    assert "Say who approves" in sent_back.body
    second = _save(article, "Third version.\n", writer)
    services.approve_revision(second.id, actor=author)
    db.session.commit()
    assert list(inbox("article.review_approved")) == [writer.id]
    assert set(inbox("article.review_sent_back")) == {writer.id}


@SQLITE_ONLY
def test_article_published_is_announced_on_first_publication_only(app, make_article, author):
    draft = make_article(title="Chargebacks", status="draft")
    assert events("article.published") == []
    _save(draft, "Now for readers.\n", author)
    _save(draft, "A typo fixed.\n", author)
    [event] = events("article.published")
    assert event.team is None and event.payload["title"] == "Chargebacks"


@SQLITE_ONLY
def test_a_flag_reaches_the_owner_only(app, make_article, make_user, author):
    article = make_article(title="Refund requests")
    reader, other_author = make_user(Role.MEMBER, name="Rita Reader"), make_user(Role.AUTHOR)
    services.flag_article(article.id, "The window is 14 days now", actor=reader)
    db.session.commit()
    got = inbox("article.flagged")
    assert list(got) == [author.id] and other_author.id not in got
    assert "14 days" in got[author.id][0].body and "Rita Reader" in got[author.id][0].body


def test_verification_due_reaches_the_owner_once_per_due_period(app, make_article, make_user, author):
    article = make_article(title="Refund requests", verify_interval_days=30)
    gone = make_user(Role.AUTHOR)
    orphan = make_article(title="Old owner", owner_id=gone.id, verify_interval_days=30)
    gone.active = False
    db.session.commit()
    start = utcnow()
    run_job(app, "handbook-verification-due", start + timedelta(days=29))
    assert inbox("article.verification_due") == {}
    for day in (31, 32):
        run_job(app, "handbook-verification-due", start + timedelta(days=day))
    got = inbox("article.verification_due")
    assert list(got) == [author.id] and len(got[author.id]) == 1  # the deactivated owner's article waits
    assert got[author.id][0].link == ("articles.show", {"slug": article.slug}) and orphan.id
    services.mark_verified(article.id, actor=author, at=start + timedelta(days=33))
    db.session.commit()
    run_job(app, "handbook-verification-due", start + timedelta(days=40))
    assert len(inbox("article.verification_due")[author.id]) == 1
    run_job(app, "handbook-verification-due", start + timedelta(days=64))
    assert len(inbox("article.verification_due")[author.id]) == 2  # the next period
