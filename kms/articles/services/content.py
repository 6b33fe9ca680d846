"""The handbook's part of the content/ folder: articles/*.md, processes.yml, categories.yml, article-templates/.

Import checks every file first (front matter, owners, categories, duplicate slugs and process names) and only
then writes, inside kms.content's single transaction: one bad file means nothing is imported. Re-importing
the same files changes nothing and adds no revisions.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import yaml
from sqlalchemy import func, select

from kms.articles import rendering
from kms.articles.models import (
    Article,
    ArticleStatus,
    ArticleTemplate,
    Category,
    Process,
    ProcessStatus,
    RevisionState,
    process_name_key,
)
from kms.articles.services import _common as common
from kms.articles.services import bulk
from kms.articles.services.coverage import record_snapshot
from kms.articles.services.editing import (
    _alias_title,
    _claim_slug,
    add_revision,
    apply_text,
    reader_text,
    set_interval,
    set_tags,
    sync_process_status,
)
from kms.articles.services.substance import own_words, template_lines
from kms.auth import content as people
from kms.auth.models import User
from kms.auth.system import SYSTEM
from kms.errors import Invalid
from kms.extensions import db, utcnow
from kms.frontmatter import (
    ContentError,
    ImportReport,
    file_name,
    load_yaml,
    read_front_matter,
    require,
    write_front_matter,
    write_yaml,
)

ARTICLE_KEYS = {
    "title",
    "slug",
    "category",
    "tags",
    "language",
    "status",
    "owner",
    "verify_interval_days",
    "verified_at",
    "verified_by",
    "process",
}
PROCESS_KEYS = {"name", "category", "frequency", "owner", "target_date", "status", "notes"}
TEMPLATE_KEYS = {"name", "description"}
CATEGORY_KEYS = {"name", "requires_review"}
IMPORT_REASON = "Imported from the content folder"


@dataclass
class ProcessData:
    path: Path
    line: int | None
    name: str
    category: str
    frequency: int
    owner_id: int | None
    target_date: date | None
    status: ProcessStatus
    notes: str = ""


@dataclass
class ArticleData:
    path: Path
    title: str
    slug: str
    category: str
    tags: list[str]
    language: str
    status: ArticleStatus
    owner_id: int | None
    interval: int
    verified_at: datetime | None
    verified_by_id: int | None
    body: str
    process: ProcessData | None = None
    process_id: int | None = None  # set once the process is written


@dataclass
class Parsed:
    categories: list[tuple[str, bool]] = field(default_factory=list)
    processes: list[ProcessData] = field(default_factory=list)
    articles: list[ArticleData] = field(default_factory=list)
    templates: list[tuple[str, str, str, str]] = field(default_factory=list)  # key, name, description, body


def _key_line(path: Path, key: str) -> int | None:
    """The line of `key:` in a file's front matter or YAML, so errors point at it."""
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(rf"\s*(?:-\s*)?{re.escape(key)}\s*:", line):  # no two runs of spaces to share out
                return number
    except (OSError, UnicodeDecodeError):
        return None
    return None


class _Reader:
    """Turns raw YAML values into checked values; every problem becomes a ContentError naming file and field."""

    def __init__(self, categories: set[str], users: dict[str, int], report: ImportReport | None = None):
        self.categories, self.users = categories, users
        self.report = report or ImportReport(owners="require")

    def fail(self, path: Path, problem: str, key: str, line: int | dict | None = None):
        if isinstance(line, dict):  # a processes.yml item: the line of the key itself, else of the item
            line = line.get(key.split(".")[-1], line.get("_item"))
        raise ContentError(path, problem, field=key, line=line or _key_line(path, key.split(".")[-1]))

    def unknown_keys(
        self, path: Path, meta: dict, allowed: set[str], prefix: str = "", line: int | None = None
    ):
        extra = sorted(str(k) for k in meta if k not in allowed)
        if extra:
            self.fail(
                path,
                f"unknown field (expected one of: {', '.join(sorted(allowed))})",
                prefix + extra[0],
                line,
            )

    def text(self, path, meta, key, *, required=True, max_len=200, prefix="", line=None) -> str:
        if required:
            try:
                value = require(meta, key, path)
            except ContentError as error:
                self.fail(path, error.problem, prefix + key, line)
        else:
            value = meta.get(key) or ""
        if not isinstance(value, str | int | float):
            self.fail(path, f"must be text, got {type(value).__name__}", prefix + key, line)
        value = str(value).strip()
        if len(value) > max_len:
            self.fail(path, f"must be at most {max_len} characters", prefix + key, line)
        return value

    def category(self, path, meta, key="category", *, prefix="", line=None, default=None) -> str:
        value = (
            self.text(path, meta, key, required=default is None, max_len=80, prefix=prefix, line=line)
            or default
        )
        if value not in self.categories:
            self.fail(
                path,
                f"unknown category {value!r} (known: {', '.join(sorted(self.categories))})",
                prefix + key,
                line,
            )
        return value

    def owner(self, path, meta, key="owner", *, prefix="", line=None, default=None) -> int | None:
        email = meta.get(key)
        if email in (None, ""):
            return default
        if not isinstance(email, str):
            self.fail(path, "must be an email address", prefix + key, line)
        email = email.strip().lower()
        if email in self.users:
            return self.users[email]
        if self.report.owners == "require":
            self.fail(
                path,
                f"unknown owner {email!r}: no user has this email (import with --owners=create "
                "to add it as a deactivated account, or --owners=clear to leave it empty)",
                prefix + key,
                line,
            )
        try:
            self.users[email] = people.unknown_owner(email, self.report, f"{path}, field '{prefix + key}'")
        except Invalid as error:
            self.fail(path, error.message, prefix + key, line)
        return self.users[email]

    def integer(self, path, meta, key, *, default, check, prefix="", line=None) -> int:
        value = meta.get(key, default)
        try:
            return check(value)
        except Invalid as error:
            self.fail(path, error.message, prefix + key, line)

    def day(self, path, meta, key, *, prefix="", line=None) -> date | None:
        value = meta.get(key)
        if value in (None, ""):
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(path, f"must be a date YYYY-MM-DD, got {value!r}", prefix + key, line)

    def moment(self, path, meta, key) -> datetime | None:
        value = meta.get(key)
        if value in (None, ""):
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime(value.year, value.month, value.day)
        if not isinstance(value, datetime):
            try:
                value = datetime.fromisoformat(str(value))
            except ValueError:
                self.fail(path, f"must be a date and time (ISO 8601), got {value!r}", key)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process(
        self,
        path,
        meta: dict,
        *,
        line=None,
        prefix="",
        default_category=None,
        default_owner=None,
        documented=False,
    ) -> ProcessData:
        if not isinstance(meta, dict):
            self.fail(
                path, "must be a mapping with name, frequency, ...", prefix.rstrip(".") or "process", line
            )
        self.unknown_keys(path, meta, PROCESS_KEYS, prefix, line)
        status_text = meta.get("status") or ("documented" if documented else "undocumented")
        try:
            status = ProcessStatus(status_text)
        except ValueError:
            self.fail(
                path,
                f"unknown status {status_text!r} (use undocumented, drafting, needs review or retired)",
                prefix + "status",
                line,
            )
        if status == ProcessStatus.DOCUMENTED and not documented:
            self.fail(
                path,
                "a process without an article cannot be 'documented'; add an article file for it",
                prefix + "status",
                line,
            )
        return ProcessData(
            path=path,
            line=line.get("_item") if isinstance(line, dict) else line,
            name=self.text(path, meta, "name", prefix=prefix, line=line),
            category=self.category(path, meta, prefix=prefix, line=line, default=default_category),
            frequency=self.integer(
                path, meta, "frequency", default=0, check=common.check_frequency, prefix=prefix, line=line
            ),
            owner_id=self.owner(path, meta, prefix=prefix, line=line, default=default_owner),
            target_date=self.day(path, meta, "target_date", prefix=prefix, line=line),
            status=status,
            notes=self.text(path, meta, "notes", required=False, max_len=5000, prefix=prefix, line=line),
        )


def _known_categories(root: Path) -> tuple[list[tuple[str, bool]], set[str]]:
    path = root / "categories.yml"
    listed: list[tuple[str, bool]] = []
    if path.exists():
        data = load_yaml(path) or []
        if not isinstance(data, list):
            raise ContentError(path, "must be a list of categories", line=1)
        for item in data:
            if isinstance(item, str):
                item = {"name": item}
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("name"), str)
                or not item["name"].strip()
            ):
                raise ContentError(path, "each category needs a name", field="name")
            extra = sorted(set(item) - CATEGORY_KEYS)
            if extra:
                raise ContentError(path, "unknown field", field=extra[0], line=_key_line(path, extra[0]))
            requires_review = item.get("requires_review", False)
            if not isinstance(requires_review, bool):  # 'no' in quotes, or a typo, must not turn review on
                raise ContentError(
                    path, f"category '{item['name'].strip()}': must be true or false", field="requires_review"
                )
            listed.append((item["name"].strip()[:80], requires_review))
    known = set(common.DEFAULT_CATEGORIES) | {name for name, _ in listed} | set(common.category_names())
    return listed, known


def _process_lines(text: str) -> list[dict]:
    """For each item of a YAML list: the line of the item and of each of its keys (1-based)."""
    node = yaml.compose(text)
    if node is None or node.id != "sequence":
        return []
    lines = []
    for item in node.value:
        keys = {"_item": item.start_mark.line + 1}
        if item.id == "mapping":
            keys.update({key.value: key.start_mark.line + 1 for key, _ in item.value})
        lines.append(keys)
    return lines


def parse_folder(
    root: Path, report: ImportReport | None = None, on_article: Callable[[ArticleData], None] | None = None
) -> Parsed:
    """Read and check every handbook file under root; `on_article(data)` hears of each article as it is read.

    Writes nothing, except the deactivated accounts the report's `create` owner policy adds for unknown owners.
    """
    parsed = Parsed()
    parsed.categories, known = _known_categories(root)
    users = {email.lower(): user_id for email, user_id in db.session.execute(select(User.email, User.id))}
    reader = _Reader(known, users, report)
    names: dict[str, Path] = {}

    def claim_name(data: ProcessData) -> None:
        key = process_name_key(data.name)  # what the database's unique name_key compares
        if key in names:
            reader.fail(
                data.path,
                f"process {data.name!r} is also defined in {names[key]}",
                "process.name" if data.path.suffix == ".md" else "name",
                data.line,
            )
        names[key] = data.path

    path = root / "processes.yml"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        items = load_yaml(path, text) or []
        if not isinstance(items, list):
            raise ContentError(path, "must be a list of processes", line=1)
        lines = _process_lines(text)
        for index, item in enumerate(items):
            data = reader.process(path, item, line=lines[index] if index < len(lines) else None)
            claim_name(data)
            parsed.processes.append(data)

    slugs: dict[str, Path] = {}
    files = sorted((root / "articles").glob("*.md"))
    progress = report.progress if report else None
    for number, path in enumerate(files, 1):
        if progress and (number % bulk.BATCH == 1 or number == len(files)):
            progress("reading files", number - (number < len(files)), len(files))
        meta, body = read_front_matter(path)
        reader.unknown_keys(path, meta, ARTICLE_KEYS)
        title = reader.text(path, meta, "title")
        slug = reader.text(path, meta, "slug", max_len=100)
        try:
            slug = common.check_slug(slug)
        except Invalid as error:
            reader.fail(path, error.message, "slug")
        if slug in slugs:
            reader.fail(path, f"duplicate slug {slug!r}: {slugs[slug]} uses it too", "slug")
        slugs[slug] = path
        status_text = meta.get("status") or "published"
        try:
            status = ArticleStatus(status_text)
        except ValueError:
            reader.fail(path, f"unknown status {status_text!r} (use draft, published or archived)", "status")
        try:
            tags = common.clean_tags(meta.get("tags") or [])
            language = common.check_language(str(meta.get("language") or "en"))
        except Invalid as error:
            reader.fail(path, error.message, error.field)
        category = reader.category(path, meta)
        owner_id = reader.owner(path, meta)
        data = ArticleData(
            path=path,
            title=title,
            slug=slug,
            category=category,
            tags=tags,
            language=language,
            status=status,
            owner_id=owner_id,
            interval=reader.integer(
                path, meta, "verify_interval_days", default=90, check=common.check_interval
            ),
            verified_at=reader.moment(path, meta, "verified_at"),
            verified_by_id=reader.owner(path, meta, "verified_by"),
            body=body,
        )
        if meta.get("process") is not None:
            data.process = reader.process(
                path,
                meta["process"],
                prefix="process.",
                default_category=category,
                default_owner=owner_id,
                documented=True,
            )
            claim_name(data.process)
        parsed.articles.append(data)
        if on_article is not None:
            on_article(data)

    for path in sorted((root / "article-templates").glob("*.md")):
        meta, body = read_front_matter(path)
        reader.unknown_keys(path, meta, TEMPLATE_KEYS)
        key = path.stem
        if not common.SLUG_RE.match(key) or len(key) > 80:
            raise ContentError(path, "template file names must be lowercase words joined by hyphens")
        parsed.templates.append(
            (
                key,
                reader.text(path, meta, "name", max_len=120),
                reader.text(path, meta, "description", required=False, max_len=300),
                body,
            )
        )
    return parsed


def _upsert_process(
    data: ProcessData, report: ImportReport, known: dict[str, Process], *, flush: bool = True
) -> Process:
    """Create or update one process; `known` holds the site's processes named in the files, by name key.
    With flush=False a new process gets its id at the caller's next flush."""
    process = known.get(process_name_key(data.name))
    values = {
        "category": data.category,
        "frequency": data.frequency,
        "owner_id": data.owner_id,
        "target_date": data.target_date,
        "notes": data.notes,
    }
    if process is None:
        process = Process(
            name=data.name, status=data.status, created_at=utcnow(), updated_at=utcnow(), **values
        )
        db.session.add(process)
        if flush:
            db.session.flush()
        known[process.name_key] = process
        report.add("processes", "created")
        return process
    changed = {k: v for k, v in values.items() if getattr(process, k) != v}
    if data.status != ProcessStatus.DOCUMENTED and process.status != data.status:
        changed["status"] = data.status
    elif data.status == ProcessStatus.DOCUMENTED and process.status == ProcessStatus.RETIRED:
        changed["status"] = ProcessStatus.UNDOCUMENTED  # sync_process_status sets the real one
    for key, value in changed.items():
        setattr(process, key, value)
    if changed:
        process.updated_at = utcnow()
    report.add("processes", "updated" if changed else "unchanged")
    return process


def _upsert_article(data: ArticleData, report: ImportReport, known: dict[str, Process]) -> None:
    article = db.session.scalar(select(Article).where(Article.slug == data.slug))
    process = _upsert_process(data.process, report, known) if data.process else None
    if process is not None:
        holder = db.session.scalar(select(Article).where(Article.process_id == process.id))
        if holder is not None and holder.slug != data.slug:
            raise ContentError(
                data.path,
                f"process {process.name!r} is already documented by article {holder.slug!r}",
                field="process.name",
            )
    created = article is None
    if created:
        article = Article(
            title=data.title,
            body=data.body,
            category=data.category,
            language=data.language,
            status=data.status,
            owner_id=data.owner_id,
            version=1,
            created_at=utcnow(),
            updated_at=utcnow(),
            verified_at=data.verified_at or utcnow(),
            verified_by_id=data.verified_by_id,
        )
        _claim_slug(article, data.slug)
        db.session.add(article)
        db.session.flush()
        state = RevisionState.PUBLISHED if data.status == ArticleStatus.PUBLISHED else RevisionState.DRAFT
        revision = add_revision(
            article, title=data.title, body=data.body, state=state, reason=IMPORT_REASON, actor=SYSTEM
        )
        if state == RevisionState.PUBLISHED:
            article.published_revision_id = revision.id
        _alias_title(article)
    changed = created
    title, body = reader_text(article)
    if not created and (title, body, article.status) != (data.title, data.body, data.status):
        article.version += 1
        apply_text(
            article,
            title=data.title,
            body=data.body,
            status=data.status.value,
            reason=IMPORT_REASON,
            actor=SYSTEM,
        )
        changed = True
    for key, value in (("category", data.category), ("language", data.language), ("owner_id", data.owner_id)):
        if getattr(article, key) != value:
            setattr(article, key, value)
            changed = True
    verification_changed = False
    if data.verified_at is not None and data.verified_at != article.verified_at:
        article.verified_at, verification_changed = data.verified_at, True
    if data.verified_by_id is not None and data.verified_by_id != article.verified_by_id:
        article.verified_by_id, verification_changed = data.verified_by_id, True
    if created or verification_changed or article.verify_interval_days != data.interval:
        changed = changed or verification_changed or article.verify_interval_days != data.interval
        set_interval(article, data.interval)
    if set(article.tags) != set(data.tags):
        set_tags(article, data.tags)
        changed = True
    new_process_id = process.id if process else None
    if article.process_id != new_process_id:
        article.process_id, changed = new_process_id, True
    db.session.flush()
    db.session.expire(article, ["process"])
    sync_process_status(article)
    report.add("articles", "created" if created else ("updated" if changed else "unchanged"))


def _link_processes(items: list[ArticleData], report: ImportReport, known: dict[str, Process]) -> dict:
    """Write the processes of new articles (one flush) and refuse a process another article documents;
    sets each item's process_id and returns the processes by id."""
    linked = [
        (data, _upsert_process(data.process, report, known, flush=False)) for data in items if data.process
    ]
    db.session.flush()
    by_id = {process.id: process for _, process in linked}
    holders: dict[int, str] = {}
    for part in bulk.chunks(sorted(by_id)):
        holders.update(
            db.session.execute(
                select(Article.process_id, Article.slug).where(Article.process_id.in_(part))
            ).all()
        )
    for data, process in linked:
        if process.id in holders:
            raise ContentError(
                data.path,
                f"process {process.name!r} is already documented by article {holders[process.id]!r}",
                field="process.name",
            )
        data.process_id = process.id
    return by_id


def _import_articles(
    items: list[ArticleData],
    report: ImportReport,
    known: dict[str, Process],
    taken: set[str],
    rendered: rendering.RenderStream,
) -> None:
    """Update the articles the site has (their slug is `taken`) one by one; create the new ones in batches,
    with the bodies `rendered` has had since they were read."""
    changed = [data for data in items if data.slug in taken]
    fresh = [data for data in items if data.slug not in taken]
    progress = report.progress
    if progress and items:
        progress("articles", 0, len(items))
    for number, data in enumerate(changed, 1):
        _upsert_article(data, report, known)
        if progress and (number % bulk.BATCH == 0 or number == len(changed)):
            progress("articles", number, len(items))
    processes = _link_processes(fresh, report, known)
    bulk.create_articles(
        fresh, processes, rendered.results(), IMPORT_REASON, progress, len(changed), len(items)
    )
    for _ in fresh:
        report.add("articles", "created")


def import_content(root: Path, report: ImportReport) -> None:
    """Load the handbook files under root. Runs inside kms.content.import_content's transaction.

    The bodies of new articles are rendered by a pool of processes from the moment each file is read, so
    reading, checking and writing in this process overlap with rendering."""
    root = Path(root)
    taken = bulk.all_slugs()
    count = partial(own_words, templates=template_lines())
    expected = sum(1 for _ in (root / "articles").glob("*.md"))
    with rendering.render_stream(expected, count) as rendered:

        def render_if_new(data: ArticleData) -> None:
            if data.slug not in taken:
                rendered.put(data.body)

        parsed = parse_folder(root, report, render_if_new)
        _import_parsed(parsed, report, taken, rendered)


def _import_parsed(
    parsed: Parsed, report: ImportReport, taken: set[str], rendered: rendering.RenderStream
) -> None:
    existing = {c.name: c for c in common.list_categories()}
    position = max((c.position for c in existing.values()), default=0)
    wanted = parsed.categories or [
        (name, False) for name in common.DEFAULT_CATEGORIES if name not in existing
    ]
    used = (
        {a.category for a in parsed.articles}
        | {p.category for p in parsed.processes}
        | {a.process.category for a in parsed.articles if a.process}
    )
    wanted += [(name, False) for name in sorted(used) if name not in existing and name not in dict(wanted)]
    for name, requires_review in wanted:
        category = existing.get(name)
        if category is None:
            position += 1
            existing[name] = Category(name=name, requires_review=requires_review, position=position)
            db.session.add(existing[name])
            report.add("categories", "created")
        elif parsed.categories and category.requires_review != requires_review:
            category.requires_review = requires_review
            report.add("categories", "updated")
        else:
            report.add("categories", "unchanged")
    db.session.flush()
    common.lock_process_names()
    known = common.processes_named(
        [p.name for p in parsed.processes] + [a.process.name for a in parsed.articles if a.process]
    )
    for data in parsed.processes:
        _upsert_process(data, report, known)
    _import_articles(parsed.articles, report, known, taken, rendered)
    for key, name, description, body in parsed.templates:
        template = db.session.get(ArticleTemplate, key)
        if template is None:
            db.session.add(ArticleTemplate(key=key, name=name, description=description, body=body))
            report.add("templates", "created")
        elif (template.name, template.description, template.body) != (name, description, body):
            template.name, template.description, template.body = name, description, body
            report.add("templates", "updated")
        else:
            report.add("templates", "unchanged")
    db.session.flush()
    record_snapshot()


def _email(user: User | None) -> str | None:
    return user.email if user is not None else None


def _process_meta(process: Process, *, article: Article | None = None) -> dict:
    meta: dict = {"name": process.name}
    if article is None or process.category != article.category:
        meta["category"] = process.category
    meta["frequency"] = process.frequency
    if article is None or process.owner_id != article.owner_id:
        if process.owner is not None:
            meta["owner"] = process.owner.email
    if process.target_date:
        meta["target_date"] = process.target_date.isoformat()
    if article is None or process.status == ProcessStatus.RETIRED:
        meta["status"] = process.status.value
    if process.notes:
        meta["notes"] = process.notes
    return meta


def export_content(root: Path, progress: bulk.Progress | None = None) -> int:
    """Write the handbook under root in the format import reads; returns the number of files written.
    `progress("articles", done, total)` is called every few hundred articles."""
    root = Path(root)
    written = 0
    write_yaml(
        root / "categories.yml",
        [{"name": c.name, "requires_review": c.requires_review} for c in common.list_categories()],
    )
    written += 1
    loose = db.session.scalars(
        select(Process)
        .outerjoin(Article, Article.process_id == Process.id)
        .where(Article.id.is_(None))
        .order_by(Process.category, Process.name)
    )
    write_yaml(root / "processes.yml", [_process_meta(p) for p in loose])
    written += 1
    total = db.session.scalar(select(func.count(Article.id))) or 0
    for number, article in enumerate(db.session.scalars(select(Article).order_by(Article.slug)), 1):
        if progress and (number % bulk.BATCH == 1 or number == total):
            progress("articles", number - (number < total), total)
        title, body = reader_text(article)
        meta = {
            "title": title,
            "slug": article.slug,
            "category": article.category,
            "tags": article.tags,
            "language": article.language,
            "status": article.status.value,
        }
        if article.owner is not None:
            meta["owner"] = article.owner.email
        meta["verify_interval_days"] = article.verify_interval_days
        if article.verified_at is not None:
            meta["verified_at"] = article.verified_at.isoformat()
        if article.verified_by is not None:
            meta["verified_by"] = article.verified_by.email
        if article.process is not None:
            meta["process"] = _process_meta(article.process, article=article)
        write_front_matter(root / "articles" / file_name(article.slug, ".md"), meta, body)
        written += 1
    for template in db.session.scalars(select(ArticleTemplate).order_by(ArticleTemplate.key)):
        write_front_matter(
            root / "article-templates" / f"{template.key}.md",
            {"name": template.name, "description": template.description},
            template.body,
        )
        written += 1
    return written


def handbook_is_empty() -> bool:
    """Whether the handbook has no process and no article yet (start-up loads the starter content then)."""
    return (
        db.session.scalar(select(Process.id).limit(1)) is None
        and db.session.scalar(select(Article.id).limit(1)) is None
    )
