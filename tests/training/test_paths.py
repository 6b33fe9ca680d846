"""Onboarding paths: due dates in the learner's time zone (across DST), assignments, overdue, hiring hooks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kms.auth.models import Role
from kms.errors import Invalid, NotFound
from kms.extensions import db
from kms.training import services
from kms.training.models import Path, PathModule


@pytest.fixture
def make_path(make_module):
    def make(offsets=(2, 3), title="CSM — first 30 days"):
        modules = [make_module(title=f"Module {n}") for n in range(len(offsets))]
        path = Path(slug="csm", title=title, shadow_days=2, shadow_sessions_per_day=2, shadow_minutes=60)
        path.steps = [
            PathModule(module_id=m.id, position=i, day_offset=d)
            for i, (m, d) in enumerate(zip(modules, offsets, strict=True))
        ]
        db.session.add(path)
        db.session.commit()
        return path

    return make


def test_due_dates_follow_the_learners_zone_across_the_spring_dst_change(make_path, make_user, manager):
    # New York springs forward on Sunday 2026-03-08: midnight before is EST (-5), midnight after is EDT (-4).
    hire = make_user(team="EMEA", start_date=date(2026, 3, 5), time_zone="America/New_York")
    path = make_path(offsets=(2, 3))
    first, second = services.assign_path(hire.id, path.id, actor=manager)
    assert (first.due_on, first.due_at) == (date(2026, 3, 7), datetime(2026, 3, 8, 5, tzinfo=UTC))
    assert (second.due_on, second.due_at) == (date(2026, 3, 8), datetime(2026, 3, 9, 4, tzinfo=UTC))


def test_the_same_start_date_is_due_at_different_instants_in_different_zones(make_path, make_user, admin):
    tokyo = make_user(start_date=date(2026, 6, 1), time_zone="Asia/Tokyo")
    oslo = make_user(start_date=date(2026, 6, 1), time_zone="Europe/Oslo")
    path = make_path(offsets=(0,))
    [in_tokyo] = services.assign_path(tokyo.id, path.id, actor=admin)
    [in_oslo] = services.assign_path(oslo.id, path.id, actor=admin)
    assert in_tokyo.due_on == in_oslo.due_on == date(2026, 6, 1)
    assert in_tokyo.due_at == datetime(2026, 6, 1, 15, tzinfo=UTC)
    assert in_oslo.due_at == datetime(2026, 6, 1, 22, tzinfo=UTC)


def test_assigning_a_path_needs_a_start_date(make_path, make_user, admin):
    hire, path = make_user(), make_path()
    with pytest.raises(Invalid) as error:
        services.assign_path(hire.id, path.id, actor=admin)
    assert error.value.field == "start_date"


def test_assigning_twice_keeps_one_assignment_per_module(make_path, make_user, admin):
    hire, path = make_user(start_date=date(2026, 1, 5)), make_path()
    services.assign_path(hire.id, path.id, actor=admin)
    services.assign_path(hire.id, path.id, actor=admin)
    assert len(services.my_onboarding(hire.id, actor=hire).items) == 2


def test_a_manager_cannot_assign_to_someone_outside_their_team(make_path, make_user, manager):
    other_team = make_user(team="AMER", start_date=date(2026, 1, 5))
    with pytest.raises(NotFound):
        services.assign_path(other_team.id, make_path().id, actor=manager)


def test_a_member_cannot_assign_training(make_path, make_user):
    hire, member = make_user(start_date=date(2026, 1, 5)), make_user()
    with pytest.raises(Exception) as error:
        services.assign_path(hire.id, make_path().id, actor=member)
    assert type(error.value).__name__ in {"Forbidden", "NotFound"}


def test_overdue_assignments_stand_out_until_completed(make_module, make_user, admin):
    hire, module = make_user(time_zone="UTC"), make_module(quiz=False, lessons=1)
    services.assign_module(hire.id, module.id, date(2026, 2, 1), actor=admin)
    before = services.my_onboarding(hire.id, actor=hire, now=datetime(2026, 2, 1, 23, tzinfo=UTC))
    after = services.my_onboarding(hire.id, actor=hire, now=datetime(2026, 2, 2, 0, 1, tzinfo=UTC))
    assert not before.overdue and [i.module.id for i in after.overdue] == [module.id]
    services.complete_lesson(module.lessons[0].id, actor=hire)
    done = services.my_onboarding(hire.id, actor=hire, now=datetime(2026, 2, 3, tzinfo=UTC))
    assert not done.overdue and done.percent == 100


def test_my_onboarding_shows_progress_and_the_next_lesson(make_path, make_user, admin):
    hire = make_user(start_date=date(2026, 1, 5))
    path = make_path()
    services.assign_path(hire.id, path.id, actor=admin)
    first = services.get_module(path.steps[0].module_id, actor=hire)
    services.complete_lesson(first.lessons[0].id, actor=hire)
    onboarding = services.my_onboarding(hire.id, actor=hire)
    assert onboarding.next_item.module.id == first.id
    assert onboarding.next_item.next_lesson == (first.lessons[1].id, first.lessons[1].title)
    assert onboarding.next_item.percent == 33
    # The whole onboarding moves with each lesson too: the average of the module bars (33% and 0%).
    assert onboarding.percent == sum(i.percent for i in onboarding.items) // len(onboarding.items) > 0
    assert [p.title for p in onboarding.paths] == ["CSM — first 30 days"]


def test_a_member_sees_only_their_own_onboarding(make_user):
    me, other = make_user(), make_user()
    with pytest.raises(NotFound):
        services.my_onboarding(other.id, actor=me)


def test_a_manager_sees_their_team_but_not_another(make_user, manager):
    mine, theirs = make_user(team="EMEA"), make_user(team="AMER")
    assert services.my_onboarding(mine.id, actor=manager).user.id == mine.id
    with pytest.raises(NotFound):
        services.my_onboarding(theirs.id, actor=manager)


def test_hiring_hooks_list_paths_assign_path_and_modules_tagged(make_path, make_module, make_user, admin):
    path = make_path()
    empathy = make_module(title="Listening", tags=["empathy", "calls"])
    make_module(title="Untagged")
    assert [p.id for p in services.list_paths()] == [path.id]
    assert [m.id for m in services.modules_tagged(["Empathy", "drive"])] == [empathy.id]
    assert services.modules_tagged([]) == []
    hire = make_user(start_date=date(2026, 5, 4), role=Role.MEMBER)
    assert len(services.assign_path(hire.id, path.id, actor=admin)) == 2
