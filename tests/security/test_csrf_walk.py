"""Every state-changing route refuses a request without a CSRF token, and nothing in the database changes.

The routes come from app.url_map, so a route a feature adds later is walked without editing this file. The
walk runs on a site with the starter content and the demo data (`kms demo`), and SAMPLE_VALUES maps each URL
variable name to a real row of it, so every request names an existing article, lesson, candidate... A test
fails when a route has a variable SAMPLE_VALUES does not know: add the feature's name there when it lands.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kms.articles.models import Article, ArticleStatus, Flag, Process, Revision
from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.content import import_content
from kms.demo import create_demo
from kms.extensions import db
from kms.hiring.models import Candidate, InterviewerAssignment
from kms.training.models import Assignment, Lesson, Question, ShadowSession
from kms.web import SIGNED_ENDPOINTS
from tests.conftest import PASSWORD, csrf_token_from
from tests.e2e.harness import ROOT

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_ON = {"WTF_CSRF_ENABLED": True}

# URL variable name -> how to find a real value in the walk's world (see `world` below) for a rule.
SAMPLE_VALUES = {
    "user_id": lambda world, rule: (
        world["host"].id
        if "/hosts/" in rule
        else world["new_hire"].id
        if rule.startswith("/training/")
        else world["member"].id
    ),
    "token_id": lambda world, rule: world["token"].id,
    "token": lambda world, rule: world["invite"],
    "slug": lambda world, rule: world["article"].slug,
    "number": lambda world, rule: 1,
    "flag_id": lambda world, rule: world["flag"].id,
    "revision_id": lambda world, rule: world["revision"].id,
    "process_id": lambda world, rule: world["process"].id,
    "assignment_id": lambda world, rule: (
        world["interviewer_assignment"].id if "hiring" in rule else world["training_assignment"].id
    ),
    "module_id": lambda world, rule: world["lesson"].module_id,
    "lesson_id": lambda world, rule: world["lesson"].id,
    "question_id": lambda world, rule: world["question"].id,
    "session_id": lambda world, rule: world["session"].id,
    "candidate_id": lambda world, rule: world["candidate"].id,
    "key": lambda world, rule: "drive",
    "attachment_id": lambda world, rule: 1,  # the token check comes before any row is looked up
    "provider_id": lambda world, rule: 1,  # single sign-on settings: likewise
    "rule_id": lambda world, rule: 1,
    "channel_id": lambda world, rule: 1,  # integrations settings: the token check comes first
    "webhook_id": lambda world, rule: 1,
    "delivery_id": lambda world, rule: 1,
    "name": lambda world, rule: "hiring-purge",  # a registered job: "Run now" on /admin/jobs
    "notification_id": lambda world, rule: 1,  # the token check comes before the row is looked up
    "message_id": lambda world, rule: 1,  # failed e-mails on /admin/mail: likewise
}

# Form fields a route might read, so that a missing CSRF token is the only thing wrong with the request.
PLAUSIBLE_FORM = {
    "action": "profile",
    "profile-name": "Changed Name",
    "profile-time_zone": "UTC",
    "name": "Mallory",
    "email": "mallory@example.test",
    "role": "admin",
    "team": "Evil",
    "time_zone": "UTC",
    "password": PASSWORD,
    "confirm": PASSWORD,
    "token-name": "stolen",
    "active": "y",
    "title": "Changed",
    "body": "Changed body",
}


def unsafe_rules(app):
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or set()) & UNSAFE_METHODS
        if rule.endpoint != "static" and methods:
            yield rule, sorted(methods)


def sample_url(rule, world) -> str:
    unknown = set(rule._converters) - set(SAMPLE_VALUES)
    assert not unknown, f"{rule.rule}: add {sorted(unknown)} to SAMPLE_VALUES so the walk uses real rows"
    values = {name: SAMPLE_VALUES[name](world, rule.rule) for name in rule._converters}
    return rule.build(values, append_unknown=False)[1]


def database_snapshot() -> dict[str, list]:
    db.session.rollback()  # read what is committed now
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(select(table))), key=repr)
        for table in db.metadata.sorted_tables
    }


def first(model, *where):
    found = db.session.scalars(select(model).where(*where).order_by(model.id).limit(1)).first()
    assert found is not None, f"the demo data has no {model.__name__}"
    return found


@pytest.fixture
def world(app, client, make_user):
    """The starter content and the demo team's data; an admin logged in with a real session, a member with a
    pending invite, an API token, and one real row of each kind a route names."""
    import_content(ROOT / "content")
    team = create_demo()
    admin = make_user(Role.ADMIN)
    member = make_user(Role.MEMBER)
    invite = auth_services.reissue_invite(member.id, actor=admin)
    token, _ = auth_services.create_token(admin, "walk")
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302
    article = first(Article, Article.status == ArticleStatus.PUBLISHED)
    return {
        "admin": admin,
        "member": member,
        "invite": invite,
        "token": token,
        "host": team.authors[0],
        "new_hire": team.new_hires[0],
        "article": article,
        "revision": first(Revision, Revision.article_id == article.id),
        "flag": first(Flag),
        "process": first(Process),
        "training_assignment": first(Assignment),
        "lesson": first(Lesson),
        "question": first(Question),
        "session": first(ShadowSession),
        "candidate": first(Candidate),
        "interviewer_assignment": first(InterviewerAssignment),
    }


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_every_state_changing_route_rejects_a_request_without_a_csrf_token(app, client, world):
    walked, wrong = [], []
    # Routes a chat app calls (kms.integrations) check a signature over the body instead of a CSRF token: a
    # request without one is refused all the same, with 401, and changes nothing.
    signed = app.extensions.get(SIGNED_ENDPOINTS, set())
    for rule, methods in unsafe_rules(app):
        url = sample_url(rule, world)
        refused = 401 if rule.endpoint in signed else 400
        if rule.endpoint == "notify.unsubscribe":
            refused = (
                404  # signed by the token in its address (one-click unsubscribe): a forged one names nobody
            )
        for method in methods:
            before = database_snapshot()
            for body in ({"data": PLAUSIBLE_FORM}, {"json": PLAUSIBLE_FORM}):
                response = client.open(url, method=method, **body)
                if response.status_code != refused:
                    wrong.append(f"{method} {url} ({body.keys()}) answered {response.status_code}")
            if database_snapshot() != before:
                wrong.append(f"{method} {url} changed the database without a CSRF token")
            walked.append(f"{method} {rule.rule}")
    assert not wrong, "\n".join(wrong)
    # The walk really went through the site's forms (it would pass vacuously on an empty URL map), every
    # feature's included: each state-changing route of the URL map was requested.
    assert {"POST /logout", "POST /admin/users", "POST /account", "POST /login"} <= set(walked)
    every = {f"{method} {rule.rule}" for rule, methods in unsafe_rules(app) for method in methods}
    assert set(walked) == every
    for prefix in ("/handbook/", "/training/", "/hiring/", "/api/hiring/"):
        assert any(route.split(" ", 1)[1].startswith(prefix) for route in walked), f"no {prefix} route walked"


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_the_same_kind_of_request_with_the_pages_token_is_accepted(client, world):
    token = csrf_token_from(client.get("/account").get_data(as_text=True))
    response = client.post("/account", data={**PLAUSIBLE_FORM, "csrf_token": token})
    assert response.status_code == 302
    assert db.session.get(type(world["admin"]), world["admin"].id).name == "Changed Name"


@pytest.mark.parametrize("app_overrides", [CSRF_ON])
def test_a_cross_site_form_post_to_log_in_is_refused(client, make_user):
    user = make_user(Role.MEMBER)
    response = client.post(
        "/login",
        data={"email": user.email, "password": PASSWORD},
        headers={"Origin": "https://evil.example", "Referer": "https://evil.example/"},
    )
    assert response.status_code == 400
    assert client.get("/account").status_code == 302  # still logged out
