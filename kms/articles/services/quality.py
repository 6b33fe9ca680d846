"""Keeping articles right: verification dates, reader flags and their resolution by the owner."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from kms.articles.models import Article, Flag
from kms.articles.services import _common as common
from kms.articles.services import notices
from kms.articles.services.editing import can_edit, set_interval, visible_to
from kms.auth.models import Role, User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db, utcnow

MAX_COMMENT = 2000


def mark_verified(article_id: int, *, actor: User, at: datetime | None = None) -> Article:
    """Record that `actor` checked the article is still right; the next review falls due one interval later."""
    if not can_edit(actor):
        raise Forbidden("Only authors and admins verify articles.")
    article = common.get_article(article_id)
    article.verified_at, article.verified_by_id = at or utcnow(), actor.id
    set_interval(article, article.verify_interval_days)
    db.session.flush()
    return article


def verification_label(article: Article, now: datetime | None = None) -> tuple[bool, str]:
    """(is due, sentence) such as "Verified 12 days ago by Ada" or "Due for review"."""
    now = now or utcnow()
    if article.verified_at is None:
        return True, "Due for review: never verified"
    days = max(0, (now - article.verified_at).days)
    when = "today" if days == 0 else ("1 day ago" if days == 1 else f"{days} days ago")
    who = f" by {article.verified_by.name}" if article.verified_by else ""
    if article.is_stale(now):
        return True, f"Due for review: last verified {when}{who}"
    return False, f"Verified {when}{who}"


def flag_article(article_id: int, comment: str, *, actor: User) -> Flag:
    """Any reader reports an article as wrong or outdated; it shows to readers until the owner resolves it."""
    comment = (comment or "").strip()
    if not comment:
        raise Invalid("Say what is wrong or outdated, so the owner can fix it.", field="comment")
    if len(comment) > MAX_COMMENT:
        raise Invalid(f"Keep the comment under {MAX_COMMENT} characters.", field="comment")
    article = common.get_article(article_id)
    if not visible_to(article, actor):
        raise NotFound("No such article.")
    flag = Flag(article_id=article.id, user_id=actor.id, comment=comment, created_at=utcnow())
    db.session.add(flag)
    db.session.flush()
    notices.article_flagged(article, flag, actor=actor)
    return flag


def open_flags(article_id: int) -> list[Flag]:
    """The unresolved problem reports on an article, oldest first, with who reported them."""
    return list(
        db.session.scalars(
            select(Flag)
            .where(Flag.article_id == article_id, Flag.resolved_at.is_(None))
            .options(joinedload(Flag.user))
            .order_by(Flag.created_at)
        )
    )


def flags_for_owner(user: User, limit: int = 50) -> list[Flag]:
    """Open flags on the articles a person owns (admins see every open flag, and those on unowned articles)."""
    query = (
        select(Flag)
        .join(Article, Article.id == Flag.article_id)
        .where(Flag.resolved_at.is_(None))
        .options(joinedload(Flag.user), joinedload(Flag.article))
        .order_by(Flag.created_at)
    )
    if user.role != Role.ADMIN:
        query = query.where(or_(Article.owner_id == user.id, Article.owner_id.is_(None)))
    return list(db.session.scalars(query.limit(limit)))


def open_flag_count() -> int:
    """How many problem reports are still open, for the editors' badge."""
    return db.session.scalar(select(func.count(Flag.id)).where(Flag.resolved_at.is_(None))) or 0


def resolve_flag(flag_id: int, resolution: str, *, actor: User) -> Flag:
    """The article's owner (or an admin, or any author when nobody owns it) closes a flag with a note."""
    resolution = (resolution or "").strip()
    if len(resolution) > MAX_COMMENT:
        raise Invalid(f"Keep the note under {MAX_COMMENT} characters.", field="resolution")
    flag = db.session.get(Flag, flag_id)
    if flag is None:
        raise NotFound("No such flag.")
    article = common.get_article(flag.article_id)
    allowed = (
        actor.role == Role.ADMIN
        or article.owner_id == actor.id
        or (article.owner_id is None and can_edit(actor))
    )
    if not allowed:
        raise Forbidden("Only the article's owner or an admin resolves its flags.")
    if flag.resolved_at is not None:
        raise Invalid("This flag is already resolved.")
    flag.resolved_at, flag.resolved_by_id, flag.resolution = utcnow(), actor.id, resolution
    db.session.flush()
    return flag
