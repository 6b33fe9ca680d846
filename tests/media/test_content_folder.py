"""The content folder's media: export writes content/media/ with relative paths, import reads it back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kms import content
from kms.articles.models import Article, Revision
from kms.auth.models import Role
from kms.extensions import db
from kms.frontmatter import ContentError
from kms.media.models import Attachment, Blob
from kms.media.storage import LocalStorage
from kms.training import services as training
from kms.training.models import Lesson
from tests.conftest import _empty_all_tables
from tests.media.conftest import (
    empty_storage,
    image_bytes,
    jpeg_with_location,
    login,
    pdf_bytes,
    upload,
)


def _media_folder(app) -> Path:
    return Path(app.config["KMS_INSTANCE_DIR"]) / "media"


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def site(client, login_as, make_article):
    """An article with a wide screenshot and a PDF, and a published lesson with a photo."""
    author = login_as(Role.AUTHOR)
    shot = upload(
        client,
        image_bytes("PNG", size=(1700, 60)),
        "Refund screen (admin).png",
        alt="The refund button in the billing admin",
    ).get_json()
    photo = upload(client, jpeg_with_location(), "desk.jpg", alt="A tidy desk").get_json()
    guide = upload(client, pdf_bytes("Chargeback evidence checklist"), "Evidence guide.pdf").get_json()
    article = make_article(
        author,
        body=f"Open the admin.\n\n{shot['markdown']}\n\nThen read {guide['markdown']}.\n",
        title="Refunds in the admin",
    )
    module = training.create_module(
        actor=author, title="Desk setup", summary="Where things go", audience=["member"], tags=[]
    )
    training.add_lesson(
        module.id, title="Your desk", body=f"Like this:\n\n{photo['markdown']}\n", actor=author
    )
    training.set_module_status(module.id, "published", actor=author)
    db.session.commit()
    return {"article": article.slug, "shot": shot, "photo": photo, "guide": guide}


@pytest.mark.usefixtures("on_storage")
def test_export_then_import_into_a_fresh_site_then_export_is_byte_identical(
    app, client, make_user, site, tmp_path
):
    first = tmp_path / "first"
    counts = content.export_content(first)
    assert counts["media"] == 3
    names = sorted(p.name for p in (first / "media").iterdir())
    digest = {key: site[key]["url"].split("/")[2] for key in ("shot", "photo", "guide")}
    assert names == sorted(
        [
            f"desk-{digest['photo'][:12]}.jpg",
            f"evidence-guide-{digest['guide'][:12]}.pdf",
            f"refund-screen-admin-{digest['shot'][:12]}.png",
        ]
    )
    article = (first / "articles" / f"{site['article']}.md").read_text()
    assert (
        f"![The refund button in the billing admin](../media/refund-screen-admin-{digest['shot'][:12]}.png)"
        in article
    )
    assert f"[Evidence guide.pdf](../media/evidence-guide-{digest['guide'][:12]}.pdf)" in article
    assert "/media/" + digest["shot"] not in article
    lesson = (first / "training" / "modules" / "desk-setup.md").read_text()
    assert f"](../../media/desk-{digest['photo'][:12]}.jpg)" in lesson

    _empty_all_tables()  # a fresh site: no rows, no stored files
    empty_storage(app)
    content.import_content(first)
    second = tmp_path / "second"
    content.export_content(second)
    assert _files(second) == _files(first)

    # The imported site shows the files with their pages: the article's image, the lesson's photo.
    member = make_user(Role.MEMBER)
    login(client, member)
    page = client.get(f"/handbook/articles/{site['article']}").get_data(as_text=True)
    image = re.search(r'<img[^>]*src="(/media/[0-9a-f]{64}/[^"]+)"', page)
    assert image and 'alt="The refund button in the billing admin"' in image.group(0)
    assert image.group(1).endswith("refund-screen-admin.png?size=page")
    assert client.get(image.group(1).replace("&amp;", "&")).headers["Content-Type"] == "image/png"
    lesson_id = db.session.scalar(select(Lesson.id).where(Lesson.title == "Your desk"))
    photo = re.search(
        r'src="(/media/[0-9a-f]{64}/desk.jpg)"',
        client.get(f"/training/lessons/{lesson_id}").get_data(as_text=True),
    )
    assert photo and client.get(photo.group(1)).status_code == 200


def test_reimporting_a_sites_own_export_with_media_changes_nothing(app, site, tmp_path):
    folder = tmp_path / "export"
    content.export_content(folder)
    before = (
        db.session.scalar(select(func.count()).select_from(Revision)),
        sorted(db.session.execute(select(Attachment.blob_sha256, Attachment.owner_type, Attachment.name))),
    )
    report = content.import_content(folder)
    assert report.counts["media files"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert report.counts["articles"]["updated"] == 0
    after = (
        db.session.scalar(select(func.count()).select_from(Revision)),
        sorted(db.session.execute(select(Attachment.blob_sha256, Attachment.owner_type, Attachment.name))),
    )
    assert after == before


def _folder(tmp_path: Path, body: str, media: dict[str, bytes]) -> Path:
    root = tmp_path / "content"
    (root / "articles").mkdir(parents=True)
    (root / "articles" / "refunds.md").write_text(
        f"---\ntitle: Refunds\nslug: refunds\ncategory: Billing\n---\n{body}", encoding="utf-8"
    )
    (root / "media").mkdir()
    for name, data in media.items():
        (root / "media" / name).write_bytes(data)
    return root


def _nothing_imported(app) -> bool:
    db.session.rollback()
    return (
        db.session.scalar(select(func.count()).select_from(Article)) == 0
        and db.session.scalar(select(func.count()).select_from(Blob)) == 0
        and LocalStorage(_media_folder(app)).stored_files() == []
    )


@pytest.mark.parametrize(
    "body, media, expected",
    [
        (
            "![A](../media/ok.png)\n\n![B](../media/missing.png)\n",
            {"ok.png": image_bytes()},
            r"articles/refunds\.md: \.\./media/missing\.png: there is no such file in .*media",
        ),
        (
            "![A](../media/ok.png)\n\n![B](../media/drawing.png)\n",
            {
                "ok.png": image_bytes(),
                "drawing.png": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script>',
            },
            r"media/drawing\.png: SVG and HTML files are not accepted",
        ),
        (
            "![A](../media/ok.png)\n\n[B](../media/empty.pdf)\n",
            {"ok.png": image_bytes(), "empty.pdf": b""},
            r"media/empty\.pdf: the file is empty",
        ),
        (
            "![A](../media/ok.png)\n\n![B](../media/broken.png)\n",
            {"ok.png": image_bytes(), "broken.png": image_bytes()[:60]},
            r"media/broken\.png: .*damaged",
        ),
    ],
)
def test_a_bad_or_missing_media_file_is_named_and_nothing_is_imported(
    app, categories, tmp_path, body, media, expected
):
    with pytest.raises(ContentError, match=expected):
        content.import_content(_folder(tmp_path, body, media))
    assert _nothing_imported(app)


def test_an_imported_image_keeps_its_alt_text_and_a_photo_loses_its_location(app, categories, tmp_path):
    root = _folder(
        tmp_path,
        "![The refund form](../media/form-0123456789ab.jpg)\n",
        {"form-0123456789ab.jpg": jpeg_with_location(), "unused.png": image_bytes()},
    )
    report = content.import_content(root)
    row = db.session.scalar(select(Attachment).where(Attachment.owner_type == "article"))
    assert (row.name, row.alt) == ("form.jpg", "The refund form")
    stored = LocalStorage(_media_folder(app)).open(row.blob_sha256).read()
    assert b"SecretCameraMaker" not in stored
    assert any("form-0123456789ab.jpg: the image carried metadata" in w for w in report.warnings)
    assert any("unused.png" in w and "not imported" in w for w in report.warnings)


def test_a_candidates_file_named_in_an_article_is_not_exported(
    client, make_user, make_article, process, tmp_path
):
    login(client, process.manager)
    cv = upload(
        client, pdf_bytes("Private CV"), "cv.pdf", owner=f"candidate:{process.candidate.id}"
    ).get_json()
    make_article(make_user(Role.AUTHOR), body=f"Oops: [cv]({cv['url']})\n", title="Oops")
    db.session.commit()
    content.export_content(tmp_path / "out")
    assert not (tmp_path / "out" / "media").exists()
    assert cv["url"] in (tmp_path / "out" / "articles" / "oops.md").read_text()


def test_the_starter_content_shows_diagrams_in_five_articles_and_two_lessons(app, client, make_user):
    starter = Path(app.config["KMS_CONTENT_DIR"])
    report = content.import_content(starter)
    assert not [w for w in report.warnings if "media" in w]
    files = list((starter / "media").iterdir())
    assert files and all(f.stat().st_size < 150 * 1024 for f in files)
    rows = list(db.session.scalars(select(Attachment)))
    assert len({r.owner_id for r in rows if r.owner_type == "article"}) >= 5
    assert len({r.owner_id for r in rows if r.owner_type == "lesson"}) >= 2
    assert all(len(r.alt) > 40 for r in rows)
    login(client, make_user(Role.MEMBER))
    page = client.get("/handbook/articles/refund-request").get_data(as_text=True)
    image = re.search(r'<img[^>]*alt="Refund decision tree[^"]*"[^>]*>', page)
    assert image
    source = re.search(r'src="([^"]+)"', image.group(0)).group(1)
    response = client.get(source)
    assert (response.status_code, response.headers["Content-Type"]) == (200, "image/png")


def test_kms_init_loads_the_starter_media_and_the_demo_flag_names_the_picture_that_is_out_of_date(tmp_path):
    import subprocess
    import sys

    env = {"KMS_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "kms", "demo"], env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert "media files: " in result.stdout
    from kms import create_app
    from kms.articles.models import Flag

    app = create_app({"KMS_INSTANCE_PATH": str(tmp_path), "KMS_LOAD_STARTER_CONTENT": "0"})
    with app.app_context():
        flag = db.session.scalar(select(Flag))
        article = db.session.get(Article, flag.article_id)
        assert "timeline picture" in flag.comment and "![Dunning timeline" in article.body
        stored = LocalStorage(Path(tmp_path) / "media").stored_files()
        assert len(stored) == len(list((Path(app.config["KMS_CONTENT_DIR"]) / "media").iterdir()))
