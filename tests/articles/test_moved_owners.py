"""After a site move, owners that came in as deactivated accounts (to invite) keep their articles and
processes: editors save without choosing someone else, but cannot hand anything to a deactivated person."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kms import content
from kms.articles import services
from kms.articles.models import Article, Process
from kms.auth.models import Role, User
from kms.errors import Invalid
from kms.extensions import db
from tests.conftest import _empty_all_tables, login


@pytest.fixture
def moved(app, runner, make_user, make_article, make_process, author, tmp_path):
    """A site exported, then imported with `kms import --owners=create` into an empty database.

    Olga owns an article and a process; Ada (who set the site up) is an author too. Both arrive deactivated.
    Returns a logged-in client of Eve, an active author of the new site."""
    olga = make_user(Role.AUTHOR, email="owner@example.test", name="Olga Owner")
    make_article("Refund request", "## Steps\n\n1. Check the order\n", actor=olga, owner_id=olga.id)
    make_process("Chargeback", owner=olga)
    content.export_content(tmp_path / "site")
    _empty_all_tables()
    result = runner.invoke(args=["import", str(tmp_path / "site"), "--owners=create"])
    assert result.exit_code == 0, result.output
    eve = make_user(Role.AUTHOR, email="eve@example.test", name="Eve Editor")
    client = app.test_client()
    login(client, eve)
    return client


def _person(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _edit_form(article: Article, **changes) -> dict:
    data = {
        "title": article.title,
        "category": article.category,
        "status": article.status.value,
        "body": article.body,
        "language": article.language,
        "verify_interval_days": "90",
        "tags": "",
        "slug": article.slug,
        "owner_id": str(article.owner_id),
        "process_id": "",
        "reason": "",
        "base_version": str(article.version),
    }
    data.update(changes)
    return data


def _selected_owner(page: str) -> str:
    select_html = page.split('id="owner_id"')[1].split("</select>")[0]
    return re.search(r"<option selected value=\"\d+\">([^<]*)</option>", select_html).group(1)


def test_an_author_saves_an_imported_article_keeping_its_deactivated_owner(moved):
    olga = _person("owner@example.test")
    article = db.session.scalar(select(Article).where(Article.slug == "refund-request"))
    assert not olga.active and article.owner_id == olga.id
    response = moved.post(
        "/handbook/articles/refund-request/edit",
        data=_edit_form(article, body="## Steps\n\n1. Check the order date\n"),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    article = db.session.get(Article, article.id)
    assert article.body == "## Steps\n\n1. Check the order date\n" and article.owner_id == olga.id
    editor = moved.get("/handbook/articles/refund-request/edit").get_data(as_text=True)
    assert _selected_owner(editor) == "Olga Owner (not active)"  # the select shows whom the save keeps


def test_handing_an_article_to_another_deactivated_person_is_refused_at_the_owner_field(moved):
    ada = db.session.scalar(select(User).where(User.name == "Ada Author"))
    article = db.session.scalar(select(Article).where(Article.slug == "refund-request"))
    assert not ada.active and ada.role == Role.AUTHOR
    response = moved.post(
        "/handbook/articles/refund-request/edit",
        data=_edit_form(article, owner_id=str(ada.id), body="My new paragraph\n"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = page.split('id="owner_id-error"')[1].split("</p>")[0]
    assert "Ada Author is deactivated" in error
    assert "My new paragraph" in page.split('id="body"')[1]  # what the editor typed is still there
    db.session.expire_all()
    assert db.session.get(Article, article.id).owner_id == _person("owner@example.test").id


def test_a_process_keeps_its_deactivated_owner_but_cannot_be_given_to_another(moved):
    olga, ada = (
        _person("owner@example.test"),
        db.session.scalar(select(User).where(User.name == "Ada Author")),
    )
    process = db.session.scalar(select(Process).where(Process.name == "Chargeback"))
    page = moved.get(f"/handbook/processes/{process.id}").get_data(as_text=True)
    assert _selected_owner(page) == "Olga Owner (not active)"
    form = {
        "name": "Chargeback",
        "category": process.category,
        "frequency": "12",
        "owner_id": str(olga.id),
        "status": "undocumented",
        "notes": "",
    }
    assert moved.post(f"/handbook/processes/{process.id}", data=form).status_code == 302
    refused = moved.post(f"/handbook/processes/{process.id}", data={**form, "owner_id": str(ada.id)})
    assert refused.status_code == 400
    assert "Ada Author is deactivated" in refused.get_data(as_text=True).split('id="owner_id-error"')[1]
    reassigned = moved.post(
        f"/handbook/processes/{process.id}/reassign", data={"owner_id": str(ada.id)}, follow_redirects=True
    )
    assert "Ada Author is deactivated" in reassigned.get_data(as_text=True)
    db.session.expire_all()
    process = db.session.get(Process, process.id)
    assert (process.owner_id, process.frequency) == (olga.id, 12)
    writing = moved.get(f"/handbook/new?process={process.id}").get_data(as_text=True)
    assert _selected_owner(writing) == "Eve Editor"  # its new article goes to someone active


def test_the_article_page_shows_the_owner_as_not_active_and_admins_where_to_invite_them(
    moved, app, make_user
):
    olga = _person("owner@example.test")
    page = moved.get("/handbook/articles/refund-request").get_data(as_text=True)
    assert "Olga Owner" in page and "not active" in page
    assert f"/admin/users/{olga.id}" not in page  # an author cannot manage users
    admin = app.test_client()
    login(admin, make_user(Role.ADMIN))
    page = admin.get("/handbook/articles/refund-request").get_data(as_text=True)
    assert f'href="/admin/users/{olga.id}">reactivate and invite them</a>' in page


def test_choosing_a_deactivated_owner_for_something_it_does_not_own_yet_is_refused(author, make_user):
    gone = make_user(Role.AUTHOR, name="Gone Author")
    gone.active = False
    db.session.commit()
    with pytest.raises(Invalid, match="Gone Author is deactivated") as refused:
        services.create_process(
            services.ProcessFields(name="Refund", category="Billing", owner_id=gone.id), actor=author
        )
    assert refused.value.field == "owner_id"
