"""After login each person lands where their work is; an explicit safe `next` still wins."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import pytest

from kms.auth.models import Role
from kms.extensions import db
from kms.training import services as training
from kms.training.models import ModuleCompletion, Path, PathModule
from tests.conftest import PASSWORD


@pytest.fixture
def onboarding_path(make_user):
    """A published two-module onboarding path."""
    author = make_user(Role.AUTHOR)
    modules = []
    for title in ("Refunds 101", "Escalations 101"):
        module = training.create_module(
            actor=author,
            title=title,
            summary="Basics",
            audience=["member"],
            minutes=20,
            pass_mark=50,
            max_attempts=0,
            recertify_months=None,
            tags=[],
        )
        training.add_lesson(
            module.id, title="Lesson 1", body="Body", article_slugs=[], acknowledge=False, actor=author
        )
        modules.append(training.set_module_status(module.id, "published", actor=author))
    path = Path(
        slug="csm", title="CSM first 30 days", shadow_days=0, shadow_sessions_per_day=0, shadow_minutes=60
    )
    path.steps = [PathModule(module_id=m.id, position=i, day_offset=i) for i, m in enumerate(modules)]
    db.session.add(path)
    db.session.commit()
    return path


def on_path(make_user, path, role=Role.MEMBER):
    admin = make_user(Role.ADMIN)
    person = make_user(role, start_date=date(2026, 1, 5))
    training.assign_path(person.id, path.id, actor=admin)
    return person


def landing(client, user, next_url: str | None = None) -> str:
    """Log in through the form and follow the redirects; the path (and query) the person ends on."""
    url = "/login" + (f"?next={next_url}" if next_url else "")
    response = client.post(url, data={"email": user.email, "password": PASSWORD}, follow_redirects=True)
    assert response.status_code == 200, response.status_code
    parts = urlsplit(response.request.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_a_new_hire_with_an_onboarding_path_in_progress_lands_on_my_onboarding(
    client, make_user, onboarding_path
):
    assert landing(client, on_path(make_user, onboarding_path)) == "/training/me"


def test_someone_who_finished_their_path_lands_on_the_handbook(client, make_user, onboarding_path):
    person = on_path(make_user, onboarding_path)
    for step in onboarding_path.steps:
        db.session.add(ModuleCompletion(user_id=person.id, module_id=step.module_id))
    db.session.commit()
    assert landing(client, person) == "/handbook/"


def test_a_member_with_nothing_assigned_lands_on_the_handbook(client, make_user):
    assert landing(client, make_user(Role.MEMBER)) == "/handbook/"


def test_an_author_lands_on_their_documentation_queue(client, make_user):
    author = make_user(Role.AUTHOR)
    assert landing(client, author) == f"/handbook/processes?owner={author.id}"


def test_a_manager_lands_on_their_team_view(client, make_user):
    assert landing(client, make_user(Role.MANAGER, team="EMEA")) == "/training/team"


def test_an_admin_lands_on_the_handbook_home(client, make_user):
    assert landing(client, make_user(Role.ADMIN)) == "/handbook/"


def test_onboarding_comes_first_even_for_a_newly_hired_author(client, make_user, onboarding_path):
    assert landing(client, on_path(make_user, onboarding_path, role=Role.AUTHOR)) == "/training/me"


def test_an_explicit_local_next_still_wins(client, make_user, onboarding_path):
    assert landing(client, on_path(make_user, onboarding_path), next_url="/account") == "/account"


def test_an_unsafe_next_falls_back_to_the_landing_page(client, make_user):
    assert landing(client, make_user(Role.MANAGER), next_url="//evil.example/") == "/training/team"
