"""What an uploaded file really is, decided from its bytes (magic numbers), never from its name.

A small signature table rather than a library: kms accepts eleven types, and two of them (Office files and
plain text) need more than a signature anyway: a DOCX/XLSX/PPTX is a ZIP whose `[Content_Types].xml` names its
main part, and text must be valid UTF-8 without NUL bytes all the way through. Everything else, SVG and HTML
included, is refused with a message that says what is accepted.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from kms.errors import Invalid

CHUNK = 64 * 1024
ACCEPTED = "images (PNG, JPEG, GIF, WebP) and files (PDF, DOCX, XLSX, PPTX, CSV, TXT, ZIP)"


@dataclass(frozen=True)
class FileType:
    mime: str
    extension: str  # the canonical one, given to the stored name
    kind: str  # "image" or "file"
    image_format: str = ""  # Pillow's name for images


PNG = FileType("image/png", "png", "image", "PNG")
JPEG = FileType("image/jpeg", "jpg", "image", "JPEG")
GIF = FileType("image/gif", "gif", "image", "GIF")
WEBP = FileType("image/webp", "webp", "image", "WEBP")
PDF = FileType("application/pdf", "pdf", "file")
ZIP = FileType("application/zip", "zip", "file")
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "file")
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "file")
PPTX = FileType("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx", "file")
CSV = FileType("text/csv", "csv", "file")
TXT = FileType("text/plain", "txt", "file")
TYPES = (PNG, JPEG, GIF, WEBP, PDF, ZIP, DOCX, XLSX, PPTX, CSV, TXT)

# (main part, the content type [Content_Types].xml must give it, type)
OFFICE_PARTS = (
    ("word/document.xml", "wordprocessingml.document.main+xml", DOCX),
    ("xl/workbook.xml", "spreadsheetml.sheet.main+xml", XLSX),
    ("ppt/presentation.xml", "presentationml.presentation.main+xml", PPTX),
)
MARKUP = re.compile(rb"<\s*(!doctype|html|svg|script|\?xml|body|head|iframe)", re.I)
TEXT_CONTROLS = {"\t", "\n", "\r", "\f"}


def _head(stream: BinaryIO, size: int = 4096) -> bytes:
    stream.seek(0)
    head = stream.read(size)
    stream.seek(0)
    return head


def _office_type(stream: BinaryIO) -> FileType:
    """A ZIP is an Office file only when its content types name the main part and that part exists."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            types = b""
            if (
                "[Content_Types].xml" in names
                and archive.getinfo("[Content_Types].xml").file_size < 1_000_000
            ):
                types = archive.read("[Content_Types].xml")
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Invalid(
            "The file starts like a ZIP archive but is damaged; kms cannot read it.", field="file"
        ) from None
    finally:
        stream.seek(0)
    for part, content_type, kind in OFFICE_PARTS:
        if part in names and content_type.encode() in types:
            return kind
    return ZIP


def _is_text(stream: BinaryIO) -> bool:
    """Valid UTF-8 from start to end, with no NUL or other control characters besides tab and line breaks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    stream.seek(0)
    try:
        while chunk := stream.read(CHUNK):
            text = decoder.decode(chunk)
            if any(unicodedata.category(c) == "Cc" and c not in TEXT_CONTROLS for c in set(text)):
                return False
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        stream.seek(0)
    return True


def detect(stream: BinaryIO, name: str) -> FileType:
    """The accepted type of the stream's content; Invalid (naming what was found) for anything else."""
    head = _head(stream)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _office_type(stream)
    if MARKUP.search(head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")[:200]):
        raise Invalid(
            "SVG and HTML files are not accepted (a browser could run them as a page). "
            f"Accepted: {ACCEPTED}. Export the drawing as PNG instead.",
            field="file",
        )
    if _is_text(stream):
        return CSV if name.lower().endswith(".csv") else TXT
    raise Invalid(
        f"This kind of file is not accepted. Accepted: {ACCEPTED}. The type is read from the "
        "content, not from the name.",
        field="file",
    )
