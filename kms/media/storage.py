"""Where uploaded bytes live: content-addressed by SHA-256 behind a narrow, streaming interface.

`LocalStorage` keeps files in a folder (the instance folder's `media/`); an object-storage backend only has to
offer the same four methods. Nothing here reads a whole file into memory: `put` copies in chunks to a temporary
file in the same folder while hashing, then renames it into place (atomic on one file system).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 64 * 1024
HASH_PATTERN = re.compile(r"[0-9a-f]{64}")


class Storage(Protocol):
    """What kms needs from a place that stores file contents."""

    def put(self, stream: BinaryIO) -> tuple[str, bool]:
        """Store the stream's bytes; return (sha256 hex, True when this content was not stored before)."""

    def open(self, digest: str) -> BinaryIO:
        """A binary file object reading the stored content (FileNotFoundError when absent)."""

    def delete(self, digest: str) -> None:
        """Remove the content if present."""

    def exists(self, digest: str) -> bool:
        """True when the content is stored."""


def _checked(digest: str) -> str:
    if not HASH_PATTERN.fullmatch(digest or ""):
        raise ValueError("not a SHA-256 hex digest")
    return digest


class LocalStorage:
    """Files under `root/ab/cdef…` (two-letter fan-out keeps folders small); temporary files in `root/tmp`."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        digest = _checked(digest)
        return self.root / digest[:2] / digest[2:]

    def put(self, stream: BinaryIO) -> tuple[str, bool]:
        """Copy the stream to a temporary file while hashing, then rename it to its hash."""
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
            target = self._path(digest.hexdigest())
            if target.exists():
                os.unlink(tmp_name)
                return digest.hexdigest(), False
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
            return digest.hexdigest(), True
        except BaseException:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
            raise

    def open(self, digest: str) -> BinaryIO:
        return open(self._path(digest), "rb")  # noqa: SIM115 - the caller (a response) closes it

    def delete(self, digest: str) -> None:
        try:
            self._path(digest).unlink()
        except FileNotFoundError:
            pass

    def exists(self, digest: str) -> bool:
        return self._path(digest).is_file()

    def stored_files(self) -> list[str]:
        """Every stored digest (for tests and maintenance; not part of the Storage interface)."""
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name + p.name for p in self.root.glob("??/*") if p.parent.name != "tmp")
