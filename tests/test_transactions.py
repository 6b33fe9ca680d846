"""One transaction per use case: a hire is all or nothing, services never commit, the system actor is named."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, select

from kms.auth import SYSTEM, SystemActor
from kms.auth import services as auth_services
from kms.auth.models import Role, User
from kms.auth.system import CREATE_USERS
from kms.content import import_content
from kms.errors import Forbidden
from kms.extensions import db, deciding_per_statement, unit_of_work
from kms.hiring import services as hiring
from kms.hiring.models import Candidate, Stage
from kms.hiring.services import onboard
from kms.training import services as training
from kms.training.models import Assignment as TrainingAssignment
from tests.conftest import login
from tests.hiring.conftest import full_scorecard, make_process, process, rubric  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[1]


def _database() -> dict[str, list[tuple]]:
    """Every row of every table, as another connection sees it (only what is committed)."""
    with deciding_per_statement(), db.engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(table.select())), key=repr)
            for table in db.metadata.sorted_tables
        }


@pytest.fixture
def ready_to_hire(app, process):
    """A scored candidate, and the starter 30-day path to assign on hiring."""
    import_content(Path(app.config["KMS_CONTENT_DIR"]))
    for assignment, person in (
        (process.first_assignment, process.first),
        (process.second_assignment, process.second),
    ):
        with unit_of_work():
            hiring.submit_scorecard(assignment, full_scorecard(3), actor=person)
    return process, training.list_paths()[0]


def _hire(process, path, email="robin.hired@example.test"):
    with unit_of_work():
        return hiring.hire_candidate(
            process.candidate.id,
            email=email,
            start_date=date(2027, 1, 4),
            path_id=path.id,
            actor=process.manager,
        )


class Injected(RuntimeError):
    """The failure a test injects into one step of a use case."""


# Each step of hire_candidate, in order: (where it is looked up, its name).
HIRE_STEPS = [
    (auth_services, "create_hired_account"),
    (onboard, "_mark_hired"),
    (training, "assign_path"),
    (onboard, "suggested_modules"),
]


@pytest.mark.parametrize("owner, step", HIRE_STEPS, ids=[name for _, name in HIRE_STEPS])
def test_a_failure_at_any_step_of_a_hire_leaves_the_database_exactly_as_before(
    ready_to_hire, monkeypatch, owner, step
):
    process, path = ready_to_hire
    before = _database()
    real = getattr(owner, step)

    def run_then_fail(*args, **kwargs):
        real(*args, **kwargs)  # this step's own changes happen too, then it fails
        raise Injected(f"{step} failed")

    monkeypatch.setattr(owner, step, run_then_fail)
    with pytest.raises(Injected):
        _hire(process, path)
    assert _database() == before
    assert db.session.scalar(select(User).where(User.email == "robin.hired@example.test")) is None
    assert db.session.get(Candidate, process.candidate.id).stage != Stage.HIRED


def test_the_same_hire_without_a_failure_makes_the_account_the_stage_and_the_path(ready_to_hire):
    process, path = ready_to_hire
    result = _hire(process, path)
    after = _database()
    assert [row for row in after["users"] if "robin.hired@example.test" in row]
    assert db.session.get(Candidate, process.candidate.id).stage == Stage.HIRED
    assert result.path_assigned
    assert db.session.scalars(
        select(TrainingAssignment).where(TrainingAssignment.user_id == result.user.id)
    ).all()


def test_a_hire_with_an_invite_link_commits_once_and_the_link_then_works(ready_to_hire):
    process, path = ready_to_hire
    commits: list[str] = []
    listener = lambda conn: commits.append("commit")  # noqa: E731 - a one-line event hook
    event.listen(db.engine, "commit", listener)
    try:
        result = _hire(process, path)
    finally:
        event.remove(db.engine, "commit", listener)
    assert commits == ["commit"]
    assert result.invite_token and auth_services.user_for_invite(result.invite_token).id == result.user.id


def test_a_hire_through_the_page_that_fails_at_the_path_creates_no_account(
    ready_to_hire, client, monkeypatch
):
    process, path = ready_to_hire

    def broken(*args, **kwargs):
        raise Injected("the training database went away")

    monkeypatch.setattr(training, "assign_path", broken)
    login(client, process.manager)
    before = _database()["users"]
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/hire",
        data={
            "email": "robin.hired@example.test",
            "start_date": "2027-01-04",
            "time_zone": "UTC",
            "path_id": str(path.id),
            "create_account": "y",
        },
    )
    assert response.status_code == 500
    assert _database()["users"] == before
    assert db.session.get(Candidate, process.candidate.id).stage != Stage.HIRED


SERVICE_MODULES = sorted([*ROOT.glob("kms/*/services/*.py"), *ROOT.glob("kms/*/services.py")])


def test_no_service_commits_or_opens_its_own_transaction():
    assert len(SERVICE_MODULES) > 20
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in SERVICE_MODULES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\.commit\(\)|\bwriting\(", line)
    ]
    assert found == [], "services flush; the caller's unit_of_work() commits:\n" + "\n".join(found)


def test_the_system_actor_creates_users_because_it_is_allowed_to_by_name(app):
    with unit_of_work():
        user, _ = auth_services.create_user(
            "cron@example.test", "Cron Made", "member", actor=SYSTEM, password="a long password 123"
        )
    assert user.id and db.session.get(User, user.id).email == "cron@example.test"


def test_a_system_actor_without_that_permission_is_refused(app):
    importer = SystemActor("importer only", frozenset({"content.import"}))
    with pytest.raises(Forbidden), unit_of_work():
        auth_services.create_user(
            "x@example.test", "X", "member", actor=importer, password="a long password 1"
        )
    assert auth_services.find_user_by_email("x@example.test") is None


def test_the_system_actor_passes_no_check_it_was_not_named_in(app, make_user, rubric):
    member = make_user(Role.MEMBER)
    with pytest.raises(Forbidden), unit_of_work():
        auth_services.update_user(
            member.id, actor=SYSTEM, role="admin", team="", start_date=None, active=True
        )
    with pytest.raises(Forbidden), unit_of_work():
        hiring.create_opening("Night shift", "EMEA", actor=SYSTEM)
    with pytest.raises(Forbidden), unit_of_work():
        auth_services.create_hired_account("y@example.test", "Y", actor=SYSTEM)
    assert SYSTEM.allows(CREATE_USERS) and not SYSTEM.allows("user.manage")
    assert db.session.get(User, member.id).role == Role.MEMBER


def test_a_lead_creates_the_account_of_a_hire_but_nobody_else_does(app, make_user):
    for role in (Role.MEMBER, Role.AUTHOR):
        with pytest.raises(Forbidden), unit_of_work():
            auth_services.create_hired_account("z@example.test", "Z", actor=make_user(role))
    with unit_of_work():
        user, token = auth_services.create_hired_account("z@example.test", "Z", actor=make_user(Role.MANAGER))
    assert user.role == Role.MEMBER and token and not user.has_password


def test_only_the_system_purges_candidates(app, make_user):
    with pytest.raises(Forbidden), unit_of_work():
        hiring.purge_rejected(30, actor=make_user(Role.ADMIN))
    with unit_of_work():
        assert hiring.purge_rejected(30, actor=SYSTEM) == 0
