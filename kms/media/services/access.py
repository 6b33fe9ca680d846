"""Opening stored files: a viewer sees a file when they may open at least one owner that uses it.

Anything else is NotFound with the same words as a file that never existed, so guessing addresses reveals
nothing. Files reached only through a candidate are confidential: their downloads go to hiring's audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select

from kms.auth.models import User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db
from kms.hiring.services.access import record as record_hiring_audit
from kms.media.models import Attachment, Blob
from kms.media.services import owners
from kms.media.storage import HASH_PATTERN

HIDDEN = "Not found."


@dataclass(frozen=True)
class Served:
    """What to send: which stored content, under which name and type."""

    blob: Blob
    digest: str  # the original, or its page-sized version
    name: str
    candidate_id: int | None  # set when the viewer reached the file only through a candidate
    attachment_id: int = 0

    @property
    def inline(self) -> bool:
        return self.blob.kind == "image"


def open_media(digest: str, *, viewer: User, size: str = "") -> Served:
    """The file behind /media/<digest>/..., if the viewer may open one of its owners; NotFound otherwise."""
    if not HASH_PATTERN.fullmatch(digest or ""):
        raise NotFound(HIDDEN)
    candidate_last = case((Attachment.owner_type == "candidate", 1), else_=0)
    rows = db.session.scalars(
        select(Attachment).where(Attachment.blob_sha256 == digest).order_by(candidate_last, Attachment.id)
    )
    for row in rows:
        if owners.can_view(owners.Owner(row.owner_type, row.owner_id), viewer):
            blob = row.blob
            chosen = blob.page_sha256 if size == "page" and blob.page_sha256 else blob.sha256
            candidate = int(row.owner_id) if row.owner_type == "candidate" else None
            return Served(
                blob=blob, digest=chosen, name=row.name, candidate_id=candidate, attachment_id=row.id
            )
    raise NotFound(HIDDEN)


def record_download(served: Served, *, actor: User) -> None:
    """Write a candidate file's download to hiring's audit log (the caller's unit of work commits)."""
    if served.candidate_id is not None:
        # Ids only, like the rest of the audit log: a file name often carries the candidate's name.
        record_hiring_audit(
            actor, "downloaded", "candidate file", served.candidate_id, f"attachment {served.attachment_id}"
        )


def attachments_for(owner: str, *, viewer: User) -> list[Attachment]:
    """The owner's attachments, newest first, or none when the viewer may not open the owner."""
    target = owners.parse(owner, viewer)
    if not owners.can_view(target, viewer):
        return []
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.owner_type == target.type, Attachment.owner_id == target.id)
            .order_by(Attachment.created_at.desc(), Attachment.id.desc())
        )
    )


def may_upload(owner: str, *, actor: User) -> bool:
    """True when the actor may add files to (and remove files from) the owner."""
    try:
        owners.require_upload(owners.parse(owner, actor), actor)
    except (Forbidden, Invalid):
        return False
    return True


def remove_attachment(attachment_id: int, *, actor: User) -> Attachment:
    """Take one file off its owner (the file itself goes once nothing uses it); Forbidden without edit rights."""
    row = db.session.get(Attachment, attachment_id)
    if row is None or not owners.can_view(owners.Owner(row.owner_type, row.owner_id), actor):
        raise NotFound(HIDDEN)
    try:
        owners.require_upload(owners.Owner(row.owner_type, row.owner_id), actor)
    except Forbidden:
        raise Forbidden("You may not remove files from this page.") from None
    if row.owner_type == "candidate":
        record_hiring_audit(actor, "removed", "candidate file", int(row.owner_id), f"attachment {row.id}")
    db.session.delete(row)
    db.session.flush()
    return row
