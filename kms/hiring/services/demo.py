"""Demo data for hiring: an open role with two candidates, each with an interview assigned to the demo manager
and one demo author and no scorecards yet, so the whole flow can be tried at once; and a third candidate,
interviewed last week, whose scorecards are all submitted, so the debrief has a full picture to show."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kms.config import _resource_dir
from kms.extensions import utcnow
from kms.hiring.services.candidates import create_candidate, create_opening, schedule_interview
from kms.hiring.services.rubric import current_rubric, load_rubric_from
from kms.hiring.services.scorecards import submit_scorecard

CANDIDATES = [
    (
        "Jordan Rivera",
        "jordan.rivera@example.test",
        "Referral",
        "Five years in hospitality, then two in SaaS support. Asked to be considered for the EMEA team.",
    ),
    (
        "Casey Morgan",
        "casey.morgan@example.test",
        "Job board",
        "Support lead at a small e-commerce company; wants to move closer to renewals.",
    ),
]
SCORED = (
    "Taylor Brooks",
    "taylor.brooks@example.test",
    "Careers page",
    "Three years on a telecom helpdesk; interviewed last week, both scorecards are in.",
)
# The interviewers' (rating, question, evidence) for each trait; the author covers only some traits.
MANAGER_CARD = {
    "drive": (
        4,
        "Tell me about a goal you set yourself at work.",
        "Cut the helpdesk's reopened tickets by a third by writing replies for the top ten issues, unasked.",
    ),
    "coachability": (
        3,
        "What feedback changed how you work?",
        "Took a coach's note on over-long replies and showed the shorter template they use now.",
    ),
    "positivity": (
        3,
        "Describe a week when everything went wrong.",
        "Talked about the outage week with humour and named what the team learned from it.",
    ),
    "empathy": (
        2,
        "Walk me through your hardest customer call.",
        "Described the customer's anger mostly as an obstacle; little about what the customer needed.",
    ),
}
AUTHOR_CARD = {
    "coachability": (
        3,
        "Role play: redo the refund reply with my hints.",
        "Used both hints in the second try and asked why the first one helps.",
    ),
    "empathy": (
        4,
        "Role play: a customer who was double-charged.",
        "Apologised for the specific charge, restated the worry about rent money, and gave a date.",
    ),
}


def seed_demo(team, content_dir: Path | None = None) -> None:
    """Add the hiring demo around a kms.demo.DemoTeam (its manager runs the process)."""
    if current_rubric() is None:
        load_rubric_from(content_dir or _resource_dir("content"))
    rubric = current_rubric()
    keys = {t.key for t in rubric.traits} if rubric else set()
    author_traits = ["coachability", "empathy"] if {"coachability", "empathy"} <= keys else []
    manager, author = team.manager, team.authors[0]
    opening = create_opening("Customer Success Manager", "EMEA", actor=manager)
    start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for offset, (name, email, source, notes) in enumerate(CANDIDATES):
        candidate = create_candidate(
            opening_id=opening.id, name=name, email=email, source=source, notes=notes, actor=manager
        )
        schedule_interview(
            candidate.id,
            title="Traits interview",
            scheduled_at=start + timedelta(days=offset, hours=offset * 2),
            interviewers=[(manager.id, []), (author.id, author_traits)],
            actor=manager,
        )
    if keys:
        _seed_scored_candidate(opening.id, manager, author, sorted(keys), author_traits)


def _card(known: dict, keys: list[str], recommendation: str, summary: str) -> dict:
    """A full scorecard for `keys`; a trait of a custom rubric that the demo does not know gets a plain 3."""
    ratings = {}
    for key in keys:
        rating, question, evidence = known.get(key, (3, f"Asked about {key}.", "Gave one concrete example."))
        ratings[key] = {"rating": rating, "question": question, "evidence": evidence, "red_flags": []}
    return {"ratings": ratings, "recommendation": recommendation, "summary": summary}


def _seed_scored_candidate(
    opening_id: int, manager, author, keys: list[str], author_traits: list[str]
) -> None:
    """A candidate interviewed a week ago by the manager and the author, both scorecards submitted."""
    name, email, source, notes = SCORED
    candidate = create_candidate(
        opening_id=opening_id, name=name, email=email, source=source, notes=notes, actor=manager
    )
    held = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    interview = schedule_interview(
        candidate.id,
        title="Traits interview",
        scheduled_at=held,
        interviewers=[(manager.id, []), (author.id, author_traits)],
        actor=manager,
    )
    cards = {
        manager.id: _card(
            MANAGER_CARD, keys, "yes", "Strong drive and coachable; probe empathy in a second conversation."
        ),
        author.id: _card(
            AUTHOR_CARD,
            author_traits or keys,
            "strong yes",
            "Warm and specific in the role play; learns fast.",
        ),
    }
    people = {manager.id: manager, author.id: author}
    for assignment in interview.assignments:
        submit_scorecard(
            assignment.id, cards[assignment.interviewer_id], actor=people[assignment.interviewer_id]
        )
