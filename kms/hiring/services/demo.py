"""Demo data for hiring: an open role with two candidates, each with an interview assigned to the demo manager
and one demo author, and no scorecards yet, so the whole flow can be tried at once."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kms.config import _resource_dir
from kms.extensions import utcnow
from kms.hiring.services.candidates import create_candidate, create_opening, schedule_interview
from kms.hiring.services.rubric import current_rubric, load_rubric_from

CANDIDATES = [
    ("Jordan Rivera", "jordan.rivera@example.test", "Referral",
     "Five years in hospitality, then two in SaaS support. Asked to be considered for the EMEA team."),
    ("Casey Morgan", "casey.morgan@example.test", "Job board",
     "Support lead at a small e-commerce company; wants to move closer to renewals."),
]


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
        candidate = create_candidate(opening_id=opening.id, name=name, email=email, source=source, notes=notes,
                                     actor=manager)
        schedule_interview(candidate.id, title="Traits interview",
                           scheduled_at=start + timedelta(days=offset, hours=offset * 2),
                           interviewers=[(manager.id, []), (author.id, author_traits)],
                           actor=manager)
