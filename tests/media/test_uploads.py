"""Uploads: what is accepted, what is refused with a clear message, and that a refusal stores nothing."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from kms.auth.models import Role
from kms.media.services import safe_name
from tests.conftest import PASSWORD, csrf_token_from
from tests.media.conftest import image_bytes, jpeg_with_location, png_bomb, store_of, upload

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _stored_bytes(app, digest: str) -> bytes:
    with store_of(app).open(digest) as handle:
        return handle.read()


@pytest.mark.usefixtures("on_storage")
def test_an_image_upload_answers_with_its_markdown_size_and_address(client, login_as):
    login_as(Role.AUTHOR)
    response = upload(client, image_bytes(size=(40, 30)), "Admin panel.png", alt="The admin panel")
    assert response.status_code == 201
    data = response.get_json()
    assert (data["kind"], data["width"], data["height"], data["name"]) == ("image", 40, 30, "Admin panel.png")
    assert data["markdown"] == f"![The admin panel]({data['url']})"
    assert data["url"].startswith(f"/media/{data['id'] and data['url'].split('/')[2]}/")
    assert client.get(data["url"]).status_code == 200


@pytest.mark.usefixtures("on_storage")
def test_a_photo_loses_its_location_and_camera_but_keeps_its_pixels(app, client, login_as):
    login_as(Role.AUTHOR)
    original = jpeg_with_location()
    assert b"SecretCameraMaker" in original
    data = upload(client, original, "holiday.jpg").get_json()
    kept = _stored_bytes(app, data["url"].split("/")[2])
    assert b"SecretCameraMaker" not in kept
    image = Image.open(io.BytesIO(kept))
    assert not image.getexif() and image.size == (40, 30)


@pytest.mark.usefixtures("on_storage")
def test_a_wide_screenshot_gets_a_page_sized_version(client, login_as):
    login_as(Role.AUTHOR)
    data = upload(client, image_bytes(size=(3200, 100)), "wide.png").get_json()
    assert (data["width"], data["height"]) == (3200, 100)
    assert "?size=page" in data["markdown"]
    page = client.get(data["url"] + "?size=page")
    assert Image.open(io.BytesIO(page.data)).size == (1600, 50)
    assert Image.open(io.BytesIO(client.get(data["url"]).data)).size == (3200, 100)


def test_the_type_comes_from_the_content_not_the_extension(client, login_as):
    login_as(Role.AUTHOR)
    picture = upload(client, image_bytes(), "report.pdf").get_json()
    assert (picture["kind"], picture["name"]) == ("image", "report.png")
    assert client.get(picture["url"]).mimetype == "image/png"
    document = upload(client, PDF, "photo.png").get_json()
    assert (document["kind"], document["name"]) == ("file", "photo.pdf")
    served = client.get(document["url"])
    assert served.mimetype == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("attachment")


def test_a_gif_that_is_also_a_script_is_served_only_as_a_clean_image(app, client, login_as):
    login_as(Role.AUTHOR)
    polyglot = image_bytes("GIF") + b"<html><script>alert(document.cookie)</script></html>"
    data = upload(client, polyglot, "cat.gif").get_json()
    assert data["kind"] == "image"
    assert b"<script" not in _stored_bytes(app, data["url"].split("/")[2])
    served = client.get(data["url"])
    assert served.mimetype == "image/gif"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert served.headers["Content-Disposition"].startswith("inline")


@pytest.mark.parametrize(
    "content,name,words",
    [
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "SVG and HTML",
        ),
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "page.png", "SVG and HTML"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "tool.pdf", "not accepted"),
    ],
)
def test_svg_html_and_unknown_types_are_refused_and_nothing_is_stored(
    client, login_as, stored, content, name, words
):
    login_as(Role.AUTHOR)
    response = upload(client, content, name)
    assert response.status_code == 400
    assert words in response.get_json()["error"]
    assert stored() == (0, 0, 0)


@pytest.mark.parametrize("width,height", [(30000, 30000), (9000, 5000)])
def test_a_decompression_bomb_is_refused_with_the_pixel_limit(client, login_as, stored, width, height):
    login_as(Role.AUTHOR)
    response = upload(client, png_bomb(width, height), "bomb.png")
    assert response.status_code == 400
    assert "40 million pixels" in response.get_json()["error"]
    assert stored() == (0, 0, 0)


@pytest.mark.usefixtures("on_storage")
def test_an_empty_file_is_refused_and_nothing_is_stored(client, login_as, stored):
    login_as(Role.AUTHOR)
    response = upload(client, b"", "empty.txt")
    assert response.status_code == 400
    assert "empty (0 bytes)" in response.get_json()["error"]
    assert stored() == (0, 0, 0)


@pytest.mark.parametrize("app_overrides", [{"KMS_MAX_UPLOAD_MB": "1"}])
def test_a_file_over_the_upload_limit_is_refused_with_the_limit_and_nothing_is_stored(
    client, login_as, stored
):
    login_as(Role.AUTHOR)
    just_over = upload(client, b"a" * (1024 * 1024 + 1), "big.txt")
    assert just_over.status_code == 413
    assert "larger than 1 MB" in just_over.get_json()["error"]
    far_over = upload(client, b"a" * (3 * 1024 * 1024), "huge.txt")
    assert far_over.status_code == 413
    assert "larger than 1 MB" in far_over.get_json()["error"]
    assert stored() == (0, 0, 0)


def test_other_routes_keep_the_small_request_limit(client, login_as):
    login_as(Role.AUTHOR)
    response = client.post("/account", data={"name": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413


def test_a_25_mb_default_limit_lets_a_large_file_through(client, login_as):
    login_as(Role.AUTHOR)
    response = upload(client, b"line of text\n" * (2 * 1024 * 1024 // 13), "log.txt")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\windows\\win.ini.txt", "win.ini.txt"),
        ("evil\x00name\x1b[31m\n.txt", "evilname_31m.txt"),
        ("\u202etxt.exe.txt", "txt.exe.txt"),
        ("....txt", "file.txt"),
        (".htaccess", "file.txt"),
    ],
)
def test_folders_and_control_characters_are_taken_out_of_names(raw, expected):
    assert safe_name(raw, "txt") == expected


def test_an_uploaded_name_with_a_path_is_reduced_to_its_base_name(client, login_as):
    login_as(Role.AUTHOR)
    data = upload(client, b"plain notes\n", "../../etc/pass\twd.txt").get_json()
    assert data["name"] == "passwd.txt"
    assert data["url"].endswith("/passwd.txt")


@pytest.mark.usefixtures("on_storage")
def test_the_same_file_twice_is_stored_once(client, login_as, stored):
    login_as(Role.AUTHOR)
    first = upload(client, image_bytes(), "a.png").get_json()
    again = upload(client, image_bytes(), "b.png").get_json()
    assert again["id"] == first["id"] and again["url"] == first["url"]
    assert stored() == (1, 1, 1)


def test_a_member_cannot_upload_and_nothing_is_stored(client, login_as, stored):
    login_as(Role.MEMBER)
    response = upload(client, image_bytes(), "a.png")
    assert response.status_code == 403
    assert response.get_json()["error"]
    assert stored() == (0, 0, 0)


def test_an_author_cannot_upload_to_a_page_they_cannot_edit(
    client, login_as, make_user, stored, make_article
):
    login_as(Role.MANAGER)
    article = make_article(make_user(Role.AUTHOR))
    response = upload(client, image_bytes(), "a.png", owner=f"article:{article.id}")
    assert response.status_code == 403
    assert f"article:{article.id}" in response.get_json()["error"]
    assert stored() == (0, 0, 0)


def test_an_unknown_owner_is_named_in_the_error(client, login_as, stored):
    login_as(Role.AUTHOR)
    response = upload(client, image_bytes(), "a.png", owner="article:999")
    assert response.status_code == 400
    assert "no article 999" in response.get_json()["error"]
    bad = upload(client, image_bytes(), "a.png", owner="pancake:1")
    assert "owner must be" in bad.get_json()["error"]
    assert stored() == (0, 0, 0)


def test_the_plain_form_works_without_javascript_and_shows_the_markdown(client, login_as):
    login_as(Role.AUTHOR)
    page = client.get("/media/upload?owner=draft")
    assert page.status_code == 200 and b'enctype="multipart/form-data"' in page.data
    response = client.post(
        "/media/upload",
        data={"file": (io.BytesIO(image_bytes()), "shot.png"), "alt": "A chart", "owner": "draft"},
        content_type="multipart/form-data",
        headers={"Accept": "text/html"},
    )
    assert response.status_code == 201
    assert b"![A chart](/media/" in response.data
    refused = client.post(
        "/media/upload",
        data={"file": (io.BytesIO(b""), "x.txt"), "alt": "kept text"},
        content_type="multipart/form-data",
        headers={"Accept": "text/html"},
    )
    assert refused.status_code == 400
    assert b"empty (0 bytes)" in refused.data and b"kept text" in refused.data


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_uploads_need_the_csrf_token_in_the_form_or_a_header(client, make_user):
    author = make_user(Role.AUTHOR)
    login_page = client.get("/login").data
    client.post(
        "/login",
        data={"email": author.email, "password": PASSWORD, "csrf_token": csrf_token_from(login_page)},
    )
    token = csrf_token_from(client.get("/media/upload").data)
    assert upload(client, image_bytes(), "a.png").status_code == 400
    assert upload(client, image_bytes(), "a.png", **{"X-CSRFToken": token}).status_code == 201
