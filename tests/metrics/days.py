"""Test helper: write RepDay rows directly (contract C), and their weeks and months, as an import would have
left them."""

from __future__ import annotations

from datetime import date, timedelta

from kms.extensions import db
from kms.metrics.buckets import bucket_index, dump_hist, empty_hist
from kms.metrics.models import RepDay
from kms.metrics.services.aggregate import COUNTERS, apply_periods


def add_days(
    user,
    last: date,
    days: int,
    *,
    tickets=10,
    csat=(8, 10),
    fcr=(7, 10),
    reopened=(1, 10),
    handle=12.0,
    nps=(5, 3, 1),
    angry=0,
) -> None:
    """`days` days ending on `last`, each with the same figures: csat=(good, rated), fcr=(yes, known),
    reopened=(yes, known), every ticket handled in `handle` minutes, nps=(answers, promoters, detractors)."""
    contributions = {}
    for offset in range(days):
        hist = empty_hist()
        hist[bucket_index(handle)] = tickets
        row = RepDay(
            user_id=user.id,
            day=last - timedelta(days=offset),
            tickets=tickets,
            csat_rated=csat[1],
            csat_good=csat[0],
            fcr_known=fcr[1],
            fcr_yes=fcr[0],
            reopened_known=reopened[1],
            reopened_yes=reopened[0],
            handle_count=tickets,
            handle_sum=handle * tickets,
            handle_hist=dump_hist(hist),
            nps_count=nps[0],
            nps_promoters=nps[1],
            nps_detractors=nps[2],
            angry=angry,
        )
        db.session.add(row)
        contributions[(user.id, row.day)] = ([getattr(row, name) for name in COUNTERS], hist)
    db.session.flush()
    apply_periods(contributions)
