"""Media models: a stored file (blob, one per content hash) and its attachments to pages, candidates or drafts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kms.extensions import UTCDateTime, db, utcnow

# Owner types an attachment can name. Page types are linked from their Markdown; a draft belongs to its uploader
# until a saved page uses it; candidate files are attached on the candidate page and never linked from pages.
PAGE_TYPES = ("article", "lesson", "question", "template")
OWNER_TYPES = (*PAGE_TYPES, "candidate", "draft")


class Blob(db.Model):
    """One stored content, by SHA-256 of the stored bytes (images: after their metadata was stripped)."""

    __tablename__ = "media_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))  # "image" or "file"
    width: Mapped[int | None]
    height: Mapped[int | None]
    page_sha256: Mapped[str | None] = mapped_column(String(64))  # the resized version shown on pages
    # A PDF's text (capped), read once when it is stored; search indexes it with the pages that link the file.
    search_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(db.Model):
    """A blob used by one owner: who uploaded it, under which name, with which alt text."""

    __tablename__ = "media_attachments"
    __table_args__ = (
        UniqueConstraint("blob_sha256", "owner_type", "owner_id", name="uq_media_attachments_blob_owner"),
        Index("ix_media_attachments_owner", "owner_type", "owner_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("media_blobs.sha256", ondelete="CASCADE"), index=True)
    owner_type: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[str] = mapped_column(String(80))  # a row id, a template key, or the uploader for drafts
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    alt: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    blob: Mapped[Blob] = relationship(lazy="joined")
    uploader = relationship("User")
