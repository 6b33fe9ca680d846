"""Hiring fixtures: the starter rubric, and a small hiring process built through the services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from kms.auth.models import Role, User
from kms.extensions import db
from kms.hiring import services
from kms.hiring.models import Candidate, Opening

CONTENT = Path(__file__).resolve().parents[2] / "content"
TRAITS = ["drive", "coachability", "positivity", "empathy"]


@pytest.fixture
def rubric(app):
    """The four traits from content/hiring, as rubric version 1."""
    version = services.load_rubric_from(CONTENT)
    db.session.commit()  # the test is the caller: it owns the transaction
    return version


def full_scorecard(rating: int = 3, recommendation: str = "yes", **overrides) -> dict:
    """Scorecard input rating every trait the same, with evidence everywhere."""
    ratings = {
        key: {
            "rating": rating,
            "question": f"Asked about {key}",
            "evidence": f"Said something about {key}",
            "red_flags": [],
        }
        for key in TRAITS
    }
    for key, value in overrides.items():
        ratings[key] = {**ratings[key], **value}
    return {"ratings": ratings, "recommendation": recommendation, "summary": "A clear summary."}


@dataclass
class Process:
    manager: User
    first: User  # author, interviewer
    second: User  # member, interviewer
    opening: Opening
    candidate: Candidate
    first_assignment: int
    second_assignment: int


@pytest.fixture
def make_process(app, rubric, make_user):
    """A factory: an opening with one candidate interviewed by two people (each call makes new ones)."""

    def make(manager=None, name="Robin Candidate-Quill", interviewers=None, opening=None) -> Process:
        manager = manager or make_user(Role.MANAGER, name="Hilda Manager", team="EMEA")
        people = interviewers or [
            make_user(Role.AUTHOR, name="Ivan Interviewer"),
            make_user(Role.MEMBER, name="Mia Member-Interviewer"),
        ]
        opening = opening or services.create_opening("Customer Success Manager", "EMEA", actor=manager)
        candidate = services.create_candidate(
            opening_id=opening.id,
            name=name,
            email="robin@example.test",
            phone="+47 555 0101",
            source="Referral",
            notes="Private notes",
            actor=manager,
        )
        interview = services.schedule_interview(
            candidate.id,
            title="Traits interview",
            scheduled_at=None,
            interviewers=[(p.id, []) for p in people],
            actor=manager,
        )
        db.session.commit()
        ids = [a.id for a in interview.assignments]
        return Process(
            manager,
            people[0],
            people[1] if len(people) > 1 else people[0],
            opening,
            candidate,
            ids[0],
            ids[1] if len(ids) > 1 else ids[0],
        )

    return make


@pytest.fixture
def process(make_process) -> Process:
    return make_process()
