"""`kms demo` data for metrics: 90 days of tickets for the demo's EMEA team, so every screen shows something.

Two reps tell the story: Rita clearly outperforms on CSAT (a suggested shadowing host), and Felix's first-contact
resolution dips over the last four weeks while angry tickets rise (a suggested refresher). The others are the
steady middle the rankings compare them with. The starter refresher rules and a quarterly re-certification
cadence come with it. Rows go through the real import (source "demo"), so the daily aggregates are the same
as after a helpdesk upload. Deterministic: the same demo every time.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db
from kms.metrics.services.ingest import import_rows
from kms.metrics.services.jsonrows import MAX_BATCH, rows_from_json
from kms.metrics.services.refreshers import seed_starter_rules, set_cadence
from kms.training.models import Module

DAYS = 90
TEAM = "EMEA"


# name, e-mail local part, who they are, and their profile: (csat good share, fcr share, reopened share,
# mean handle minutes, angry share); `dip` gives the profile of the last 28 days when it differs.
REPS = (
    ("Rita Rockstar", "rita", "rep who clearly outperforms on CSAT", (0.97, 0.86, 0.03, 9.0, 0.02), None),
    ("Felix Falls", "felix", "rep whose FCR dips in the last four weeks", (0.87, 0.80, 0.07, 13.0, 0.03),
     (0.84, 0.52, 0.16, 17.0, 0.12)),
    ("Carla Steady", "carla", "a steady rep", (0.90, 0.79, 0.06, 12.0, 0.03), None),
    ("Ben Baseline", "ben", "a steady rep", (0.89, 0.77, 0.07, 14.0, 0.04), None),
)  # fmt: skip
CHANNELS = ("email", "chat", "phone")


def _tickets(rng: random.Random, email: str, profile, dip, today: date, prefix: str) -> list[dict]:
    rows = []
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back - 1)
        if day.weekday() >= 5:
            continue
        csat, fcr, reopened, handle, angry = dip if dip is not None and back <= 28 else profile
        for n in range(rng.randint(7, 13)):
            moment = datetime.combine(day, time(8, 0), tzinfo=UTC) + timedelta(minutes=rng.randint(0, 540))
            row = {
                "ticket_id": f"{prefix}-{day:%Y%m%d}-{n}",
                "agent_email": email,
                "solved_at": moment.isoformat(),
                "channel": rng.choice(CHANNELS),
                "fcr": rng.random() < fcr,
                "reopened": rng.random() < reopened,
                "handle_minutes": round(rng.lognormvariate(0, 0.5) * handle, 1),
                "tags": "angry refund"
                if rng.random() < angry
                else rng.choice(("billing", "login", "how-to")),
            }
            if rng.random() < 0.45:  # about half the customers answer the survey
                row["csat"] = rng.choice((4, 5)) if rng.random() < csat else rng.choice((1, 2, 3))
            if rng.random() < 0.15:
                good = rng.random() < csat
                row["nps"] = (
                    rng.choice((9, 10))
                    if good and rng.random() < 0.7
                    else rng.choice((7, 8))
                    if good
                    else rng.randint(0, 6)
                )
            rows.append(row)
    return rows


def seed_demo(team, today: date | None = None) -> None:
    """Add the demo reps to the demo's EMEA team, their 90 days of tickets, the starter rules and a cadence."""
    today = today or date.today()
    rng = random.Random(18)
    domain = team.manager.email.split("@", 1)[1]
    people = [(author.email, None, None) for author in team.authors if author.team == TEAM]
    for name, local, who, profile, dip in REPS:
        email = f"{local}@{domain}"
        password = f"demo-{secrets.token_hex(4)}"
        auth_services.create_user(
            email, name, Role.MEMBER, actor=team.admin, password=password, team=TEAM, time_zone="Europe/Oslo",
            start_date=today - timedelta(days=400),
        )  # fmt: skip
        team.logins.append((email, Role.MEMBER.value, password))
        team.about[email] = who
        people.append((email, profile, dip))
    for index, (email, profile, dip) in enumerate(people):
        rows = _tickets(rng, email, profile or (0.9, 0.8, 0.05, 11.0, 0.02), dip, today, f"demo{index}")
        for start in range(0, len(rows), MAX_BATCH):
            batch = rows_from_json({"rows": rows[start : start + MAX_BATCH]}, time_zone="UTC")
            import_rows(batch, source="demo", actor=team.admin, unit="row")
    seed_starter_rules()
    module = db.session.scalar(select(Module).where(Module.slug == "de-escalating-an-angry-customer"))
    if module is not None:
        set_cadence(TEAM, module.id, 3, actor=team.admin)
