"""Demo data for `kms demo`: the 30-day path for the new hires, two hosts, planned shadowing, some progress."""

from __future__ import annotations

from datetime import time

from sqlalchemy import select

from kms.extensions import db
from kms.training.models import Path
from kms.training.services.catalog import get_module
from kms.training.services.learning import complete_lesson, submit_quiz
from kms.training.services.progress import assign_path
from kms.training.services.shadowing import (
    PlannedSession,
    confirm_plan,
    propose_plan,
    sessions_for,
    set_availability,
    set_host,
    set_session_status,
)

WORKDAY = [(day, time(9, 0), time(12, 0)) for day in range(5)] + [
    (day, time(13, 0), time(17, 0)) for day in range(5)
]


def _pass_quiz(module, learner) -> None:
    answers = {q.id: [c.id for c in q.choices if c.correct] for q in module.questions}
    submit_quiz(module.id, answers, actor=learner)


def seed_demo(team) -> None:
    """Needs the starter training content (imported with the handbook); does nothing without the 30-day path."""
    path = db.session.scalar(select(Path).where(Path.slug == "csm-first-30-days"))
    if path is None:
        return
    admin = team.admin
    for host in team.authors[:2]:
        set_host(host.id, note="Top performer: happy to be shadowed.", actor=admin)
        set_availability(host.id, WORKDAY, actor=admin)
    for hire in team.new_hires:
        assign_path(hire.id, path.id, actor=admin)
        plan = propose_plan(
            hire.id,
            days=path.shadow_days or 2,
            sessions_per_day=path.shadow_sessions_per_day or 4,
            minutes=path.shadow_minutes or 90,
            actor=admin,
        ).proposals
        if plan:
            formats = ["live calls", "ticket queue", "screen share"]
            confirm_plan(
                hire.id,
                [
                    PlannedSession(
                        p.host_id,
                        p.starts_at,
                        p.ends_at,
                        focus="Real cases from the queue",
                        format=formats[i % 3],
                    )
                    for i, p in enumerate(plan)
                ],
                actor=admin,
            )
    steps = [step.module for step in path.steps]
    veteran, newest = team.new_hires[1], team.new_hires[0]
    # Omar has been here ten days: two modules done, shadowing under way.
    for module in steps[:2]:
        module = get_module(module.id, actor=veteran)
        for lesson in module.lessons:
            complete_lesson(lesson.id, acknowledge=lesson.acknowledge, actor=veteran)
        if module.questions:
            _pass_quiz(module, veteran)
    for session in sessions_for(veteran.id, actor=admin)[:3]:
        set_session_status(session.id, "done", actor=admin)
    # Nina started three days ago: one lesson done.
    first = get_module(steps[0].id, actor=newest)
    if first.lessons:
        complete_lesson(first.lessons[0].id, acknowledge=first.lessons[0].acknowledge, actor=newest)
