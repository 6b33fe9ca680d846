"""Articles: create, save with optimistic locking, review before publishing, slugs and redirects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from kms.articles.models import (
    Article,
    ArticleStatus,
    ArticleTag,
    ArticleTemplate,
    Category,
    Process,
    ProcessStatus,
    Revision,
    RevisionState,
    SlugRedirect,
)
from kms.articles.rendering import store_rendered
from kms.articles.services import _common as common
from kms.articles.services import notices
from kms.articles.services.coverage import record_snapshot
from kms.articles.services.substance import is_stub, own_words
from kms.auth.models import Role, User
from kms.auth.system import IMPORT_CONTENT, SystemActor, is_system
from kms.errors import Conflict, Forbidden, Invalid, NotFound
from kms.extensions import db, utcnow
from kms.markdown import MAX_MARKDOWN, free_slug, slugify


class EditConflict(Conflict):
    """The article changed after the editor opened it; the caller keeps both texts."""

    def __init__(self, article: Article):
        super().__init__(
            f"Someone else saved this article since you opened it (it is now at version "
            f"{article.version}). Your text is below; compare it with theirs, then save again."
        )
        self.current_version = article.version
        self.current_title = article.title
        self.current_body = article.body


@dataclass
class ArticleFields:
    """What an editor submits. Plain values; the services check them."""

    title: str
    body: str
    category: str
    status: str = ArticleStatus.PUBLISHED.value
    tags: list[str] | str = field(default_factory=list)
    language: str = "en"
    slug: str = ""
    owner_id: int | None = None
    process_id: int | None = None
    verify_interval_days: int = 90
    reason: str = ""


def can_edit(user) -> bool:
    """Whether this person may write handbook articles (authors and admins)."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.role in (Role.ADMIN, Role.AUTHOR)
    )


def _check(fields: ArticleFields, owner_now: int | None = None) -> ArticleFields:
    fields.title = common.check_text(fields.title, "title", "Title", max_len=200)
    fields.body = (fields.body or "").replace("\r\n", "\n")
    if len(fields.body) > MAX_MARKDOWN:
        raise Invalid(
            f"The text is longer than {MAX_MARKDOWN // 1024} KB; split it into several articles.",
            field="body",
        )
    fields.category = common.check_category(fields.category)
    try:
        fields.status = ArticleStatus(fields.status).value
    except ValueError:
        raise Invalid("Status must be draft, published or archived.", field="status") from None
    fields.tags = common.clean_tags(fields.tags)
    fields.language = common.check_language(fields.language)
    fields.slug = common.check_slug(fields.slug) if (fields.slug or "").strip() else ""
    fields.owner_id = common.check_owner(fields.owner_id, keep=owner_now)
    fields.verify_interval_days = common.check_interval(fields.verify_interval_days)
    fields.reason = common.check_text(fields.reason, "reason", "Reason", max_len=300, required=False)
    return fields


def _claim_slug(article: Article, slug: str) -> None:
    """Give `article` the slug, keeping the old one as a redirect; a slug may be reclaimed from a redirect."""
    taken = db.session.scalar(select(Article.id).where(Article.slug == slug, Article.id != article.id))
    if taken is not None:
        raise Invalid(f"Another article already uses the address {slug!r}.", field="slug")
    if article.slug == slug:
        return
    db.session.execute(delete(SlugRedirect).where(SlugRedirect.slug == slug))
    old = article.slug
    article.slug = slug
    if old and article.id is not None:
        db.session.flush()
        db.session.add(SlugRedirect(slug=old, article_id=article.id))


def _title_slug(title: str) -> str:
    """A free slug made from the title (any alphabet); numbered when taken, hashed when it has no letters."""

    def taken(slug: str) -> bool:
        return db.session.scalar(select(Article.id).where(Article.slug == slug)) is not None

    return free_slug(slugify(title), taken, "article", title)


def _alias_title(article: Article) -> None:
    """[[Title]] links point at slugify(title): keep that address working when the slug differs."""
    alias = slugify(article.title)
    if not alias or alias == article.slug:
        return
    if db.session.scalar(select(Article.id).where(Article.slug == alias)) is not None:
        return
    if db.session.get(SlugRedirect, alias) is None:
        db.session.add(SlugRedirect(slug=alias, article_id=article.id))


def _link_process(article: Article, process_id: int | None) -> None:
    if article.process_id == process_id:
        return
    if process_id:
        process = db.session.get(Process, process_id)
        if process is None:
            raise Invalid("No such process.", field="process_id")
        other = db.session.scalar(select(Article).where(Article.process_id == process_id))
        if other is not None and other.id != article.id:
            raise Invalid(f"{process.name!r} is already documented by {other.title!r}.", field="process_id")
    if article.process is not None and article.process.status != ProcessStatus.RETIRED:
        article.process.status = ProcessStatus.UNDOCUMENTED
    article.process_id = process_id
    db.session.flush()
    db.session.expire(article, ["process"])


def sync_process_status(article: Article) -> None:
    """A process's status follows its article (a retired process stays retired)."""
    process = article.process
    if process is None or process.status == ProcessStatus.RETIRED:
        return
    if article.status == ArticleStatus.PUBLISHED and article.published_revision_id:
        # A published stub (too few words of its own) is still being written, and coverage does not count it.
        published = db.session.get(Revision, article.published_revision_id)
        process.status = ProcessStatus.DRAFTING if is_stub(published.own_words) else ProcessStatus.DOCUMENTED
    elif db.session.scalar(
        select(func.count(Revision.id)).where(
            Revision.article_id == article.id, Revision.state == RevisionState.PENDING
        )
    ):
        process.status = ProcessStatus.NEEDS_REVIEW
    elif article.status == ArticleStatus.DRAFT:
        process.status = ProcessStatus.DRAFTING
    else:
        process.status = ProcessStatus.UNDOCUMENTED


def needs_review(category: str, actor: User | SystemActor) -> bool:
    """Whether this actor's change waits for review: a category may require it; an admin's change (or the
    system's import) publishes directly."""
    if is_system(actor, IMPORT_CONTENT) or actor.role == Role.ADMIN:
        return False
    row = db.session.get(Category, category)
    return bool(row and row.requires_review)


def add_revision(
    article: Article,
    *,
    title: str,
    body: str,
    state: RevisionState,
    reason: str = "",
    actor: User | SystemActor,
) -> Revision:
    """Keep one more numbered revision of an article, by this actor, in the caller's unit of work."""
    number = (
        db.session.scalar(select(func.max(Revision.number)).where(Revision.article_id == article.id)) or 0
    ) + 1
    revision = Revision(
        article_id=article.id,
        number=number,
        title=title,
        body=body,
        state=state,
        reason=(reason or "")[:300],
        author_id=actor.id if actor else None,
        created_at=utcnow(),
        own_words=own_words(body),
    )
    store_rendered(revision)
    db.session.add(revision)
    db.session.flush()
    return revision


def apply_text(
    article: Article, *, title: str, body: str, status: str, reason: str, actor: User | SystemActor
) -> Revision:
    """Record a save as a revision and decide what readers see. Runs inside the caller's transaction."""
    wanted, was = ArticleStatus(status), article.status
    article.title, article.body = title, body
    article.updated_at, article.updated_by_id = utcnow(), actor.id if actor else None
    if wanted == ArticleStatus.PUBLISHED and needs_review(article.category, actor):
        revision = add_revision(
            article, title=title, body=body, state=RevisionState.PENDING, reason=reason, actor=actor
        )
        if article.status == ArticleStatus.ARCHIVED:
            article.status = ArticleStatus.DRAFT
        notices.review_requested(article, revision, actor=actor)
    elif wanted == ArticleStatus.PUBLISHED:
        revision = add_revision(
            article, title=title, body=body, state=RevisionState.PUBLISHED, reason=reason, actor=actor
        )
        article.published_revision_id = revision.id
        article.status = ArticleStatus.PUBLISHED
        notices.revision_published(article, revision, was=was, actor=actor)
    else:
        revision = add_revision(
            article, title=title, body=body, state=RevisionState.DRAFT, reason=reason, actor=actor
        )
        article.status = wanted
    _alias_title(article)
    sync_process_status(article)
    return revision


def set_tags(article: Article, tags: list[str]) -> None:
    """Give an article exactly these tags, keeping the rows of tags it already had."""
    current = {row.tag: row for row in article.tag_rows}
    for tag in set(current) - set(tags):
        article.tag_rows.remove(current[tag])
    for tag in tags:
        if tag not in current:
            article.tag_rows.append(ArticleTag(tag=tag))


def set_interval(article: Article, days: int) -> None:
    """Set how often an article must be verified, and when it next falls due."""
    article.verify_interval_days = days
    article.verify_due_at = article.verified_at + timedelta(days=days) if article.verified_at else None


def create_article(fields: ArticleFields, *, actor: User) -> Article:
    """Create an article with its first revision; the slug is unique, and the process gets linked.

    With review required for the category, "published" becomes a pending revision and the article stays a
    draft until someone else approves it.
    """
    if not can_edit(actor):
        raise Forbidden("Only authors and admins write articles.")
    fields = _check(fields)
    article = Article(
        title=fields.title,
        body="",
        category=fields.category,
        language=fields.language,
        status=ArticleStatus.DRAFT,
        owner_id=fields.owner_id or actor.id,
        version=1,
        created_at=utcnow(),
        verified_at=utcnow(),
        verified_by_id=actor.id,
    )
    set_interval(article, fields.verify_interval_days)  # writing it counts as verifying it
    _claim_slug(article, fields.slug or _title_slug(fields.title))
    db.session.add(article)
    db.session.flush()
    set_tags(article, fields.tags)
    _link_process(article, fields.process_id)
    apply_text(
        article,
        title=fields.title,
        body=fields.body,
        status=fields.status,
        reason=fields.reason or "Created",
        actor=actor,
    )
    record_snapshot()
    db.session.flush()
    return article


def save_article(article_id: int, fields: ArticleFields, *, base_version: int, actor: User) -> Revision:
    """Save a new revision only if nobody saved since `base_version`; otherwise raise EditConflict.

    The version check and bump is one UPDATE ... WHERE version = base_version, so of two concurrent saves
    from the same version exactly one wins. Nothing is written when the check or the input fails.
    """
    if not can_edit(actor):
        raise Forbidden("Only authors and admins edit articles.")
    # Keeping the current owner is always allowed, even one deactivated (e.g. imported, not yet invited).
    fields = _check(fields, db.session.scalar(select(Article.owner_id).where(Article.id == article_id)))
    bumped = db.session.execute(
        update(Article)
        .where(Article.id == article_id, Article.version == base_version)
        .values(version=Article.version + 1)
        .execution_options(synchronize_session=False)
    )
    article = db.session.get(Article, article_id, populate_existing=True)
    if article is None:
        raise NotFound("No such article.")
    if bumped.rowcount != 1:
        raise EditConflict(article)
    if fields.slug:
        _claim_slug(article, fields.slug)
    article.category, article.language = fields.category, fields.language
    article.owner_id = fields.owner_id
    set_interval(article, fields.verify_interval_days)
    set_tags(article, fields.tags)
    _link_process(article, fields.process_id)
    revision = apply_text(
        article, title=fields.title, body=fields.body, status=fields.status, reason=fields.reason, actor=actor
    )
    record_snapshot()
    db.session.flush()
    return revision


def resolve_slug(slug: str, *, viewer) -> tuple[Article | None, str | None]:
    """(article, None) when the slug is current; (None, new slug) for a renamed one; NotFound otherwise.

    Drafts (and pending-only articles) are visible only to authors and admins; others get NotFound.
    """
    # One statement: the tags are joined too (a separate selectin query cost more than the page's template).
    article = (
        db.session.scalars(
            select(Article)
            .where(Article.slug == slug)
            .options(
                joinedload(Article.owner),
                joinedload(Article.verified_by),
                joinedload(Article.process),
                joinedload(Article.published_revision),
                joinedload(Article.tag_rows),
            )
        )
        .unique()
        .first()
    )
    if article is None:
        target = db.session.scalar(
            select(Article)
            .join(SlugRedirect, SlugRedirect.article_id == Article.id)
            .where(SlugRedirect.slug == slug)
        )
        if target is None or not visible_to(target, viewer):
            raise NotFound("No article at this address.")
        return None, target.slug
    if not visible_to(article, viewer):
        raise NotFound("No article at this address.")
    return article, None


def visible_to(article: Article, viewer) -> bool:
    """Whether this viewer may read the article (editors see every state, readers published or archived)."""
    if can_edit(viewer):
        return True
    return article.status == ArticleStatus.ARCHIVED or (
        article.status == ArticleStatus.PUBLISHED and article.published_revision_id is not None
    )


def reader_text(article: Article) -> tuple[str, str]:
    """(title, body) readers see: the published revision while a newer change waits for review."""
    if article.status == ArticleStatus.PUBLISHED and article.published_revision is not None:
        return article.published_revision.title, article.published_revision.body
    return article.title, article.body


def list_articles(
    *,
    viewer,
    category: str | None = None,
    tag: str | None = None,
    status: str | None = None,
    language: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Article], int]:
    """Articles the viewer may see, filtered, by title; returns (page, total)."""
    query = select(Article)
    if not can_edit(viewer):
        query = query.where(
            (Article.status == ArticleStatus.ARCHIVED)
            | ((Article.status == ArticleStatus.PUBLISHED) & Article.published_revision_id.is_not(None))
        )
    if category:
        query = query.where(Article.category == category)
    if language:
        query = query.where(Article.language == language)
    if status:
        try:
            query = query.where(Article.status == ArticleStatus(status))
        except ValueError:
            raise Invalid("Status must be draft, published or archived.", field="status") from None
    if tag:
        query = query.where(
            Article.id.in_(select(ArticleTag.article_id).where(ArticleTag.tag == tag.lower()))
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = list(
        db.session.scalars(
            query.options(
                joinedload(Article.owner), selectinload(Article.tag_rows), joinedload(Article.process)
            )
            .order_by(Article.title, Article.id)
            .limit(limit)
            .offset(offset)
        )
    )
    return page, total


def recently_updated(*, viewer, limit: int = 8) -> list[Article]:
    """The most recently saved articles the viewer may see."""
    query = select(Article).options(joinedload(Article.updated_by)).order_by(Article.updated_at.desc())
    if not can_edit(viewer):
        query = query.where(Article.status == ArticleStatus.PUBLISHED)
    return list(db.session.scalars(query.limit(limit)))


def get_article_for_editing(slug: str, *, actor: User) -> Article:
    """The article an author or admin opens in the editor; Forbidden for anyone else."""
    if not can_edit(actor):
        raise Forbidden("Only authors and admins edit articles.")
    article = db.session.scalar(
        select(Article)
        .where(Article.slug == slug)
        .options(selectinload(Article.tag_rows), joinedload(Article.process))
    )
    if article is None:
        raise NotFound("No article at this address.")
    return article


def processes_for_linking(article_id: int | None = None) -> list[Process]:
    """Processes an article may document: those without an article (plus the article's own)."""
    taken = select(Article.process_id).where(Article.process_id.is_not(None))
    if article_id:
        taken = taken.where(Article.id != article_id)
    return list(
        db.session.scalars(
            select(Process)
            .where(Process.id.not_in(taken), Process.status != ProcessStatus.RETIRED)
            .order_by(Process.frequency.desc(), Process.name)
        )
    )


def list_templates() -> list[ArticleTemplate]:
    """The article templates an author can start a new article from."""
    return list(db.session.scalars(select(ArticleTemplate).order_by(ArticleTemplate.name)))


def get_template(key: str) -> ArticleTemplate | None:
    """The article template with this key, or None."""
    return db.session.get(ArticleTemplate, key) if key else None
