"""Time the team view and "My onboarding" with 500 learners x 40 modules x 10 lessons; prints median and p95.

    python benchmarks/training_bench.py [--learners 500] [--modules 40] [--lessons 10] [--runs 20] [--database URL]

Rows are bulk-inserted (not through the services) so setting up takes seconds; every learner has the whole
40-module path assigned, about half the lessons done, quiz attempts and shadowing sessions.

The team view shows 50 learners a page: `GET /training/team` is its first page (what a manager opens), and the
last page is timed too. The CSV export still has every learner, so it measures the whole team.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from kms import create_app  # noqa: E402
from kms.auth.models import Role, User  # noqa: E402
from kms.extensions import db  # noqa: E402
from kms.training.models import (  # noqa: E402
    Assignment,
    Choice,
    Lesson,
    LessonCompletion,
    Module,
    ModuleCompletion,
    PathModule,
    Question,
    QuizAttempt,
    ShadowHost,
    ShadowSession,
)
from kms.training.models import Path as TrainingPath


def build(learners: int, modules: int, lessons: int) -> tuple[int, int]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    db.session.execute(
        insert(User),
        [
            {
                "id": 1,
                "email": "admin@bench.test",
                "name": "Admin",
                "role": Role.ADMIN,
                "team": "EMEA",
                "time_zone": "UTC",
                "active": True,
                "session_token": "t0",
            },
            {
                "id": 2,
                "email": "host@bench.test",
                "name": "Host",
                "role": Role.AUTHOR,
                "team": "EMEA",
                "time_zone": "Europe/Oslo",
                "active": True,
                "session_token": "t1",
            },
        ],
    )
    db.session.execute(
        insert(User),
        [
            {
                "id": 10 + n,
                "email": f"l{n}@bench.test",
                "name": f"Learner {n:03d}",
                "role": Role.MEMBER,
                "team": ["EMEA", "AMER", "APAC"][n % 3],
                "time_zone": "America/New_York",
                "active": True,
                "start_date": date.today() - timedelta(days=n % 60),
                "session_token": f"s{n}",
            }
            for n in range(learners)
        ],
    )
    db.session.execute(insert(ShadowHost), [{"user_id": 2, "active": True, "note": ""}])
    db.session.execute(
        insert(Module),
        [
            {
                "id": m + 1,
                "slug": f"m{m}",
                "title": f"Module {m:02d}",
                "summary": "",
                "intro": "",
                "audience_csv": "member",
                "minutes": 30,
                "status": "published",
                "pass_mark": 80,
                "max_attempts": 0,
            }
            for m in range(modules)
        ],
    )
    db.session.execute(
        insert(Lesson),
        [
            {
                "id": m * lessons + k + 1,
                "module_id": m + 1,
                "position": k,
                "title": f"Lesson {k}",
                "body": "Text",
                "acknowledge": False,
            }
            for m in range(modules)
            for k in range(lessons)
        ],
    )
    db.session.execute(
        insert(Question),
        [
            {
                "id": m + 1,
                "module_id": m + 1,
                "position": 0,
                "text": "Q?",
                "kind": "single",
                "explanation": "",
            }
            for m in range(modules)
        ],
    )
    db.session.execute(
        insert(Choice),
        [
            {"question_id": m + 1, "position": c, "text": f"C{c}", "correct": c == 0}
            for m in range(modules)
            for c in range(3)
        ],
    )
    db.session.execute(
        insert(TrainingPath),
        [
            {
                "id": 1,
                "slug": "csm",
                "title": "CSM",
                "summary": "",
                "role": "member",
                "shadow_days": 2,
                "shadow_sessions_per_day": 4,
                "shadow_minutes": 90,
            }
        ],
    )
    db.session.execute(
        insert(PathModule),
        [{"path_id": 1, "module_id": m + 1, "position": m, "day_offset": m} for m in range(modules)],
    )
    assignments, done, attempts, completions, sessions = [], [], [], [], []
    for n in range(learners):
        uid = 10 + n
        reached = rng.randint(0, modules)
        for m in range(modules):
            due = date.today() - timedelta(days=n % 60) + timedelta(days=m)
            assignments.append(
                {
                    "user_id": uid,
                    "module_id": m + 1,
                    "path_id": 1,
                    "due_on": due,
                    "due_at": datetime.combine(due, datetime.min.time(), tzinfo=UTC),
                    "sequence": 0,
                }
            )
            if m < reached:
                done.extend(
                    {"user_id": uid, "lesson_id": m * lessons + k + 1, "completed_at": now}
                    for k in range(lessons)
                )
                attempts.append(
                    {
                        "module_id": m + 1,
                        "user_id": uid,
                        "submitted_at": now,
                        "correct": 1,
                        "total": 1,
                        "score": 100,
                        "passed": True,
                    }
                )
                completions.append({"user_id": uid, "module_id": m + 1, "completed_at": now})
        for s in range(8):
            start = now + timedelta(days=s // 4, hours=s % 4 * 2, minutes=n)
            sessions.append(
                {
                    "uid": f"b{n}-{s}@kms",
                    "sequence": 0,
                    "trainee_id": uid,
                    "host_id": 2,
                    "starts_at": start,
                    "ends_at": start + timedelta(minutes=90),
                    "focus": "",
                    "format": "live calls",
                    "status": "done" if s < 2 else "scheduled",
                    "trainee_notes": "",
                    "host_feedback": "",
                }
            )
    for model, rows in (
        (Assignment, assignments),
        (LessonCompletion, done),
        (QuizAttempt, attempts),
        (ModuleCompletion, completions),
        (ShadowSession, sessions),
    ):
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(model), rows[start : start + 5000])
    db.session.commit()
    return len(assignments), len(done)


def measure(client, url: str, runs: int) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return timings


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = ordered[max(0, round(len(ordered) * 0.95) - 1)]
    print(f"{label:<52} median {statistics.median(ordered):8.1f} ms   p95 {p95:8.1f} ms   (n={len(ordered)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=500)
    parser.add_argument("--modules", type=int, default=40)
    parser.add_argument("--lessons", type=int, default=10)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--database", default="", help="SQLAlchemy URL of an EMPTY database (default: SQLite)"
    )
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="kms-bench-")
    app = create_app(
        {
            "KMS_INSTANCE_PATH": folder,
            "SECRET_KEY": "bench-" * 8,
            "KMS_DATABASE_URL": args.database,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "KMS_LOAD_STARTER_CONTENT": "0",
        }
    )
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        assignments, completions = build(args.learners, args.modules, args.lessons)
        print(
            f"database: {db.engine.url.get_backend_name()}; {args.learners} learners x {args.modules} modules x "
            f"{args.lessons} lessons: {assignments} assignments, {completions} lesson completions "
            f"(built in {time.perf_counter() - started:.1f} s)"
        )
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = "1:t0"
            session["_fresh"] = True
        client.get("/training/team")  # warm up templates and connections
        last = -(-args.learners // 50)
        report(
            "team view, all teams, page 1 (GET /training/team)", measure(client, "/training/team", args.runs)
        )
        report(
            f"team view, all teams, last page (?page={last})",
            measure(client, f"/training/team?page={last}", args.runs),
        )
        report(
            "team view, one team, page 1 (?team=EMEA)", measure(client, "/training/team?team=EMEA", args.runs)
        )
        report("team CSV export (GET /training/team.csv)", measure(client, "/training/team.csv", args.runs))
        learner = app.test_client()
        with learner.session_transaction() as session:
            session["_user_id"] = "10:s0"
            session["_fresh"] = True
        learner.get("/training/me")
        report("my onboarding, 40 modules (GET /training/me)", measure(learner, "/training/me", args.runs))
        report("API /api/me/onboarding", measure(learner, "/api/me/onboarding", args.runs))


if __name__ == "__main__":
    main()
