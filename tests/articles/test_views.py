"""The handbook through the browser: editor with preview, edit conflict, history, verification, flags, API."""

from __future__ import annotations

import re

from kms import content
from kms.articles import services
from kms.articles.models import Article
from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db
from tests.articles.conftest import REAL_TEXT
from tests.conftest import csrf_token_from, login


def _article_form(**values) -> dict:
    data = {
        "title": "Refund request",
        "category": "Billing",
        "status": "published",
        "body": "## Steps\n\n1. Check",
        "language": "en",
        "verify_interval_days": "90",
        "tags": "refunds, billing",
        "slug": "",
        "owner_id": "",
        "process_id": "",
        "reason": "",
    }
    data.update(values)
    return data


def test_an_author_adds_a_process_writes_its_article_and_the_bar_moves(client, login_as, categories):
    author = login_as(Role.AUTHOR)
    assert (
        client.post(
            "/handbook/processes/new",
            data={
                "name": "Refund request",
                "category": "Billing",
                "frequency": "40",
                "owner_id": str(author.id),
                "status": "undocumented",
            },
        ).status_code
        == 302
    )
    home = client.get("/handbook/").get_data(as_text=True)
    assert "0 of 1 processes documented" in home and "Refund request" in home.split("Document next")[1]
    process = services.list_processes()[0][0]
    editor = client.get(f"/handbook/new?process={process.id}&template=").get_data(as_text=True)
    assert 'value="Refund request"' in editor and "data-preview-url" in editor
    response = client.post(
        "/handbook/new", data=_article_form(process_id=str(process.id), body="## Steps\n\n" + REAL_TEXT)
    )
    assert response.status_code == 302 and response.location.endswith("/handbook/articles/refund-request")
    home = client.get("/handbook/").get_data(as_text=True)
    assert "1 of 1 processes documented" in home and "Every process is documented" in home
    page = client.get("/handbook/articles/refund-request").get_data(as_text=True)
    assert '<h2 id="h-steps">Steps</h2>' in page and "Verified today by" in page


def test_preview_returns_sanitized_html_as_json(client, login_as, categories):
    login_as(Role.AUTHOR)
    response = client.post("/handbook/preview", data={"body": "**hi** <script>x()</script>"})
    assert response.status_code == 200
    assert (
        response.json["html"].startswith("<p><strong>hi</strong>") and "<script" not in response.json["html"]
    )


def test_the_second_of_two_editors_gets_409_with_a_diff_and_keeps_their_text(app, make_user, make_article):
    first, second = make_user(Role.AUTHOR), make_user(Role.AUTHOR)
    article = make_article("Refund request", "Original line\n", actor=first)
    a, b = app.test_client(), app.test_client()
    login(a, first), login(b, second)
    assert 'name="base_version" type="hidden" value="1"' in a.get(
        f"/handbook/articles/{article.slug}/edit"
    ).get_data(as_text=True)
    b.get(f"/handbook/articles/{article.slug}/edit")
    assert (
        a.post(
            f"/handbook/articles/{article.slug}/edit",
            data=_article_form(body="First editor's line\n", base_version="1"),
        ).status_code
        == 302
    )
    response = b.post(
        f"/handbook/articles/{article.slug}/edit",
        data=_article_form(body="Second editor's careful paragraph\n", base_version="1"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Second editor&#39;s careful paragraph" in page.split('id="body"')[1]
    assert "First editor&#39;s line" in page.split('id="conflict-heading"')[1]
    assert 'name="base_version" type="hidden" value="2"' in page
    db.session.expire_all()
    assert db.session.get(Article, article.id).body == "First editor's line\n"
    again = b.post(
        f"/handbook/articles/{article.slug}/edit",
        data=_article_form(body="Second editor's careful paragraph\n", base_version="2"),
    )
    assert again.status_code == 302


def test_history_diff_and_restore_through_the_pages(client, login_as, make_article):
    author = login_as(Role.AUTHOR)
    article = make_article("Refund request", "alpha\n", actor=author)
    client.post(
        f"/handbook/articles/{article.slug}/edit", data=_article_form(body="beta\n", base_version="1")
    )
    history = client.get(f"/handbook/articles/{article.slug}/history").get_data(as_text=True)
    assert "#2" in history and "#1" in history
    diff = client.get(f"/handbook/articles/{article.slug}/diff?from=1&to=2").get_data(as_text=True)
    assert re.search(r"<del>.*alpha</del>", diff) and re.search(r"<ins>.*beta</ins>", diff)
    response = client.post(
        f"/handbook/articles/{article.slug}/revisions/1/restore", data={"base_version": "2"}
    )
    assert response.status_code == 302
    assert "alpha" in client.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)
    assert [r.number for r in services.list_revisions(article.id)] == [3, 2, 1]


def test_a_renamed_article_redirects_from_its_old_address(client, login_as, make_article):
    author = login_as(Role.AUTHOR)
    article = make_article("Refund request", actor=author)
    client.post(
        f"/handbook/articles/{article.slug}/edit",
        data=_article_form(title="Refunds", slug="refunds", base_version="1"),
    )
    response = client.get("/handbook/articles/refund-request")
    assert response.status_code == 301 and response.location.endswith("/handbook/articles/refunds")


def test_a_reader_flags_an_article_and_the_owner_resolves_it(app, make_user, make_article):
    owner = make_user(Role.AUTHOR)
    article = make_article("Refund request", actor=owner, owner_id=owner.id)
    reader, author = app.test_client(), app.test_client()
    login(reader, make_user(Role.MEMBER)), login(author, owner)
    reader.post(f"/handbook/articles/{article.slug}/flag", data={"comment": "The limit is now 500"})
    assert "The limit is now 500" in reader.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)
    assert "The limit is now 500" in author.get("/handbook/flags").get_data(as_text=True)
    flag = services.open_flags(article.id)[0]
    author.post(f"/handbook/flags/{flag.id}/resolve", data={"resolution": "Updated"})
    assert "The limit is now 500" not in reader.get(f"/handbook/articles/{article.slug}").get_data(
        as_text=True
    )


def test_marking_verified_changes_the_label(client, login_as, make_article):
    author = login_as(Role.AUTHOR)
    article = make_article(actor=author)
    client.post(f"/handbook/articles/{article.slug}/verify")
    assert f"Verified today by {author.name}" in client.get(f"/handbook/articles/{article.slug}").get_data(
        as_text=True
    )


def test_a_bad_process_form_keeps_the_input_and_names_the_field(client, login_as, categories):
    login_as(Role.AUTHOR)
    response = client.post(
        "/handbook/processes/new",
        data={"name": "Typed by hand", "category": "Billing", "frequency": "-3", "status": "undocumented"},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'value="Typed by hand"' in page and 'id="frequency-error"' in page
    assert services.list_processes()[1] == 0


def test_members_read_but_cannot_edit_and_drafts_are_404(client, login_as, make_article, author):
    draft = make_article("Draft", status="draft")
    published = make_article("Live")
    login_as(Role.MEMBER)
    assert client.get(f"/handbook/articles/{published.slug}").status_code == 200
    assert client.get(f"/handbook/articles/{draft.slug}").status_code == 404
    assert client.get(f"/handbook/articles/{published.slug}/edit").status_code == 403
    assert client.post("/handbook/preview", data={"body": "x"}).status_code == 403


def test_csrf_is_required_on_the_preview_and_editor(app, make_user, make_article, backend, tmp_path):
    from tests.conftest import make_app

    secured = make_app(backend, tmp_path, WTF_CSRF_ENABLED=True)
    author = make_user(Role.AUTHOR)
    article = make_article(actor=author)
    client = secured.test_client()
    login_page = client.get("/login")
    client.post(
        "/login",
        data={
            "email": author.email,
            "password": "pw-for-tests-123",
            "csrf_token": csrf_token_from(login_page.data),
        },
    )
    assert client.post("/handbook/preview", data={"body": "x"}).status_code == 400
    page = client.get(f"/handbook/articles/{article.slug}/edit")
    token = csrf_token_from(page.data)
    assert (
        client.post("/handbook/preview", data={"body": "*x*", "csrf_token": token}).json["html"]
        == "<p><em>x</em></p>"
    )


def test_the_api_answers_with_a_token_and_respects_draft_visibility(client, make_user, make_article, author):
    make_article("Refund request", "Body **text**\n", tags="billing")
    make_article("Hidden draft", status="draft")
    member = make_user(Role.MEMBER)
    _, secret = auth_services.create_token(member, "bot")
    headers = {"Authorization": f"Bearer {secret}"}
    listing = client.get("/api/articles?tag=billing", headers=headers).json
    assert [a["slug"] for a in listing["articles"]] == ["refund-request"]
    assert client.get("/api/articles", headers=headers).json["total"] == 1
    one = client.get("/api/articles/refund-request", headers=headers).json
    assert one["markdown"] == "Body **text**\n" and one["html"] == "<p>Body <strong>text</strong></p>"
    assert client.get("/api/articles/hidden-draft", headers=headers).status_code == 404
    coverage = client.get("/api/coverage", headers=headers).json
    assert {"percent", "weighted_percent", "by_category", "target"} <= set(coverage)
    assert client.get("/api/processes", headers=headers).status_code == 200
    assert client.get("/api/coverage").status_code == 401
    assert client.get("/api/articles?status=bogus", headers=headers).json["status"] == 400


def test_kms_import_and_export_commands(app, runner, tmp_path):
    result = runner.invoke(args=["import"])
    assert result.exit_code == 0 and "articles: 24 created" in result.output
    result = runner.invoke(args=["export", str(tmp_path / "out")])
    assert result.exit_code == 0 and (tmp_path / "out" / "articles" / "refund-request.md").exists()
    (tmp_path / "out" / "articles" / "refund-request.md").write_text("broken")
    result = runner.invoke(args=["import", str(tmp_path / "out")])
    assert (
        result.exit_code != 0
        and "refund-request.md" in result.output
        and "Nothing was imported" in result.output
    )


def test_the_starter_content_loads_once_on_startup_when_enabled(app):
    from kms import cli

    app.config["KMS_LOAD_STARTER_CONTENT"] = "1"
    assert "loaded the starter content" in cli.load_starter_content()
    assert cli.load_starter_content() is None  # not empty any more: nothing happens
    assert content is not None and services.coverage().overall.total >= 30


def test_kms_demo_seeds_owners_a_flag_a_stale_article_and_a_trend(app, runner):
    content.import_content(app.config["KMS_CONTENT_DIR"])
    from kms import demo

    team = demo.create_demo()
    assert len(team.logins) == 11  # the handbook team (7) and the four reps whose tickets fill the metrics
    assert services.stale_count() >= 1
    assert services.flags_for_owner(team.admin)
    assert len(services.trend(days=30)) >= 14
    assert services.my_queue(team.authors[0].id)


def test_a_flag_that_is_too_long_is_refused_with_the_text_kept(app, make_user, make_article):
    article = make_article()
    reader = app.test_client()
    login(reader, make_user(Role.MEMBER))
    typed = "The refund limit changed. " * 100  # 2,600 characters, over the 2,000 allowed
    response = reader.post(f"/handbook/articles/{article.slug}/flag", data={"comment": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert typed.strip() in page and "at most 2,000 characters" in page
    assert services.open_flags(article.id) == []


def test_the_api_refuses_a_malformed_owner_id_instead_of_listing_every_process(client, make_user):
    _, secret = auth_services.create_token(make_user(Role.MEMBER), "bot")
    headers = {"Authorization": f"Bearer {secret}"}
    for bad in ("abc", "0", "99999999999"):
        response = client.get(f"/api/processes?owner_id={bad}", headers=headers)
        assert response.status_code == 400 and "owner_id" in response.json["error"]
    assert client.get("/api/processes?owner_id=", headers=headers).status_code == 200
