"""Time the debrief and comparison pages as interviewers and candidates grow; prints figures, asserts nothing.

python benchmarks/hiring_debrief.py            # SQLite in a temporary folder
KMS_DATABASE_URL=postgresql+psycopg://... python benchmarks/hiring_debrief.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kms import create_app
from kms.auth import SYSTEM
from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db, unit_of_work
from kms.hiring import services

CONTENT = Path(__file__).resolve().parents[1] / "content"
PASSWORD = "benchmark-password"
RUNS = 15


def scorecard(n: int) -> dict:
    rating = 1 + n % 4
    return {
        "ratings": {
            k: {"rating": rating, "evidence": "Evidence " * 20, "question": "Q?"}
            for k in ("drive", "coachability", "positivity", "empathy")
        },
        "recommendation": ["strong no", "no", "yes", "strong yes"][n % 4],
        "summary": "Summary " * 30,
    }


@unit_of_work()
def build(manager, interviewers: int, candidates: int):
    opening = services.create_opening(f"Role {interviewers}x{candidates}", actor=manager)
    people = [
        auth_services.create_user(
            f"i{interviewers}-{candidates}-{n}@bench.test",
            f"Interviewer {n}",
            Role.AUTHOR,
            actor=SYSTEM,
            password=PASSWORD,
        )[0]
        for n in range(interviewers)
    ]
    first = None
    for c in range(candidates):
        candidate = services.create_candidate(opening_id=opening.id, name=f"Candidate {c}", actor=manager)
        interview = services.schedule_interview(
            candidate.id,
            title="Traits",
            scheduled_at=None,
            interviewers=[(p.id, []) for p in people],
            actor=manager,
        )
        for n, assignment in enumerate(interview.assignments):
            services.submit_scorecard(assignment.id, scorecard(n + c), actor=people[n])
        first = first or candidate.id
    return opening.id, first


def measure(client, url: str) -> tuple[float, int]:
    statements = []

    def listener(*args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", listener)
    times = []
    try:
        for _ in range(RUNS):
            statements.clear()
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return statistics.median(times), len(statements)


def main() -> None:
    folder = tempfile.mkdtemp(prefix="kms-bench-")
    app = create_app(
        {
            "SECRET_KEY": "b" * 40,
            "KMS_INSTANCE_PATH": folder,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "KMS_DATABASE_URL": os.environ.get("KMS_DATABASE_URL", ""),
        }
    )
    with app.app_context():
        db.create_all()
        with unit_of_work():
            services.load_rubric_from(CONTENT)
            manager, _ = auth_services.create_user(
                "lead@bench.test", "Lead", Role.MANAGER, actor=SYSTEM, password=PASSWORD
            )
        client = app.test_client()
        client.post("/login", data={"email": "lead@bench.test", "password": PASSWORD})
        print(
            f"database: {db.engine.url.get_backend_name()}, median of {RUNS} requests, statements per request"
        )
        print(
            f"{'interviewers':>12} {'candidates':>10} {'debrief ms':>11} {'queries':>8} {'compare ms':>11} {'queries':>8}"
        )
        for interviewers, candidates in ((2, 2), (5, 10), (10, 40), (20, 100)):
            opening_id, candidate_id = build(manager, interviewers, candidates)
            debrief = measure(client, f"/hiring/candidates/{candidate_id}/debrief")
            compare = measure(client, f"/hiring/openings/{opening_id}/compare")
            print(
                f"{interviewers:>12} {candidates:>10} {debrief[0]:>11.1f} {debrief[1]:>8} "
                f"{compare[0]:>11.1f} {compare[1]:>8}"
            )
        db.session.remove()
        if db.engine.url.get_backend_name() == "postgresql":
            db.drop_all()


if __name__ == "__main__":
    main()
