"""Revisions: history, readable diffs between any two texts, restore, and review before publishing."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from kms.articles.models import Article, ArticleStatus, Revision, RevisionState
from kms.articles.services import _common as common
from kms.articles.services import notices
from kms.articles.services.coverage import record_snapshot
from kms.articles.services.editing import EditConflict, apply_text, can_edit, sync_process_status
from kms.articles.services.notices import REVIEWER_ROLES
from kms.auth.models import User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db, utcnow


def list_revisions(article_id: int) -> list[Revision]:
    """Every revision of an article, newest first, with its author."""
    return list(
        db.session.scalars(
            select(Revision)
            .where(Revision.article_id == article_id)
            .options(joinedload(Revision.author), joinedload(Revision.reviewed_by))
            .order_by(Revision.number.desc())
        )
    )


def get_revision(article_id: int, number: int) -> Revision:
    """One numbered revision of an article with its author, for the history pages."""
    revision = db.session.scalar(
        select(Revision)
        .where(Revision.article_id == article_id, Revision.number == number)
        .options(joinedload(Revision.author))
    )
    if revision is None:
        raise NotFound(f"This article has no revision {number}.")
    return revision


@dataclass
class DiffLine:
    kind: str  # "same", "add", "del" or "hunk"
    text: str


def diff_texts(old: str, new: str, context: int = 3) -> list[DiffLine]:
    """A line diff with a few lines of context around each change; empty when the texts are equal."""
    old_lines, new_lines = (old or "").splitlines(), (new or "").splitlines()
    lines: list[DiffLine] = []
    for group in difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False).get_grouped_opcodes(
        context
    ):
        first, last = group[0], group[-1]
        lines.append(
            DiffLine("hunk", f"Lines {first[1] + 1}–{last[2]} before, {first[3] + 1}–{last[4]} after")
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(DiffLine("same", text) for text in old_lines[i1:i2])
                continue
            lines.extend(DiffLine("del", text) for text in old_lines[i1:i2])
            lines.extend(DiffLine("add", text) for text in new_lines[j1:j2])
    return lines


def diff_revisions(
    article_id: int, old_number: int, new_number: int
) -> tuple[Revision, Revision, list[DiffLine]]:
    """Compare any two revisions of an article (in either order); the title is compared too."""
    old, new = get_revision(article_id, old_number), get_revision(article_id, new_number)
    lines = diff_texts(old.body, new.body)
    if old.title != new.title:
        lines.insert(0, DiffLine("add", f"Title: {new.title}"))
        lines.insert(0, DiffLine("del", f"Title: {old.title}"))
    return old, new, lines


def restore_revision(article_id: int, number: int, *, base_version: int, actor: User) -> Revision:
    """Make an old revision's text current again as a new revision; history only grows."""
    if not can_edit(actor):
        raise Forbidden("Only authors and admins restore revisions.")
    old = get_revision(article_id, number)
    bumped = db.session.execute(
        update(Article)
        .where(Article.id == article_id, Article.version == base_version)
        .values(version=Article.version + 1)
        .execution_options(synchronize_session=False)
    )
    article = db.session.get(Article, article_id, populate_existing=True)
    if bumped.rowcount != 1:
        raise EditConflict(article)
    status = article.status.value if article.status != ArticleStatus.ARCHIVED else ArticleStatus.DRAFT.value
    revision = apply_text(
        article,
        title=old.title,
        body=old.body,
        status=status,
        reason=f"Restored revision {number}",
        actor=actor,
    )
    record_snapshot()
    db.session.flush()
    return revision


def pending_reviews() -> list[Revision]:
    """Changes waiting for approval, oldest first."""
    return list(
        db.session.scalars(
            select(Revision)
            .where(Revision.state == RevisionState.PENDING)
            .options(joinedload(Revision.author))
            .order_by(Revision.created_at, Revision.id)
        )
    )


def pending_count() -> int:
    """How many changes wait for a reviewer, for the reviewers' badge."""
    from sqlalchemy import func

    return (
        db.session.scalar(select(func.count(Revision.id)).where(Revision.state == RevisionState.PENDING)) or 0
    )


def _pending(revision_id: int, actor: User) -> tuple[Revision, Article]:
    if actor is None or actor.role not in REVIEWER_ROLES:
        raise Forbidden("Only authors, managers and admins review changes.")
    revision = db.session.get(Revision, revision_id)
    if revision is None:
        raise NotFound("No such revision.")
    if revision.state != RevisionState.PENDING:
        raise Invalid(f"Revision {revision.number} is not waiting for review (it is {revision.state.value}).")
    if revision.author_id == actor.id:
        raise Forbidden("Someone other than the author must review a change.")
    return revision, common.get_article(revision.article_id)


def approve_revision(revision_id: int, *, actor: User) -> Revision:
    """Publish a pending change: readers see it from now on. The reviewer must not be its author."""
    revision, article = _pending(revision_id, actor)
    current = article.published_revision
    if current is not None and current.number > revision.number:
        raise Invalid(f"Revision {current.number} is already published and newer; reject this one instead.")
    revision.state, revision.reviewed_by_id = RevisionState.PUBLISHED, actor.id
    was = article.status
    article.published_revision_id = revision.id
    article.status = ArticleStatus.PUBLISHED
    db.session.flush()
    sync_process_status(article)
    record_snapshot()
    db.session.flush()
    notices.review_approved(article, revision, actor=actor)
    notices.revision_published(article, revision, was=was, actor=actor)
    return revision


def reject_revision(revision_id: int, *, actor: User, reason: str = "") -> Revision:
    """Turn a pending change down. When it is the newest text, the editor text goes back to what readers see."""
    revision, article = _pending(revision_id, actor)
    revision.state, revision.reviewed_by_id = RevisionState.REJECTED, actor.id
    if reason.strip():
        revision.reason = f"{revision.reason} — rejected: {reason.strip()}"[:300]
    newest = db.session.scalar(
        select(Revision.number)
        .where(Revision.article_id == article.id)
        .order_by(Revision.number.desc())
        .limit(1)
    )
    if newest == revision.number and article.published_revision is not None:
        article.title, article.body = article.published_revision.title, article.published_revision.body
        article.version += 1  # anyone editing the rejected text must reload first
        article.updated_at = utcnow()
    db.session.flush()
    sync_process_status(article)
    record_snapshot()
    db.session.flush()
    notices.review_sent_back(article, revision, reason, actor=actor)
    return revision


@dataclass
class ReviewItem:
    revision: Revision
    article: Article
    lines: list[DiffLine]


def review_items(pending: list[Revision]) -> list[ReviewItem]:
    """Each pending change with the diff a reviewer needs: from what readers see now to the proposal."""
    if not pending:
        return []
    articles = {
        a.id: a
        for a in db.session.scalars(
            select(Article)
            .where(Article.id.in_({r.article_id for r in pending}))
            .options(joinedload(Article.published_revision))
        )
    }
    items = []
    for revision in pending:
        article = articles[revision.article_id]
        before = article.published_revision
        lines = diff_texts(before.body if before else "", revision.body)
        if before is not None and before.title != revision.title:
            lines[:0] = [
                DiffLine("del", f"Title: {before.title}"),
                DiffLine("add", f"Title: {revision.title}"),
            ]
        items.append(ReviewItem(revision, article, lines))
    return items


def needs_review_for(article: Article, user: User) -> bool:
    """True when the user's latest save of this article is waiting for a reviewer."""
    newest = db.session.scalar(
        select(Revision).where(Revision.article_id == article.id).order_by(Revision.number.desc()).limit(1)
    )
    return newest is not None and newest.state == RevisionState.PENDING and newest.author_id == user.id
