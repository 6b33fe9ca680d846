"""Keeping attachments in step with the pages that use them, and removing files nothing uses any more.

A saved page (article, lesson, quiz question, template) is scanned for `/media/<hash>` and gets an attachment
row for each file it names, so the file is as visible as the page. Links are only ever added: older revisions
keep showing their images. A file uploaded as a draft stops being the uploader's private file once a page uses
it. Candidate files are never linked from pages: their hash in an article does not make them readable.
When owners are deleted, their attachments go, and so do blobs no attachment uses (the caller removes the
files after the commit).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import String, cast, delete, exists, select

from kms.articles.models import Article, ArticleTemplate
from kms.extensions import db
from kms.hiring.models import Candidate
from kms.media.models import Attachment, Blob
from kms.training.models import Lesson, Question

REFERENCE = re.compile(r"/media/([0-9a-f]{64})(?![0-9a-f])")
# Where pages keep their Markdown: (owner type, key column, text column).
PAGE_TEXTS = (
    ("article", Article.id, Article.body),
    ("template", ArticleTemplate.key, ArticleTemplate.body),
    ("lesson", Lesson.id, Lesson.body),
    ("question", Question.id, Question.explanation),
)
OWNER_KEYS = {
    "article": Article.id,
    "lesson": Lesson.id,
    "question": Question.id,
    "template": ArticleTemplate.key,
    "candidate": Candidate.id,
}


def references(text: str | None) -> set[str]:
    """The file hashes a Markdown text uses."""
    return set(REFERENCE.findall(text or ""))


def link_references(owner_type: str, owner_id: str, text: str | None) -> int:
    """Attach to the owner every stored, non-candidate file its text uses; returns how many were added."""
    wanted = references(text)
    if not wanted:
        return 0
    have = set(
        db.session.scalars(
            select(Attachment.blob_sha256).where(
                Attachment.owner_type == owner_type,
                Attachment.owner_id == owner_id,
                Attachment.blob_sha256.in_(wanted),
            )
        )
    )
    sources: dict[str, Attachment] = {}
    for row in db.session.scalars(
        select(Attachment)
        .where(Attachment.blob_sha256.in_(wanted - have), Attachment.owner_type != "candidate")
        .order_by(Attachment.id)
    ):
        sources.setdefault(row.blob_sha256, row)
    for digest, source in sources.items():
        db.session.add(
            Attachment(
                blob_sha256=digest,
                owner_type=owner_type,
                owner_id=owner_id,
                uploader_id=source.uploader_id,
                name=source.name,
                alt=source.alt,
            )
        )
    if sources:
        db.session.execute(
            delete(Attachment)
            .where(Attachment.owner_type == "draft", Attachment.blob_sha256.in_(list(sources)))
            .execution_options(synchronize_session=False)
        )
        db.session.flush()
    return len(sources)


def attach_to_pages(files: dict[str, tuple[str, str]]) -> int:
    """Give every page whose text uses one of `files` ({hash: (name, alt)}) an attachment row for it (the content
    import's files have no uploader); returns how many rows were added."""
    if not files:
        return 0
    have = set(
        db.session.execute(
            select(Attachment.blob_sha256, Attachment.owner_type, Attachment.owner_id).where(
                Attachment.blob_sha256.in_(list(files))
            )
        )
    )
    added = 0
    for owner_type, key, text in PAGE_TEXTS:
        for owner_id, body in db.session.execute(select(key, text).where(text.contains("/media/"))):
            for digest in references(body) & files.keys():
                if (digest, owner_type, str(owner_id)) in have:
                    continue
                name, alt = files[digest]
                db.session.add(
                    Attachment(
                        blob_sha256=digest, owner_type=owner_type, owner_id=str(owner_id), name=name, alt=alt
                    )
                )
                have.add((digest, owner_type, str(owner_id)))
                added += 1
    db.session.flush()
    return added


def drop_old_drafts(before: datetime) -> int:
    """Delete draft uploads (files uploaded while writing that no saved page came to use) made before `before`;
    returns how many. The commit's sweep (kms.media.hooks) then removes the files nothing else uses."""
    result = db.session.execute(
        delete(Attachment)
        .where(Attachment.owner_type == "draft", Attachment.created_at < before)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def sweep() -> list[str]:
    """Delete attachments whose owner is gone and blobs nothing uses; returns the digests to remove from storage."""
    for owner_type, key in OWNER_KEYS.items():
        gone = ~exists().where(cast(key, String) == Attachment.owner_id)
        db.session.execute(
            delete(Attachment)
            .where(Attachment.owner_type == owner_type, gone)
            .execution_options(synchronize_session=False)
        )
    unused = list(
        db.session.execute(
            select(Blob.sha256, Blob.page_sha256).where(
                ~exists().where(Attachment.blob_sha256 == Blob.sha256)
            )
        )
    )
    if not unused:
        return []
    doomed = [digest for row in unused for digest in row if digest]
    db.session.execute(
        delete(Blob)
        .where(Blob.sha256.in_([row[0] for row in unused]))
        .execution_options(synchronize_session=False)
    )
    still_used = set(db.session.scalars(select(Blob.sha256).where(Blob.sha256.in_(doomed)))) | set(
        db.session.scalars(select(Blob.page_sha256).where(Blob.page_sha256.in_(doomed)))
    )
    return [digest for digest in doomed if digest not in still_used]
