"""What the handbook tells people: a change waiting for review (to the reviewers), a review's outcome (to the
author), a reader's flag (to the owner), an article due for verification (to the owner, by a job), and the
"article.published" event for team channels and webhooks.

Every function writes through kms.notify in the caller's unit of work. Features above the handbook hear of a
newly published revision through `on_publish` (training tells the learners who studied an older one), so the
handbook never imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from kms.articles.models import Article, ArticleStatus, Flag, Revision
from kms.articles.services.coverage import stale_filter
from kms.auth.models import Role, User
from kms.auth.system import SystemActor
from kms.extensions import db
from kms.notify.services import announce, notify

REVIEWER_ROLES = frozenset({Role.ADMIN, Role.AUTHOR, Role.MANAGER})

# Called as listener(article, revision, actor=...) inside the unit of work that published the revision. Filled
# by features' init_app (the same function is added once, however many apps a process creates).
_publish_listeners: list[Callable] = []


def on_publish(listener: Callable) -> None:
    """Have `listener(article, revision, actor=...)` called whenever a revision becomes what readers see."""
    if listener not in _publish_listeners:
        _publish_listeners.append(listener)


def revision_published(article: Article, revision: Revision, *, was: ArticleStatus, actor) -> None:
    """A revision became what readers see: tell the listeners, and announce "article.published" when the article
    was not published before (a first publication or a return from draft or archive). A content import (the
    system) announces nothing: hundreds of articles at once are not news for a team channel."""
    if was != ArticleStatus.PUBLISHED and not isinstance(actor, SystemActor):
        announce(
            "article.published",
            {
                "article_id": article.id,
                "slug": article.slug,
                "title": revision.title,
                "category": article.category,
                "revision": revision.number,
                "by": getattr(actor, "name", None),
                "link": {"endpoint": "articles.show", "values": {"slug": article.slug}},
            },
            team=None,
            actor=actor,
        )
    for listener in list(_publish_listeners):
        listener(article, revision, actor=actor)


def _article_link(article: Article) -> tuple[str, dict]:
    return ("articles.show", {"slug": article.slug})


def review_requested(article: Article, revision: Revision, *, actor) -> int:
    """A change waits for review: every active reviewer but its author hears of it, once per revision."""
    reviewers = list(
        db.session.scalars(
            select(User)
            .where(
                User.active.is_(True), User.role.in_(REVIEWER_ROLES), User.id != getattr(actor, "id", None)
            )
            .order_by(User.id)
        )
    )
    if not reviewers:
        return 0
    who = getattr(actor, "name", "kms")
    return notify(
        reviewers,
        "article.review_requested",
        title=f"Review requested: {revision.title}",
        body=f"{who} changed “{revision.title}” ({article.category}); the change waits for a reviewer before "
        "readers see it." + (f"\nReason: {revision.reason}" if revision.reason else ""),
        actor=actor,
        link=("articles.reviews", {}),
        context={"article": revision.title, "author": who, "category": article.category},
        dedupe_key=f"revision:{revision.id}",
    )


def _author(revision: Revision, actor) -> list[User]:
    author = db.session.get(User, revision.author_id) if revision.author_id else None
    return [author] if author is not None and author.id != getattr(actor, "id", None) else []


def review_approved(article: Article, revision: Revision, *, actor) -> int:
    """Tell the author their change is published."""
    authors = _author(revision, actor)
    if not authors:
        return 0
    return notify(
        authors,
        "article.review_approved",
        title=f"Change approved: {revision.title}",
        body=f"{actor.name} approved your change to “{revision.title}”; readers see it now.",
        actor=actor,
        link=_article_link(article),
        context={"article": revision.title, "reviewer": actor.name},
        dedupe_key=f"revision:{revision.id}:approved",
    )


def review_sent_back(article: Article, revision: Revision, reason: str, *, actor) -> int:
    """Tell the author their change was sent back, with the reviewer's reason."""
    authors = _author(revision, actor)
    if not authors:
        return 0
    reason = (reason or "").strip()
    return notify(
        authors,
        "article.review_sent_back",
        title=f"Change sent back: {revision.title}",
        body=f"{actor.name} sent back your change to “{revision.title}”."
        + (f"\nReason: {reason}" if reason else "\nNo reason given; ask them what to change."),
        actor=actor,
        link=("articles.history", {"slug": article.slug}),
        context={"article": revision.title, "reviewer": actor.name, "reason": reason},
        dedupe_key=f"revision:{revision.id}:sent-back",
    )


def _owner_or_admins(article: Article) -> list[User]:
    """Who looks after an article: its active owner, else the active admins (they see every open flag)."""
    owner = db.session.get(User, article.owner_id) if article.owner_id else None
    if owner is not None and owner.active:
        return [owner]
    return list(
        db.session.scalars(
            select(User).where(User.active.is_(True), User.role == Role.ADMIN).order_by(User.id)
        )
    )


def article_flagged(article: Article, flag: Flag, *, actor) -> int:
    """A reader reported the article as wrong or outdated: its owner (or the admins) hears it, with the comment."""
    recipients = [u for u in _owner_or_admins(article) if u.id != getattr(actor, "id", None)]
    if not recipients:
        return 0
    return notify(
        recipients,
        "article.flagged",
        title=f"Flagged as wrong: {article.title}",
        body=f"{actor.name} reported a problem with “{article.title}”:\n{flag.comment}",
        actor=actor,
        link=("articles.flags", {}),
        context={"article": article.title, "reporter": actor.name, "comment": flag.comment},
        dedupe_key=f"flag:{flag.id}",
    )


def send_verification_due(now: datetime, *, actor) -> int:
    """Tell each owner once per due period that their published article is due for verification (never verified
    counts as due). Articles without an active owner wait on the handbook's stale list."""
    rows = db.session.execute(
        select(Article, User)
        .join(User, User.id == Article.owner_id)
        .where(stale_filter(now), User.active.is_(True))
        .order_by(Article.verify_due_at.is_not(None), Article.verify_due_at, Article.id)
    ).all()
    sent = 0
    for article, owner in rows:
        period = article.verify_due_at.date().isoformat() if article.verify_due_at else "never-verified"
        sent += notify(
            [owner],
            "article.verification_due",
            title=f"Due for verification: {article.title}",
            body=f"Check that “{article.title}” is still right, then mark it verified"
            + (f" (due since {article.verify_due_at:%d %b %Y})." if article.verify_due_at else "."),
            actor=actor,
            link=_article_link(article),
            context={
                "article": article.title,
                "due": article.verify_due_at.date().isoformat() if article.verify_due_at else None,
            },
            dedupe_key=f"article:{article.id}:due:{period}",
        )
    return sent
