"""Files on S3-compatible object storage (a real SeaweedFS server): the storage itself, its choice from
KMS_STORAGE_URL, and pre-signed downloads that still check the permission first."""

from __future__ import annotations

import hashlib
import io
import secrets

import httpx
import pytest

from kms.auth.models import Role
from kms.config import ConfigError
from kms.media.storage import LocalStorage, S3Storage, from_settings, length_of
from tests.media.conftest import image_bytes, login, store_of, upload


def _s3_store(server, **options) -> S3Storage:
    settings = server.settings("kms-media-tests", prefix=f"unit/{secrets.token_hex(4)}")
    return from_settings({**settings, **options}, "/nonexistent-instance")


class OneWayStream(io.RawIOBase):
    """A stream that can only be read forwards, a chunk at a time, like a request body (never all at once)."""

    def __init__(self, size: int, seed: bytes):
        self.left, self.block = size, hashlib.sha256(seed).digest() * 2048
        self.largest_read = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert size is not None and size > 0, "the storage asked for the whole stream at once"
        self.largest_read = max(self.largest_read, size)
        size = min(size, self.left, len(self.block))
        self.left -= size
        return self.block[:size]


def test_a_large_stream_is_stored_by_its_hash_once_and_read_back_in_pieces(s3_server, tmp_path):
    store = _s3_store(s3_server, KMS_S3_PRESIGN="0")
    store.tmp_dir = tmp_path / "tmp"
    stream = OneWayStream(20 * 1024 * 1024, b"big")  # over the 8 MiB multipart threshold
    digest, created = store.put(stream)
    assert created and stream.largest_read <= 1024 * 1024
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary copy is gone
    again, created_again = store.put(OneWayStream(20 * 1024 * 1024, b"big"))
    assert (again, created_again) == (digest, False)
    assert store.exists(digest) and store.stored_files() == [digest]

    check, size = hashlib.sha256(), 0
    with store.open(digest) as handle:
        assert length_of(handle) == 20 * 1024 * 1024
        while chunk := handle.read(64 * 1024):
            check.update(chunk)
            size += len(chunk)
    assert (check.hexdigest(), size) == (digest, 20 * 1024 * 1024)

    store.delete(digest)
    store.delete(digest)  # deleting what is gone is not an error
    assert not store.exists(digest) and store.stored_files() == []
    with pytest.raises(FileNotFoundError):
        store.open(digest)


def test_the_storage_url_chooses_a_folder_or_a_bucket(tmp_path, s3_server):
    assert from_settings({}, tmp_path).root == tmp_path / "media"
    assert from_settings({"KMS_STORAGE_URL": str(tmp_path / "files")}, "x").root == tmp_path / "files"
    assert from_settings({"KMS_STORAGE_URL": f"file://{tmp_path}/f"}, "x").root == tmp_path / "f"
    store = _s3_store(s3_server)
    assert isinstance(store, S3Storage) and store.bucket == "kms-media-tests"
    assert store.prefix.startswith("unit/")
    for wrong in ("s3:///no-bucket", "ftp://host/files"):
        with pytest.raises(ConfigError, match="KMS_STORAGE_URL"):
            from_settings({"KMS_STORAGE_URL": wrong}, tmp_path)


def test_files_stored_by_one_server_are_served_by_another_on_the_same_bucket(
    app, backend, tmp_path, s3_server, client, login_as
):
    """Two apps on one database and one bucket, with different instance folders: what A stored, B serves."""
    from tests.conftest import make_app

    settings = {
        **s3_server.settings("kms-media-tests"),
        "KMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
    }
    first = make_app(backend, tmp_path / "a", **settings)
    second = make_app(backend, tmp_path / "b", **settings)
    author_email = login_as(Role.AUTHOR).email
    picture = image_bytes(size=(30, 20), color=(1, 2, 3))
    with first.app_context():
        a = first.test_client()
        login(a, author_email)
        data = upload(a, picture, "shared.png").get_json()
    with second.app_context():
        b = second.test_client()
        login(b, author_email)
        served = b.get(data["url"])
        assert served.status_code == 200 and served.mimetype == "image/png"
        assert served.data == store_of(first).open(data["url"].split("/")[2]).read()
    assert not any((tmp_path / "a").rglob("media/*/*")) and not any((tmp_path / "b").rglob("media/*/*"))


@pytest.fixture
def app_overrides(s3_server):
    """This module's app keeps its files in the bucket and hands out pre-signed links valid for 60 s."""
    return {**s3_server.settings("kms-media-tests"), "KMS_S3_PRESIGN": "60"}


def test_a_presigned_download_checks_the_permission_then_redirects_to_a_link_that_works(
    app, client, make_user, make_article, s3_server
):
    author, member = make_user(Role.AUTHOR), make_user(Role.MEMBER)
    article = make_article(author, status="draft")
    login(client, author)
    picture = image_bytes(size=(25, 25), color=(9, 9, 9))
    data = upload(client, picture, "draft.png", owner=f"article:{article.id}").get_json()
    answer = client.get(data["url"])
    assert answer.status_code == 302 and answer.headers["Cache-Control"] == "private, no-store"
    link = answer.headers["Location"]
    assert link.startswith(s3_server.endpoint) and "X-Amz-Expires=60" in link
    fetched = httpx.get(link, timeout=10)
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    assert "filename*=UTF-8''draft.png" in fetched.headers["content-disposition"]
    with store_of(app).open(data["url"].split("/")[2]) as handle:
        assert fetched.content == handle.read()
    assert httpx.get(link.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=10).status_code == 403
    login(client, member)  # a member may not see a draft's file: 404, and no link
    refused = client.get(data["url"])
    assert refused.status_code == 404 and "Location" not in refused.headers


def test_without_the_s3_extra_the_setting_names_the_missing_package(monkeypatch, tmp_path):
    import builtins

    real_import = builtins.__import__

    def no_boto3(name, *args, **kwargs):
        if name == "boto3":
            raise ImportError("No module named 'boto3'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_boto3)
    with pytest.raises(ConfigError, match=r"kms\[s3\]"):
        from_settings({"KMS_STORAGE_URL": "s3://bucket"}, tmp_path)
    assert isinstance(from_settings({}, tmp_path), LocalStorage)
