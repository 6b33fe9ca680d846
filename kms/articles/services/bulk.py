"""Creating many imported articles at once: one query per kind of lookup, rows added in batches.

kms.articles.services.content decides which files are new articles; this module writes them. The result is
what creating them one by one would give (article, first revision, tags, title alias, process status), in a
few statements per batch instead of a dozen per article.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import delete, select

from kms.articles.models import (
    Article,
    ArticleStatus,
    ArticleTag,
    Process,
    ProcessStatus,
    Revision,
    RevisionState,
    SlugRedirect,
)
from kms.articles.rendering import store_rendered
from kms.articles.services.substance import is_stub
from kms.extensions import db, utcnow
from kms.markdown import slugify

BATCH = 500  # rows per flush; also keeps IN (...) lists well under both databases' limits
Progress = Callable[[str, int, int], None]


def chunks(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def existing_slugs(slugs: Iterable[str]) -> set[str]:
    """Which of these slugs articles already use (one query per batch)."""
    found: set[str] = set()
    for part in chunks(sorted(set(slugs))):
        found.update(db.session.scalars(select(Article.slug).where(Article.slug.in_(part))))
    return found


def all_slugs() -> set[str]:
    """Every slug an article uses (one query: a set of 50,000 short strings is a few MB)."""
    return set(db.session.scalars(select(Article.slug)))


def redirect_slugs(slugs: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for part in chunks(sorted(set(slugs))):
        found.update(db.session.scalars(select(SlugRedirect.slug).where(SlugRedirect.slug.in_(part))))
    return found


def _process_status(status: ArticleStatus, words: int) -> ProcessStatus:
    """What sync_process_status gives a process whose only article was just created."""
    if status == ArticleStatus.PUBLISHED:
        return ProcessStatus.DRAFTING if is_stub(words) else ProcessStatus.DOCUMENTED
    return ProcessStatus.DRAFTING if status == ArticleStatus.DRAFT else ProcessStatus.UNDOCUMENTED


def create_articles(
    items: list,
    processes: dict[int, Process],
    rendered: Iterator[tuple[str, str, int]],
    reason: str,
    progress: Progress | None = None,
    done: int = 0,
    total: int = 0,
) -> None:
    """Create one article per item (ArticleData, with `process_id` set or None), each with its first revision.

    `rendered` yields each item's (body HTML, table of contents, own words) in order; the slugs are known to
    be free (only old redirects may hold them: those go).
    """
    slugs = [item.slug for item in items]
    for part in chunks(slugs):
        db.session.execute(delete(SlugRedirect).where(SlugRedirect.slug.in_(part)))
    aliases = {slugify(item.title) for item in items} - set(slugs)
    taken = existing_slugs(aliases) | redirect_slugs(aliases) | set(slugs)
    for start in range(0, len(items), BATCH):
        batch = items[start : start + BATCH]
        _create_batch(batch, processes, [next(rendered) for _ in batch], reason, taken)
        if progress:
            progress("articles", done + start + len(batch), total)


def _create_batch(
    batch: list, processes: dict[int, Process], html: list[tuple[str, str, int]], reason: str, taken: set[str]
) -> None:
    now = utcnow()
    articles = []
    for data in batch:
        article = Article(
            title=data.title,
            body=data.body,
            category=data.category,
            language=data.language,
            status=data.status,
            owner_id=data.owner_id,
            version=1,
            created_at=now,
            updated_at=now,
            verified_at=data.verified_at or now,
            verified_by_id=data.verified_by_id,
            slug=data.slug,
            process_id=data.process_id,
            verify_interval_days=data.interval,
        )
        article.verify_due_at = article.due_at()
        article.tag_rows = [ArticleTag(tag=tag) for tag in dict.fromkeys(data.tags)]
        articles.append(article)
    db.session.add_all(articles)
    db.session.flush()
    revisions = []
    for data, article, (body_html, toc, words) in zip(batch, articles, html, strict=True):
        state = RevisionState.PUBLISHED if data.status == ArticleStatus.PUBLISHED else RevisionState.DRAFT
        revision = Revision(
            article_id=article.id,
            number=1,
            title=data.title,
            body=data.body,
            state=state,
            reason=reason[:300],
            author_id=None,
            created_at=now,
            own_words=words,
        )
        store_rendered(revision, (body_html, toc))
        revisions.append(revision)
        alias = slugify(data.title)
        if alias and alias not in taken:
            taken.add(alias)
            db.session.add(SlugRedirect(slug=alias, article_id=article.id))
    db.session.add_all(revisions)
    db.session.flush()
    for data, article, revision in zip(batch, articles, revisions, strict=True):
        if revision.state == RevisionState.PUBLISHED:
            article.published_revision_id = revision.id
        process = processes.get(data.process_id)
        if process is not None and process.status != ProcessStatus.RETIRED:
            process.status = _process_status(data.status, revision.own_words)
    db.session.flush()
