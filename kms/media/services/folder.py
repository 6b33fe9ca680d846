"""The media part of the content/ folder: the files pages use, in content/media/, referenced by relative path.

Export: every `/media/<hash>/<name>` in the exported Markdown that names a file some page uses is copied to
`media/<readable-name>-<first 12 hex of the hash>.<ext>` and the reference becomes a path relative to the
Markdown file (`../media/...`), so the folder reads well on GitHub too. `?size=page` is dropped: an image's
page-sized version is made again on import.

Import (inside the content import's transaction): each Markdown file's text is rewritten before it is parsed,
relative references back to `/media/<hash>/<name>` (images shown with `![...](...)` get `?size=page` when they
have a page-sized version); each file is checked like an upload and stored once; after the pages are saved,
every page whose text names a file gets its attachment row. The same folder exported, imported into a fresh
site and exported again is byte for byte the same: images without metadata are stored as they are.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote, unquote

from sqlalchemy import exists, select

from kms.errors import Invalid
from kms.extensions import db
from kms.frontmatter import ContentError, ImportReport
from kms.media import sniff
from kms.media.models import PAGE_TYPES, Attachment, Blob
from kms.media.services.links import attach_to_pages
from kms.media.services.uploads import limit_message, safe_name, store_file
from kms.media.storage import Storage

FOLDER = "media"
# A site address in Markdown (not part of another site's URL): /media/<hash>/<quoted name>[?size=page]
SITE_REFERENCE = re.compile(r"(?<![\w/.:%-])/media/([0-9a-f]{64})/([A-Za-z0-9_.~%-]+)(\?size=page)?")
FOLDER_FILE = r"([A-Za-z0-9](?:[A-Za-z0-9._-]{0,150}[A-Za-z0-9_-])?)"
HASH_SUFFIX = re.compile(r"-[0-9a-f]{12}$")
IMAGE_OPENER = re.compile(r"!\[([^\[\]\n]*)\]\($")  # what precedes the path of a Markdown image
OPENER_REACH = 1000
EXTENSIONS = {kind.mime: kind.extension for kind in sniff.TYPES}
KINDS = {kind.mime: kind for kind in sniff.TYPES}


def folder_name(digest: str, url_name: str, extension: str) -> str:
    """The file name in content/media/: the name's letters as a lowercase ASCII slug, then 12 hex of the hash."""
    stem = unquote(url_name)
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:60].strip("-") or "file"
    return f"{slug}-{digest[:12]}.{extension}"


def _relative_prefix(media: Path, markdown: Path) -> str:
    return os.path.relpath(media, markdown.parent).replace(os.sep, "/") + "/"


def _exportable(digest: str, store: Storage) -> Blob | None:
    """The blob when a page uses it and it is stored (never a file only a candidate or a draft has)."""
    used_by_page = exists().where(
        Attachment.blob_sha256 == Blob.sha256, Attachment.owner_type.in_(PAGE_TYPES)
    )
    blob = db.session.scalar(select(Blob).where(Blob.sha256 == digest, used_by_page))
    return blob if blob is not None and store.exists(digest) else None


class _Export:
    """Copies each used file into media/ once and gives the relative path that replaces its address."""

    def __init__(self, media: Path, store: Storage):
        self.media, self.store = media, store
        self.blobs: dict[str, Blob | None] = {}
        self.written: set[str] = set()

    def relative(self, prefix: str, match: re.Match) -> str:
        digest = match[1]
        if digest not in self.blobs:
            self.blobs[digest] = _exportable(digest, self.store)
        blob = self.blobs[digest]
        if blob is None:
            return match[0]
        name = folder_name(digest, match[2], EXTENSIONS.get(blob.mime, "bin"))
        if name not in self.written:
            self.media.mkdir(parents=True, exist_ok=True)
            with self.store.open(digest) as source, (self.media / name).open("wb") as target:
                shutil.copyfileobj(source, target)
            self.written.add(name)
        return prefix + name


def export_media(root: Path, markdown_files: list[Path], store: Storage) -> int:
    """Copy the files the exported Markdown uses into root/media/ and point the Markdown at them; returns the
    number of media files written."""
    export = _Export(Path(root) / FOLDER, store)
    for path in markdown_files:
        text = path.read_bytes().decode("utf-8")
        if "/media/" not in text:
            continue
        rewritten = SITE_REFERENCE.sub(partial(export.relative, _relative_prefix(export.media, path)), text)
        if rewritten != text:
            path.write_bytes(rewritten.encode("utf-8"))
    return len(export.written)


@dataclass
class Entry:
    """One file of content/media/ that the imported Markdown uses."""

    blob: Blob
    name: str
    alt: str = ""


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(64 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class MediaImport:
    """Turns content/media/ references into stored files while the content import reads the Markdown."""

    def __init__(self, root: Path, report: ImportReport, *, store: Storage, max_bytes: int):
        self.media = Path(root) / FOLDER
        self.report, self.store, self.max_bytes = report, store, max_bytes
        self.entries: dict[str, Entry] = {}
        self.patterns: dict[str, re.Pattern] = {}

    def rewrite(self, path: Path, text: str) -> str:
        """The Markdown file's text with relative media paths turned into this site's addresses."""
        if "media/" not in text:
            return text
        prefix = _relative_prefix(self.media, path)
        pattern = self.patterns.get(prefix)
        if pattern is None:
            pattern = self.patterns[prefix] = re.compile(r"(?<![\w/.:%-])" + re.escape(prefix) + FOLDER_FILE)

        def address(match: re.Match) -> str:
            entry = self._entry(match[1], path, prefix)
            opener = IMAGE_OPENER.search(text, max(0, match.start() - OPENER_REACH), match.start())
            if opener is not None and not entry.alt:
                entry.alt = opener[1].strip()[:300]
            page = "?size=page" if opener is not None and entry.blob.page_sha256 else ""
            return f"/media/{entry.blob.sha256}/{quote(entry.name)}{page}"

        return pattern.sub(address, text)

    def _entry(self, file_name: str, markdown: Path, prefix: str) -> Entry:
        if file_name in self.entries:
            return self.entries[file_name]
        path = self.media / file_name
        if not path.is_file() or path.resolve().parent != self.media.resolve():
            raise ContentError(markdown, f"{prefix}{file_name}: there is no such file in {self.media}")
        size = path.stat().st_size
        if size == 0:
            raise ContentError(path, "the file is empty (0 bytes)")
        if size > self.max_bytes:
            raise ContentError(path, limit_message(self.max_bytes))
        with path.open("rb") as stream:
            try:
                kind = sniff.detect(stream, file_name)
                known = {row.sha256 for row in db.session.new if isinstance(row, Blob)}
                blob = store_file(stream, kind, self.store, keep_bare=True)
            except Invalid as error:
                raise ContentError(path, error.message) from None
        created = blob in db.session.new and blob.sha256 not in known
        self.report.add("media files", "created" if created else "unchanged")
        if blob.sha256 != _file_digest(path):
            self.report.warn(
                f"{path}: the image carried metadata (such as EXIF) or extra bytes; kms stored it "
                "without them, so the next export writes a new file in its place"
            )
        entry = self.entries[file_name] = Entry(blob, self._name(blob, file_name, kind))
        return entry

    def _name(self, blob: Blob, file_name: str, kind: sniff.FileType) -> str:
        """The name this site knows the file by: the one it was exported from, else the folder name without
        its hash suffix."""
        for (name,) in db.session.execute(
            select(Attachment.name).where(Attachment.blob_sha256 == blob.sha256).order_by(Attachment.id)
        ):
            if folder_name(blob.sha256, quote(name), kind.extension) == file_name:
                return name
        stem = file_name.rsplit(".", 1)[0] if "." in file_name else file_name
        return safe_name(HASH_SUFFIX.sub("", stem) + "." + kind.extension, kind.extension)

    def finish(self) -> None:
        """Attach each stored file to the pages that use it; name the files no page uses."""
        attach_to_pages({entry.blob.sha256: (entry.name, entry.alt) for entry in self.entries.values()})
        if not self.media.is_dir():
            return
        unused = sorted(
            path.name
            for path in self.media.iterdir()
            if path.is_file() and not path.name.startswith(".") and path.name not in self.entries
        )
        if unused:
            shown = ", ".join(unused[:10]) + (" …" if len(unused) > 10 else "")
            self.report.warn(
                f"{len(unused)} file{'s' if len(unused) != 1 else ''} in {self.media} no article, "
                f"lesson or template uses, not imported: {shown}"
            )
