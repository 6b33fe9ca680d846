"""Every state-changing route refuses a request without a CSRF token, and nothing in the database changes.

The routes come from app.url_map, so a route a feature adds later is covered without editing this file.
For the walk to reach real objects, SAMPLE_VALUES maps URL variable names to existing rows; add a feature's
names (article_id, lesson_id, candidate_id...) when it lands. Unknown names get 1 or "sample".
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db
from tests.conftest import PASSWORD, csrf_token_from

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_ON = {"WTF_CSRF_ENABLED": True}

# URL variable name -> how to find a real value in the walk's world (see `world` below).
SAMPLE_VALUES = {
    "user_id": lambda world: world["member"].id,
    "token_id": lambda world: world["token"].id,
    "token": lambda world: world["invite"],
}

# Form fields a route might read, so that a missing CSRF token is the only thing wrong with the request.
PLAUSIBLE_FORM = {
    "action": "profile", "profile-name": "Changed Name", "profile-time_zone": "UTC", "name": "Mallory",
    "email": "mallory@example.test", "role": "admin", "team": "Evil", "time_zone": "UTC",
    "password": PASSWORD, "confirm": PASSWORD, "token-name": "stolen", "active": "y", "title": "Changed",
    "body": "Changed body",
}


def unsafe_rules(app):
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & UNSAFE_METHODS
        if rule.endpoint != "static" and methods:
            yield rule, sorted(methods)


def sample_url(rule, world) -> str:
    values = {}
    for name, converter in rule._converters.items():
        if name in SAMPLE_VALUES:
            values[name] = SAMPLE_VALUES[name](world)
        else:
            values[name] = 1 if type(converter).__name__ == "IntegerConverter" else "sample"
    return rule.build(values, append_unknown=False)[1]


def database_snapshot() -> dict[str, list]:
    db.session.rollback()   # read what is committed now
    return {table.name: sorted((tuple(row) for row in db.session.execute(select(table))), key=repr)
            for table in db.metadata.sorted_tables}


@pytest.fixture
def world(app, client, make_user):
    """An admin logged in with a real session, a member with a pending invite, an API token."""
    admin = make_user(Role.ADMIN)
    member = make_user(Role.MEMBER)
    invite = auth_services.reissue_invite(member.id, actor=admin)
    token, _ = auth_services.create_token(admin, "walk")
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": admin.email, "password": PASSWORD,
                                           "csrf_token": csrf_token_from(page)})
    assert response.status_code == 302
    return {"admin": admin, "member": member, "invite": invite, "token": token}


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_every_state_changing_route_rejects_a_request_without_a_csrf_token(app, client, world):
    walked, wrong = [], []
    for rule, methods in unsafe_rules(app):
        url = sample_url(rule, world)
        for method in methods:
            before = database_snapshot()
            for body in ({"data": PLAUSIBLE_FORM}, {"json": PLAUSIBLE_FORM}):
                response = client.open(url, method=method, **body)
                if response.status_code != 400:
                    wrong.append(f"{method} {url} ({body.keys()}) answered {response.status_code}")
            if database_snapshot() != before:
                wrong.append(f"{method} {url} changed the database without a CSRF token")
            walked.append(f"{method} {rule.rule}")
    assert not wrong, "\n".join(wrong)
    # The walk really went through the site's forms (it would pass vacuously on an empty URL map).
    assert {"POST /logout", "POST /admin/users", "POST /account", "POST /login"} <= set(walked)


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_the_same_kind_of_request_with_the_pages_token_is_accepted(client, world):
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    response = client.post("/account", data={**PLAUSIBLE_FORM, "csrf_token": token})
    assert response.status_code == 302
    assert db.session.get(type(world["admin"]), world["admin"].id).name == "Changed Name"


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_a_cross_site_form_post_to_log_in_is_refused(client, make_user):
    user = make_user(Role.MEMBER)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD},
                           headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"})
    assert response.status_code == 400
    assert client.get("/account").status_code == 302   # still logged out
