"""`kms demo`: a small demo team, and each feature's demo data around it, so every page has something to show."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from kms.auth import SYSTEM
from kms.auth import services as auth_services
from kms.auth.models import Role, User
from kms.errors import Forbidden
from kms.extensions import unit_of_work

DEMO_DOMAIN = "demo.kms.test"


@dataclass
class DemoTeam:
    admin: User
    manager: User
    authors: list[User]
    new_hires: list[User]
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (email, role, password)
    about: dict[str, str] = field(default_factory=dict)  # email -> who they are in the demo


def _people() -> list[tuple[str, Role, str, int | None, str]]:
    # (name, role, team, start offset in days for new hires, who they are in the demo)
    return [
        ("Alex Admin", Role.ADMIN, "Ops", None, "runs the site"),
        ("Morgan Manager", Role.MANAGER, "EMEA", None, "the manager: team view, shadowing, hiring"),
        ("Ada Author", Role.AUTHOR, "EMEA", None, "the interviewer (and an author, shadowing host)"),
        ("Sam Senior", Role.AUTHOR, "AMER", None, "author, shadowing host"),
        ("Nina New", Role.MEMBER, "EMEA", -3, "the new hire, 3 days in"),
        ("Omar Onboarding", Role.MEMBER, "EMEA", -10, "new hire, 10 days in"),
        ("Priya Fresh", Role.MEMBER, "AMER", 4, "new hire, starts in 4 days"),
    ]


def create_demo_team(today: date | None = None) -> DemoTeam:
    """Create the demo users; refused when any user exists, so it never mixes with real accounts."""
    if auth_services.user_count():
        raise Forbidden("kms demo only runs on a site with no users yet; this one has users.")
    today = today or date.today()
    made: dict[Role, list[User]] = {role: [] for role in Role}
    logins, about = [], {}
    for name, role, team, start, who in _people():
        email = f"{name.split()[0].lower()}@{DEMO_DOMAIN}"
        password = f"demo-{secrets.token_hex(4)}"
        user, _ = auth_services.create_user(
            email,
            name,
            role,
            actor=SYSTEM,
            password=password,
            team=team,
            start_date=today + timedelta(days=start) if start is not None else None,
            time_zone="Europe/Oslo" if team == "EMEA" else "America/New_York",
        )
        made[role].append(user)
        logins.append((email, role.value, password))
        about[email] = who
    return DemoTeam(
        admin=made[Role.ADMIN][0],
        manager=made[Role.MANAGER][0],
        authors=made[Role.AUTHOR],
        new_hires=made[Role.MEMBER],
        logins=logins,
        about=about,
    )


def _feature_seeders():
    # Each feature adds its demo data around the team, in dependency order.
    from kms.articles.services import seed_demo as seed_handbook
    from kms.hiring.services import seed_demo as seed_hiring
    from kms.metrics.services.demo import seed_demo as seed_metrics
    from kms.training import services as training

    return [seed_handbook, training.seed_demo, seed_hiring, seed_metrics]


def create_demo(today: date | None = None) -> DemoTeam:
    """The whole demo (team and every feature's data) in one transaction: all of it or nothing."""
    with unit_of_work():
        team = create_demo_team(today)
        for seed in _feature_seeders():
            seed(team)
    return team
