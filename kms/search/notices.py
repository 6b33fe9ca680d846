"""The weekly "searches that found nothing" digest to authors, read from the search gap report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from kms.auth.models import Role, User
from kms.extensions import db
from kms.notify.services import notify
from kms.search.services import gap_report

DIGEST_DAYS = 7
DIGEST_LIMIT = 15  # the most asked; the gap report page has the rest


def send_gap_digest(now: datetime, *, actor) -> int:
    """Tell every active author what people searched for this past week and found nothing or little for (the
    gap report: asked by several people, no result opened). Nothing is sent in a week without gaps; each author
    gets one digest per ISO week."""
    gaps = gap_report(days=DIGEST_DAYS, limit=DIGEST_LIMIT, now=now)
    if not gaps:
        return 0
    authors = list(
        db.session.scalars(
            select(User).where(User.active.is_(True), User.role == Role.AUTHOR).order_by(User.id)
        )
    )
    if not authors:
        return 0
    year, week, _ = now.isocalendar()
    lines = [
        f"“{gap.query}”: {gap.searches} search(es) by {gap.askers} people"
        + (", best had " + str(gap.best_results) + " result(s)" if gap.best_results else ", nothing found")
        + (" (a process exists)" if gap.process_exists else "")
        for gap in gaps
    ]
    return notify(
        authors,
        "search.gap_digest",
        title=f"Searches that found nothing this week: {len(gaps)}",
        body="What readers looked for and did not find. Document it, or dismiss what is not a gap.\n\n"
        + "\n".join(lines),
        actor=actor,
        link=("search.gaps", {}),
        context={
            "gaps": [
                {
                    "query": gap.query,
                    "searches": gap.searches,
                    "askers": gap.askers,
                    "best_results": gap.best_results,
                    "process_exists": gap.process_exists,
                }
                for gap in gaps
            ],
            "days": DIGEST_DAYS,
        },
        dedupe_key=f"week:{year}-W{week:02d}",
    )
