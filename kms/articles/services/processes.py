"""The process inventory: what the team handles repeatedly, who owns documenting it, and its status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from kms.articles.models import Article, Category, Process, ProcessStatus
from kms.articles.services import _common as common
from kms.articles.services.coverage import record_snapshot
from kms.articles.services.editing import can_edit, sync_process_status
from kms.auth.models import User
from kms.errors import Forbidden, Invalid
from kms.extensions import db, utcnow

# Statuses a person may set by hand; the others follow the article (documented) or retire/reinstate.
MANUAL_STATUSES = (ProcessStatus.UNDOCUMENTED, ProcessStatus.DRAFTING, ProcessStatus.NEEDS_REVIEW)


@dataclass
class ProcessFields:
    name: str
    category: str
    frequency: int = 0
    owner_id: int | None = None
    target_date: date | None = None
    notes: str = ""
    status: str = ProcessStatus.UNDOCUMENTED.value


def _check(fields: ProcessFields, process: Process | None = None) -> ProcessFields:
    fields.name = common.check_text(fields.name, "name", "Name", max_len=200)
    common.lock_process_names()
    clash = common.process_named(fields.name)
    if clash is not None and (process is None or clash.id != process.id):
        raise Invalid(f"A process named {fields.name!r} already exists.", field="name")
    fields.category = common.check_category(fields.category)
    fields.frequency = common.check_frequency(fields.frequency)
    fields.owner_id = common.check_owner(fields.owner_id, keep=process.owner_id if process else None)
    fields.target_date = common.check_target_date(fields.target_date)
    fields.notes = common.check_text(fields.notes, "notes", "Notes", max_len=5000, required=False)
    try:
        status = ProcessStatus(fields.status or ProcessStatus.UNDOCUMENTED.value)
    except ValueError:
        raise Invalid(f"Unknown status {fields.status!r}.", field="status") from None
    if status not in MANUAL_STATUSES:
        raise Invalid(
            "Status may be undocumented, drafting or needs review; publishing the article makes it "
            "documented, and Retire retires it.",
            field="status",
        )
    fields.status = status.value
    return fields


def _require_editor(actor: User) -> None:
    if not can_edit(actor):
        raise Forbidden("Only authors and admins manage processes.")


def list_processes(
    *,
    category: str | None = None,
    owner_id: int | None = None,
    status: str | None = None,
    unassigned: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Process], int]:
    """Processes, most frequent first, filtered; retired ones only when asked for. Returns (page, total)."""
    query = select(Process)
    if status:
        try:
            query = query.where(Process.status == ProcessStatus(status))
        except ValueError:
            raise Invalid(f"Unknown status {status!r}.", field="status") from None
    else:
        query = query.where(Process.status != ProcessStatus.RETIRED)
    if category:
        query = query.where(Process.category == category)
    if unassigned:
        query = query.where(Process.owner_id.is_(None))
    elif owner_id:
        query = query.where(Process.owner_id == owner_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.options(joinedload(Process.owner), joinedload(Process.article))
        .order_by(Process.frequency.desc(), Process.name)
        .limit(limit)
        .offset(offset)
    )
    return list(rows.unique()), total


def get_process(process_id: int) -> Process:
    """The process with this id, for the process pages; NotFound when there is none."""
    return common.get_process(process_id)


def create_process(fields: ProcessFields, *, actor: User) -> Process:
    """Add a process to the inventory (names are unique, case-insensitively)."""
    _require_editor(actor)
    fields = _check(fields)
    process = Process(
        name=fields.name,
        category=fields.category,
        frequency=fields.frequency,
        owner_id=fields.owner_id,
        target_date=fields.target_date,
        notes=fields.notes,
        status=ProcessStatus(fields.status),
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    db.session.add(process)
    db.session.flush()
    record_snapshot()
    db.session.flush()
    return process


def update_process(process_id: int, fields: ProcessFields, *, actor: User) -> Process:
    """Edit a process. While it has an article, its status follows the article."""
    _require_editor(actor)
    process = common.get_process(process_id)
    fields = _check(fields, process)
    process.name, process.category, process.frequency = fields.name, fields.category, fields.frequency
    process.owner_id, process.target_date, process.notes = fields.owner_id, fields.target_date, fields.notes
    if process.status != ProcessStatus.RETIRED:
        process.status = ProcessStatus(fields.status)
        if process.article is not None:
            sync_process_status(process.article)
    process.updated_at = utcnow()
    record_snapshot()
    db.session.flush()
    return process


def reassign_process(process_id: int, owner_id: int | None, *, actor: User) -> Process:
    """Give a process (and its article, when that had the same owner) to another author."""
    _require_editor(actor)
    process = common.get_process(process_id)
    new_owner = common.check_owner(owner_id, keep=process.owner_id)
    if process.article is not None and process.article.owner_id in (None, process.owner_id):
        process.article.owner_id = new_owner
    process.owner_id, process.updated_at = new_owner, utcnow()
    db.session.flush()
    return process


def retire_process(process_id: int, *, actor: User) -> Process:
    """Retire a process the team no longer handles: it leaves the coverage numbers."""
    _require_editor(actor)
    process = common.get_process(process_id)
    process.status, process.updated_at = ProcessStatus.RETIRED, utcnow()
    record_snapshot()
    db.session.flush()
    return process


def reinstate_process(process_id: int, *, actor: User) -> Process:
    """Bring a retired process back; its status follows its article again."""
    _require_editor(actor)
    process = common.get_process(process_id)
    if process.status != ProcessStatus.RETIRED:
        raise Invalid("This process is not retired.")
    process.status, process.updated_at = ProcessStatus.UNDOCUMENTED, utcnow()
    if process.article is not None:
        sync_process_status(process.article)
    record_snapshot()
    db.session.flush()
    return process


def save_category(name: str, *, requires_review: bool, actor: User) -> Category:
    """Add a category or change whether its articles need review before publishing."""
    if getattr(actor.role, "value", None) not in ("admin", "manager"):
        raise Forbidden("Only admins and managers change categories.")
    name = common.check_text(name, "name", "Category name", max_len=80)
    category = db.session.get(Category, name)
    if category is None:
        position = (db.session.scalar(select(func.max(Category.position))) or 0) + 1
        category = Category(name=name, position=position)
        db.session.add(category)
    category.requires_review = bool(requires_review)
    db.session.flush()
    return category


def article_count_by_category() -> dict[str, int]:
    """How many articles each category holds, for the category admin page."""
    return dict(
        db.session.execute(select(Article.category, func.count(Article.id)).group_by(Article.category)).all()
    )
