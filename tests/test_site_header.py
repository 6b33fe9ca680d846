"""The page header (menu, bell, name, log-out form) is kept once rendered, and still shows each reader their own."""

from __future__ import annotations

import re

import pytest

from kms.auth.models import Role
from kms.extensions import db
from kms.notify.models import Notification
from tests.conftest import PASSWORD, csrf_token_from, login


def _header(client, path: str = "/handbook/") -> str:
    page = client.get(path).get_data(as_text=True)
    return page[page.index('<header class="site-header">') : page.index("</header>")]


def _menu(header: str) -> list[str]:
    return re.findall(r"<li><a [^>]*>([^<]+)</a></li>", header)


def test_each_reader_sees_their_own_menu_name_and_bell(app, make_user):
    member, manager = make_user(Role.MEMBER, name="Mia Member"), make_user(Role.MANAGER, name="Max Manager")
    reader, lead = app.test_client(), app.test_client()
    login(reader, member)
    login(lead, manager)
    for _ in range(2):  # the second time from the kept copy
        mine, theirs = _header(reader), _header(lead)
        assert "Mia Member" in mine and "Max Manager" not in mine
        assert "Max Manager" in theirs and "Mia Member" not in theirs
        assert "Hiring" in _menu(theirs) and "Hiring" not in _menu(mine)
        assert 'href="/handbook/" aria-current="page">Handbook' in mine
    assert 'href="/handbook/" >Handbook' in _header(reader, "/account")  # not current on another page

    db.session.add(Notification(user_id=member.id, kind="test", channel="inapp", title="Look"))
    db.session.commit()
    assert 'data-unread="1"' in _header(reader) and 'data-unread="0"' in _header(lead)

    db.session.get(type(member), member.id).name = "Mia Renamed"
    db.session.commit()
    assert "Mia Renamed" in _header(reader)


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_the_kept_headers_log_out_form_logs_out(app, make_user):
    member = make_user(Role.MEMBER)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    login_form = {"email": member.email, "password": PASSWORD, "csrf_token": csrf_token_from(page)}
    response = client.post("/login", data=login_form)
    assert response.status_code == 302
    _header(client)  # rendered and kept
    token = csrf_token_from(_header(client, "/account"))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/handbook/").status_code == 302  # logged out: sent to the login page
