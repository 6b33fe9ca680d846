"""Uploading: refuse what kms does not accept, store the rest once by content hash, attach it to its owner."""

from __future__ import annotations

import io
import os
import re
import unicodedata
from typing import BinaryIO
from urllib.parse import quote

from sqlalchemy import select

from kms.auth.models import User
from kms.errors import Invalid, KmsError
from kms.extensions import db
from kms.media import pdftext, sniff
from kms.media.models import Attachment, Blob
from kms.media.services import owners
from kms.media.storage import Storage

NEW_FILES = "kms_media_new_files"  # session.info: files this transaction stored, removed again on rollback
NAME_MAX = 100
ALT_MAX = 300


class TooLarge(KmsError):
    """The file is larger than this site accepts."""

    status = 413


def limit_message(max_bytes: int) -> str:
    """What to tell someone whose file is over the upload limit."""
    return (
        f"The file is larger than {max_bytes // (1024 * 1024)} MB, the most this site accepts "
        "(KMS_MAX_UPLOAD_MB); nothing was stored. Compress or split it, or link to it instead."
    )


def safe_name(raw: str | None, extension: str) -> str:
    """A base name a file system and a Content-Disposition header can carry: no folders, no control
    characters, no leading dots; the extension is the one of the detected type."""
    base = re.split(r"[\\/]", raw or "")[-1]
    base = "".join(
        c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] not in "CZ" or c == " "
    )
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^\w\-(). ]+", "_", stem)
    stem = re.sub(r"\s+", " ", stem).strip(" ._")[:NAME_MAX].strip(" ._")
    return f"{stem or 'file'}.{extension}"


def clean_alt(alt: str | None) -> str:
    """Alt text on one line, without the brackets that would end the Markdown image."""
    text = " ".join((alt or "").replace("[", "(").replace("]", ")").replace("\\", "/").split())
    if len(text) > ALT_MAX:
        raise Invalid(
            f"Alt text is longer than {ALT_MAX} characters; describe the image in a sentence.", field="alt"
        )
    return text


def url_of(attachment: Attachment) -> str:
    """The address a page uses for the file (images: their page-sized version)."""
    return f"/media/{attachment.blob_sha256}/{quote(attachment.name)}"


def page_url_of(attachment: Attachment) -> str:
    """The address of the version shown on pages (the original when it is small already)."""
    suffix = "?size=page" if attachment.blob.page_sha256 else ""
    return url_of(attachment) + suffix


def markdown_of(attachment: Attachment) -> str:
    """`![alt](url)` for an image, `[name](url)` for any other file."""
    if attachment.blob.kind == "image":
        return f"![{attachment.alt}]({page_url_of(attachment)})"
    return f"[{attachment.name}]({url_of(attachment)})"


def _size(stream: BinaryIO) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _put(store: Storage, stream: BinaryIO) -> str:
    digest, created = store.put(stream)
    if created:
        db.session.info.setdefault(NEW_FILES, []).append(digest)
    return digest


def store_file(stream: BinaryIO, kind: sniff.FileType, store: Storage, *, keep_bare: bool = False) -> Blob:
    """Store checked content once (images re-encoded without metadata; with keep_bare, an image that has none
    is kept byte for byte) and return its blob row, new or existing. A PDF's text is read for search."""
    text = None
    if kind.kind == "image":
        from kms.media import images  # Pillow, imported at the first image: ~25 ms of every start otherwise

        clean = images.clean(stream, kind)
        original = stream.read() if keep_bare else b""
        stream.seek(0)
        data = original if keep_bare and images.is_bare(original, kind) else clean.data
        digest = _put(store, io.BytesIO(data))
        page = _put(store, io.BytesIO(clean.page)) if clean.page else None
        size, width, height = len(data), clean.width, clean.height
    else:
        digest, page, width, height = _put(store, stream), None, None, None
        size = _size(stream)
    blob = db.session.get(Blob, digest)
    if blob is None:
        if kind == sniff.PDF:
            text = pdftext.pdf_text(stream)
        blob = Blob(
            sha256=digest,
            size=size,
            mime=kind.mime,
            kind=kind.kind,
            width=width,
            height=height,
            page_sha256=page,
            search_text=text or None,
        )
        db.session.add(blob)
    return blob


def upload(
    stream: BinaryIO,
    filename: str | None,
    *,
    owner: str | None,
    alt: str | None,
    actor: User,
    store: Storage,
    max_bytes: int,
) -> Attachment:
    """Check, store and attach one file; the caller's unit of work commits. Refused files leave nothing behind.

    The same content is stored once; uploading it again for the same owner returns the same attachment."""
    target = owners.parse(owner, actor)
    owners.require_upload(target, actor)
    alt = clean_alt(alt)
    size = _size(stream)
    if size == 0:
        raise Invalid("The file is empty (0 bytes); choose the file again. Nothing was stored.", field="file")
    if size > max_bytes:
        raise TooLarge(limit_message(max_bytes))
    kind = sniff.detect(stream, filename or "")
    blob = store_file(stream, kind, store)
    attachment = db.session.scalar(
        select(Attachment).where(
            Attachment.blob_sha256 == blob.sha256,
            Attachment.owner_type == target.type,
            Attachment.owner_id == target.id,
        )
    )
    if attachment is None:
        attachment = Attachment(
            blob=blob,
            owner_type=target.type,
            owner_id=target.id,
            uploader_id=actor.id,
            name=safe_name(filename, kind.extension),
            alt=alt,
        )
        db.session.add(attachment)
    elif alt:
        attachment.alt = alt
    db.session.flush()
    return attachment
