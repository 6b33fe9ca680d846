"""Importing into the database: all or nothing, never counted twice, unknown reps reported, presets, aggregates."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from kms.errors import Invalid
from kms.extensions import db
from kms.metrics.buckets import bucket_index, dump_hist, empty_hist, median_from_hist
from kms.metrics.models import HIST_COLUMNS, RepDay, RepPeriod, Ticket
from kms.metrics.services import ingest
from kms.metrics.services.aggregate import COUNTERS, recount
from kms.metrics.services.ingest import DuplicateTicket, UnknownReps

HEADER = "ticket_id,agent_email,solved_at,channel,csat,fcr,reopened,handle_minutes,nps,tags\n"


def tickets() -> dict[str, Ticket]:
    return {t.ticket_id: t for t in db.session.scalars(select(Ticket))}


def day(user, when: date) -> RepDay | None:
    return db.session.get(RepDay, (user.id, when))


def recount_from_tickets() -> dict:
    """metric_rep_days as a plain recount of metric_tickets, computed here independently of the service."""
    days = defaultdict(lambda: defaultdict(int))
    hists = defaultdict(empty_hist)
    for t in db.session.scalars(select(Ticket)):
        d = days[(t.user_id, t.solved_at.astimezone(UTC).date())]
        d["tickets"] += 1
        if t.csat_good is not None:
            d["csat_rated"] += 1
            d["csat_good"] += t.csat_good
        if t.fcr is not None:
            d["fcr_known"] += 1
            d["fcr_yes"] += t.fcr
        if t.reopened is not None:
            d["reopened_known"] += 1
            d["reopened_yes"] += t.reopened
        if t.handle_minutes is not None:
            d["handle_count"] += 1
            d["handle_sum"] += t.handle_minutes
            hists[(t.user_id, t.solved_at.astimezone(UTC).date())][bucket_index(t.handle_minutes)] += 1
        if t.nps is not None:
            d["nps_count"] += 1
            d["nps_promoters"] += t.nps >= 9
            d["nps_detractors"] += t.nps <= 6
        d["angry"] += bool({"angry", "anger", "upset"} & set(t.tags.split()))
    return {key: (dict(d), dump_hist(hists[key])) for key, d in days.items()}


def stored_days() -> dict:
    out = {}
    for r in db.session.scalars(select(RepDay)):
        counts = {
            name: getattr(r, name)
            for name in ("tickets", "csat_rated", "csat_good", "fcr_known", "fcr_yes", "reopened_known",
                         "reopened_yes", "handle_count", "handle_sum", "nps_count", "nps_promoters",
                         "nps_detractors", "angry")
        }  # fmt: skip
        counts = {k: v for k, v in counts.items() if v}
        counts["handle_sum"] = round(counts.get("handle_sum", 0), 6) or None
        out[(r.user_id, r.day)] = (counts, r.handle_hist)
    return out


def normalized(days: dict) -> dict:
    result = {}
    for key, (counts, hist) in days.items():
        counts = {k: v for k, v in counts.items() if v}
        counts["handle_sum"] = round(counts.get("handle_sum", 0), 6) or None
        if counts.get("tickets"):
            result[key] = (counts, hist)
    return result


def test_kms_csv_imports_tickets_and_the_reps_days(reps, import_csv):
    report = import_csv("kms.csv")
    assert (report.rows, report.added, report.updated, report.unchanged) == (4, 4, 0, 0)
    stored = tickets()
    assert stored["K-2"].solved_at == datetime(2026, 3, 2, 16, 40, tzinfo=UTC)
    assert stored["K-2"].csat_good is False and stored["K-2"].csat_raw == "2"
    assert (
        stored["K-3"].csat_good is None and stored["K-3"].fcr is None and stored["K-3"].handle_minutes is None
    )
    assert stored["K-4"].solved_at == datetime(2026, 3, 3, 14, 30, tzinfo=UTC)
    ana = day(reps["ana"], date(2026, 3, 2))
    assert (ana.tickets, ana.csat_rated, ana.csat_good, ana.fcr_yes, ana.reopened_yes) == (2, 2, 1, 1, 1)
    assert (ana.nps_count, ana.nps_promoters, ana.nps_detractors, ana.angry) == (2, 1, 1, 1)
    assert ana.handle_sum == 42.5 and 12.5 <= median_from_hist(ana.handle_hist) <= 30
    ben_hist = json.loads(day(reps["ben"], date(2026, 3, 3)).handle_hist)
    assert sum(ben_hist) == 1 and ben_hist[bucket_index(4)] == 1  # K-3 has no handle time, K-4 took 4 min


def test_a_resent_file_counts_nothing_twice_and_a_corrected_ticket_replaces_its_old_values(reps, import_csv):
    import_csv("kms.csv")
    again = import_csv("kms.csv")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 4
    assert day(reps["ana"], date(2026, 3, 2)).tickets == 2
    corrected = HEADER + "K-1,ben@example.test,2026-03-03T10:00:00Z,email,bad,no,no,5,3,\n"
    report = import_csv(corrected.encode())
    assert (report.added, report.updated) == (0, 1)
    assert day(reps["ana"], date(2026, 3, 2)).tickets == 1
    assert day(reps["ana"], date(2026, 3, 2)).csat_good == 0
    assert day(reps["ben"], date(2026, 3, 3)).tickets == 3
    assert normalized(stored_days()) == normalized(recount_from_tickets())


def test_aggregates_equal_a_recount_after_several_imports(reps, import_csv, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH", 7)  # several batches per file, corrections across batches
    rows = [
        f"A-{n},{('ana' if n % 3 else 'ben')}@example.test,2026-03-{1 + n % 5:02d}T{n % 24:02d}:10:00Z,"
        f"{'chat' if n % 2 else 'email'},{1 + n % 5},{'yes' if n % 4 else 'no'},{'' if n % 5 else 'yes'},"
        f"{(n * 7) % 300 / 2},{n % 11},{'angry' if n % 6 == 0 else 'x'}\n"
        for n in range(60)
    ]
    import_csv((HEADER + "".join(rows[:40])).encode())
    changed = [r.replace(",chat,", ",email,").replace("good", "bad") for r in rows[30:60]]
    changed[0] = changed[0].replace("ana@", "ben@")
    import_csv((HEADER + "".join(changed)).encode())
    import_csv((HEADER + "".join(rows[:10])).encode())
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 60
    assert normalized(stored_days()) == normalized(recount_from_tickets())


def test_a_bad_row_late_in_the_file_leaves_nothing_imported(reps, import_csv, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH", 2)  # earlier batches are already written when the bad row comes
    rows = "".join(f"B-{n},ana@example.test,2026-03-02T10:00:00Z,,good,,,,,\n" for n in range(6))
    with pytest.raises(Invalid, match="line 8, column csat: 'great'"):
        import_csv((HEADER + rows + "B-9,ana@example.test,2026-03-02,,great,,,,,\n").encode())
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert db.session.scalar(select(func.count()).select_from(RepDay)) == 0


def test_a_ticket_id_twice_in_one_file_is_refused_naming_both_lines(reps, import_csv):
    data = HEADER + "D-1,ana@example.test,2026-03-02,,,,,,,\nD-2,ana@example.test,2026-03-02,,,,,,,\n"
    data += "D-1,ben@example.test,2026-03-03,,,,,,,\n"
    with pytest.raises(DuplicateTicket, match="line 4 repeats ticket id 'D-1' from line 2"):
        import_csv(data.encode())
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_unknown_reps_refuse_the_file_listing_them_with_counts(reps, import_csv):
    data = HEADER + "".join(
        f"U-{n},{agent},2026-03-02,,,,,,,\n"
        for n, agent in enumerate(
            ["ana@example.test", "zoe@example.test", "zoe@example.test", "Max Mustermann"]
        )
    )
    with pytest.raises(UnknownReps) as refused:
        import_csv(data.encode())
    assert refused.value.unknown == {"zoe@example.test": 2, "Max Mustermann": 1}
    assert "zoe@example.test (2 tickets), Max Mustermann (1 ticket)" in refused.value.message
    assert "--skip-unknown" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0

    report = import_csv(data.encode(), skip_unknown=True)
    assert report.added == 1 and report.skipped_unknown == {"zoe@example.test": 2, "Max Mustermann": 1}
    assert "3 skipped for 2 unknown reps" in report.summary()


PRESET_CASES = [
    (
        "zendesk",
        {
            "1001": ("ana", True, True, False, 754 / 60, "refund angry"),
            "1002": ("ben", False, False, True, 30.0, "login"),
            "1003": ("ana", None, False, False, None, ""),
            "1004": ("ben", None, True, None, 1.0, ""),
        },
    ),
    (
        "freshdesk",
        {
            "2001": ("ana", True, True, None, 15.0, "refund upset"),
            "2002": ("ben", False, False, None, 90.0, "bug"),
            "2003": ("ana", False, True, None, None, ""),
        },
    ),
    (
        "intercom",
        {
            "3001": ("ana", True, None, None, 10.0, "vip billing"),
            "3002": ("ben", False, None, None, 20.0, "angry"),
            "3003": ("ana", None, None, None, None, ""),
        },
    ),
    (
        "hubspot",
        {"4001": ("ana", None, None, None, 90.0, ""), "4002": ("ben", None, None, None, 15.0, "")},
    ),
]


def test_each_helpdesk_preset_reads_its_export(reps, import_csv):
    for preset, expected in PRESET_CASES:
        report = import_csv(f"{preset}.csv", preset=preset)
        assert report.added == len(expected), preset
        stored = {t.ticket_id: t for t in tickets().values() if t.source == preset}
        for ticket_id, (rep, csat, fcr, reopened, minutes, tags) in expected.items():
            t = stored[ticket_id]
            assert t.user_id == reps[rep].id, (preset, ticket_id)
            assert (t.csat_good, t.fcr, t.reopened, t.tags) == (csat, fcr, reopened, tags), (
                preset,
                ticket_id,
            )
            if minutes is None:
                assert t.handle_minutes is None, (preset, ticket_id)
            else:
                assert t.handle_minutes == pytest.approx(minutes), (preset, ticket_id)
    assert {t.ticket_id: t.nps for t in tickets().values() if t.source == "hubspot"} == {"4001": 9, "4002": 3}
    assert day(reps["ben"], date(2026, 3, 2)).nps_detractors == 1  # HubSpot's NPS 3 on Ben's day


def test_the_export_escapes_formula_cells_stored_as_text(reps, import_csv, runner):
    data = HEADER + '=HYPERLINK("http://evil"),ana@example.test,2026-03-02,@chat,,,,,,+cmd\n'
    import_csv(data.encode())
    assert tickets()['=HYPERLINK("http://evil")'].channel == "@chat"
    out = runner.invoke(args=["metrics", "export"]).output
    line = out.splitlines()[1]
    assert line.startswith('"\'=HYPERLINK(""http://evil"")",ana@example.test,')
    assert ",'@chat," in line and line.endswith(",'+cmd")


def stored_periods() -> dict:
    """metric_rep_periods as {(user, kind, start): ({measure: value}, [bucket counts])}, zeros left out."""
    out = {}
    for r in db.session.scalars(select(RepPeriod)):
        counts = {name: getattr(r, name) for name in COUNTERS if getattr(r, name)}
        counts["handle_sum"] = round(counts.get("handle_sum", 0), 6) or None
        hist = [getattr(r, name) for name in HIST_COLUMNS]
        if counts.get("tickets"):
            out[(r.user_id, r.kind, r.start)] = (counts, hist)
    return out


def periods_from_tickets() -> dict:
    """The weeks (from Monday) and months of a plain recount of metric_tickets, computed here."""
    out: dict = {}
    for (user, when), (counts, hist) in recount_from_tickets().items():
        for kind, start in (("week", when - timedelta(days=when.weekday())), ("month", when.replace(day=1))):
            total, buckets = out.setdefault(
                (user, kind, start), (defaultdict(float), [0] * len(HIST_COLUMNS))
            )
            for name, value in counts.items():
                total[name] += value
            for index, value in enumerate(json.loads(hist)):
                buckets[index] += value
    return {
        key: (
            {k: v for k, v in counts.items() if v} | {"handle_sum": round(counts["handle_sum"], 6) or None},
            h,
        )
        for key, (counts, h) in out.items()
        if counts["tickets"]
    }


def test_weeks_and_months_equal_a_recount_after_corrections_and_resends(reps, import_csv, monkeypatch):
    monkeypatch.setattr(ingest, "BATCH", 5)
    rows = [
        f"P-{n},{('ana' if n % 3 else 'ben')}@example.test,2026-02-{20 + n % 9:02d}T{n % 24:02d}:10:00Z,"
        f"chat,{1 + n % 5},{'yes' if n % 4 else 'no'},,{(n * 13) % 600 / 2},{n % 11},{'angry' if n % 6 == 0 else ''}\n"
        for n in range(30)
    ]
    rows.append(
        "P-30,ben@example.test,2026-03-01T23:59:00Z,email,good,yes,no,3,10,\n"
    )  # Sunday: week of Feb 23
    import_csv((HEADER + "".join(rows)).encode())
    # Corrections: other rep, other day across the month's and a week's boundary, other handle time; re-sends.
    moved = [r.replace("2026-02-2", "2026-03-1").replace("ben@", "ana@") for r in rows[10:20]]
    moved.append(rows[30].replace("2026-03-01T23:59", "2026-02-28T00:01").replace(",3,", ",45,"))
    import_csv((HEADER + "".join(moved)).encode())
    import_csv((HEADER + "".join(rows[:5])).encode())  # re-sent unchanged
    import_csv((HEADER + "".join(rows[12:14])).encode())  # corrected back
    stored = stored_periods()
    assert stored == periods_from_tickets()
    assert {kind for _, kind, _ in stored} == {"week", "month"}
    assert {start.month for _, kind, start in stored if kind == "month"} == {2, 3}
    # A recount from the tickets writes the same weeks and months.
    recount()
    assert stored_periods() == stored
