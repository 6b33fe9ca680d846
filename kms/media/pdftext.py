"""A PDF's text for search, read with pypdf once when the file is stored.

A PDF is a program of sorts: a damaged or hostile one can be slow to read or make the reader fail in many ways.
So the work is capped (pages, bytes of one page, characters, and a time budget checked between pages), so it
grows with the size of what is read and no more; any failure only means the file has less (or no) searchable
text: the upload, the import and the search index go on without it.
"""

from __future__ import annotations

import logging
import re
import time
from typing import BinaryIO

from kms.validate import clean_text

MAX_PAGES = 50
MAX_CHARS = 100_000
MAX_PAGE_BYTES = 2_000_000  # a page's drawing instructions; beyond this a page is skipped, not read
TIME_BUDGET = 5.0  # seconds for one file, checked before each page
_SPACES = re.compile(r"[ \t\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

log = logging.getLogger(__name__)
# pypdf reports every oddity of a damaged file as a warning; one line of ours is enough.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def _tidy(text: str) -> str:
    text = clean_text(text)
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def pdf_text(stream: BinaryIO) -> str:
    """The text of the PDF's first pages (at most MAX_CHARS characters); what was read before a failure, or ""."""
    from pypdf import PdfReader  # imported when needed: most requests never read a PDF

    deadline = time.monotonic() + TIME_BUDGET
    parts: list[str] = []
    total = 0
    try:
        stream.seek(0)
        reader = PdfReader(stream, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            return ""
        for index, page in enumerate(reader.pages):
            if index >= MAX_PAGES or total >= MAX_CHARS or time.monotonic() > deadline:
                break
            contents = page.get_contents()
            if contents is not None and len(contents.get_data()) > MAX_PAGE_BYTES:
                log.warning("PDF page %d skipped: its content is over %d bytes", index + 1, MAX_PAGE_BYTES)
                continue
            text = _tidy(page.extract_text() or "")
            parts.append(text)
            total += len(text)
    except Exception as error:  # noqa: BLE001 - pypdf raises many kinds; none may stop the caller
        log.warning(
            "PDF text not read past page %d (%s: %s); the file is kept with the text read so far",
            len(parts),
            type(error).__name__,
            str(error)[:200],
        )
    finally:
        stream.seek(0)
    return "\n\n".join(part for part in parts if part)[:MAX_CHARS]
