"""Where uploaded bytes live: content-addressed by SHA-256 behind a narrow, streaming interface.

`LocalStorage` keeps files in a folder (the instance folder's `media/` by default); `S3Storage` keeps them in an
S3-compatible bucket, so several servers share them. `from_settings` picks one from KMS_STORAGE_URL. Nothing here
reads a whole file into memory: `put` copies in chunks to a temporary file while hashing, then renames it into
place (atomic on one file system) or uploads it (multipart above 8 MiB, by boto3's transfer manager).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote, urlsplit

from kms.config import ConfigError

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

    def stored_files(self) -> list[str]:
        """Every stored digest (for tests and maintenance)."""

    def download_url(self, digest: str, *, name: str, mime: str, inline: bool) -> str | None:
        """A short-lived address the browser may fetch the content from directly, or None (kms streams it)."""


def _checked(digest: str) -> str:
    if not HASH_PATTERN.fullmatch(digest or ""):
        raise ValueError("not a SHA-256 hex digest")
    return digest


def length_of(handle: BinaryIO) -> int:
    """The size in bytes of a handle returned by `open` (a local file, or an object body that knows it)."""
    length = getattr(handle, "length", None)
    if length is not None:
        return int(length)
    return os.fstat(handle.fileno()).st_size


def _hash_to_temp(stream: BinaryIO, tmp_dir: Path | None) -> tuple[str, str]:
    """Copy the stream to a new temporary file while hashing; return (sha256 hex, file name)."""
    if tmp_dir is not None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(tmp_name)
        raise
    return digest.hexdigest(), tmp_name


class LocalStorage:
    """Files under `root/ab/cdef…` (two-letter fan-out keeps folders small); temporary files in `root/tmp`."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, digest: str) -> Path:
        digest = _checked(digest)
        return self.root / digest[:2] / digest[2:]

    def put(self, stream: BinaryIO) -> tuple[str, bool]:
        """Copy the stream to a temporary file while hashing, then rename it to its hash."""
        digest, tmp_name = _hash_to_temp(stream, self.root / "tmp")
        try:
            target = self._path(digest)
            if target.exists():
                os.unlink(tmp_name)
                return digest, False
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, target)
            return digest, True
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
        """Every stored digest (for tests and maintenance)."""
        if not self.root.is_dir():
            return []
        return sorted(p.parent.name + p.name for p in self.root.glob("??/*") if p.parent.name != "tmp")

    def download_url(self, digest: str, *, name: str, mime: str, inline: bool) -> str | None:
        return None  # kms streams local files itself


class ObjectBody:
    """An object's body as a read-only file: read(n) pulls the next bytes from the connection; `length` is the
    size the storage reported."""

    def __init__(self, body, length: int):
        self._body, self.length = body, length

    def read(self, size: int = -1) -> bytes:
        return self._body.read(None if size is None or size < 0 else size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._body.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class S3Storage:
    """Files as objects `prefix/ab/cdef…` in an S3-compatible bucket (AWS S3, MinIO, SeaweedFS, Ceph...).

    `put` hashes the upload into a temporary file first (the object's name is its hash), then, unless an object
    of that name exists, uploads the file with boto3's transfer manager (multipart for large files). The
    content address makes concurrent uploads of the same bytes harmless: both write the same object. One client
    per process (clients are thread-safe but must not cross fork(), which gunicorn does after import)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
        presign_seconds: int = 0,
        tmp_dir: str | os.PathLike | None = None,
    ):
        try:
            import boto3  # noqa: F401 - checked here so a missing extra is reported at start-up
        except ImportError as error:
            raise ConfigError(
                "KMS_STORAGE_URL is an s3:// address but boto3 is not installed: pip install 'kms[s3]'."
            ) from error
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.presign_seconds = presign_seconds
        self.tmp_dir = Path(tmp_dir) if tmp_dir else None
        self._options = {
            "endpoint_url": endpoint_url or None,
            "aws_access_key_id": access_key_id or None,
            "aws_secret_access_key": secret_access_key or None,
            "region_name": region or None,
        }
        self._client = None
        self._client_pid = 0
        self._lock = threading.Lock()

    @property
    def client(self):
        if self._client is None or self._client_pid != os.getpid():
            with self._lock:
                if self._client is None or self._client_pid != os.getpid():
                    import boto3
                    from botocore.config import Config

                    # Path-style addresses (endpoint/bucket/key) work with every S3-compatible server; AWS
                    # accepts them too. Retries cover a gateway restarting under us.
                    config = Config(
                        signature_version="s3v4",  # pre-signed links too (boto3 may default them to v2)
                        s3={"addressing_style": "path"},
                        retries={"max_attempts": 5, "mode": "standard"},
                        connect_timeout=5,
                        read_timeout=60,
                    )
                    self._client = boto3.session.Session().client("s3", config=config, **self._options)
                    self._client_pid = os.getpid()
        return self._client

    def _key(self, digest: str) -> str:
        digest = _checked(digest)
        name = f"{digest[:2]}/{digest[2:]}"
        return f"{self.prefix}/{name}" if self.prefix else name

    @staticmethod
    def _missing(error) -> bool:
        code = str(error.response.get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}

    def put(self, stream: BinaryIO) -> tuple[str, bool]:
        digest, tmp_name = _hash_to_temp(stream, self.tmp_dir)
        try:
            if self.exists(digest):
                return digest, False
            with open(tmp_name, "rb") as source:
                self.client.upload_fileobj(source, self.bucket, self._key(digest))
            return digest, True
        finally:
            os.unlink(tmp_name)

    def open(self, digest: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(digest))
        except ClientError as error:
            if self._missing(error):
                raise FileNotFoundError(digest) from None
            raise
        return ObjectBody(answer["Body"], answer["ContentLength"])  # type: ignore[return-value]

    def delete(self, digest: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(digest))  # absent: no error

    def exists(self, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(digest))
        except ClientError as error:
            if self._missing(error):
                return False
            raise
        return True

    def stored_files(self) -> list[str]:
        found = []
        start = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start)
        for page in pages:
            for item in page.get("Contents", ()):
                digest = item["Key"][len(start) :].replace("/", "")
                if HASH_PATTERN.fullmatch(digest):
                    found.append(digest)
        return sorted(found)

    def download_url(self, digest: str, *, name: str, mime: str, inline: bool) -> str | None:
        """With KMS_S3_PRESIGN set: a link valid that many seconds, answering with the file's type and name."""
        if self.presign_seconds <= 0:
            return None
        disposition = "inline" if inline else "attachment"
        # RFC 5987 form: any name (the stored names are already cleaned) survives the header.
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": self._key(digest),
                "ResponseContentType": mime,
                "ResponseContentDisposition": f"{disposition}; filename*=UTF-8''{quote(name)}",
                "ResponseCacheControl": "private, no-store",
            },
            ExpiresIn=self.presign_seconds,
        )


def from_settings(config, instance_dir: str | os.PathLike) -> Storage:
    """The storage KMS_STORAGE_URL names: empty = `media/` in the instance folder; a path or file:// URL = that
    folder; s3://bucket/prefix = S3 with the KMS_S3_* settings."""
    url = (config.get("KMS_STORAGE_URL") or "").strip()
    if not url:
        return LocalStorage(Path(instance_dir) / "media")
    parts = urlsplit(url)
    if parts.scheme == "s3":
        if not parts.netloc:
            raise ConfigError(f"KMS_STORAGE_URL={url!r} names no bucket; use s3://bucket/prefix.")
        return S3Storage(
            parts.netloc,
            parts.path,
            endpoint_url=config.get("KMS_S3_ENDPOINT_URL"),
            access_key_id=config.get("KMS_S3_ACCESS_KEY_ID"),
            secret_access_key=config.get("KMS_S3_SECRET_ACCESS_KEY"),
            region=config.get("KMS_S3_REGION"),
            presign_seconds=int(config.get("KMS_S3_PRESIGN") or 0),
            tmp_dir=Path(instance_dir) / "tmp",
        )
    if parts.scheme == "file":
        return LocalStorage(Path(parts.path))
    if parts.scheme and len(parts.scheme) > 1:  # one letter: a Windows drive
        raise ConfigError(f"KMS_STORAGE_URL={url!r}: use a folder path, file:///path or s3://bucket/prefix.")
    return LocalStorage(Path(url).expanduser())
