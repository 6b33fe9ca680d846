"""Coverage numbers on known data: plain, weighted by frequency, per category and owner; what to write next."""

from __future__ import annotations

from datetime import date, timedelta

from kms.articles import services
from kms.articles.models import CoverageSnapshot
from kms.extensions import db, utcnow
from tests.articles.conftest import REAL_TEXT


def known_handbook(make_process, make_article, author):
    # Billing: 3 processes (freq 40, 10, 50), 2 documented (40, 10). Escalations: 2 (freq 5, 95), 1 (5).
    # One retired (freq 1000) that must not count; one draft that must not count.
    for name, category, frequency, documented in (
        ("Refund", "Billing", 40, True),
        ("Invoice", "Billing", 10, True),
        ("Dunning", "Billing", 50, False),
        ("Angry customer", "Escalations", 5, True),
        ("Exec escalation", "Escalations", 95, False),
    ):
        process = make_process(name, category=category, frequency=frequency, owner=author)
        make_article(
            name, REAL_TEXT, category=category, process=process, status="published" if documented else "draft"
        )
    retired = make_process("Fax support", category="Billing", frequency=1000)
    services.retire_process(retired.id, actor=author)


def test_plain_weighted_and_per_category_coverage_on_known_data(make_process, make_article, author):
    known_handbook(make_process, make_article, author)
    numbers = services.coverage(target=80)
    assert (numbers.overall.documented, numbers.overall.total) == (3, 5)
    assert numbers.overall.percent == 60.0
    assert (numbers.overall.weighted_documented, numbers.overall.weighted_total) == (55, 200)
    assert numbers.overall.weighted_percent == 27.5
    by_category = {
        b.label: (b.documented, b.total, b.percent, b.weighted_percent) for b in numbers.by_category
    }
    assert by_category == {"Billing": (2, 3, 66.7, 50.0), "Escalations": (1, 2, 50.0, 5.0)}
    assert [(b.label, b.documented, b.total) for b in numbers.by_owner] == [(author.name, 3, 5)]
    assert not numbers.reached and numbers.processes_to_target == 1


def test_document_next_ranks_undocumented_processes_by_frequency(make_process, make_article, author):
    known_handbook(make_process, make_article, author)
    assert [p.name for p in services.document_next()] == ["Exec escalation", "Dunning"]


def test_my_queue_puts_overdue_target_dates_first(make_process, author):
    make_process("Later", owner=author, frequency=99, target_date=date.today() + timedelta(days=30))
    make_process("Overdue", owner=author, frequency=1, target_date=date.today() - timedelta(days=3))
    make_process("No date", owner=author, frequency=500)
    make_process("Someone else's", frequency=1000)
    assert [p.name for p in services.my_queue(author.id)] == ["Overdue", "Later", "No date"]


def test_publishing_records_todays_snapshot_and_the_trend_carries_it(make_process, make_article, author):
    process = make_process("Refund", frequency=10)
    make_process("Invoice", frequency=30)
    make_article("Refund", REAL_TEXT, process=process)
    snapshot = db.session.get(CoverageSnapshot, utcnow().date())
    assert (snapshot.documented, snapshot.total, snapshot.weighted_documented, snapshot.weighted_total) == (
        1,
        2,
        10,
        40,
    )
    db.session.add(
        CoverageSnapshot(
            day=utcnow().date() - timedelta(days=3),
            documented=0,
            total=2,
            weighted_documented=0,
            weighted_total=40,
        )
    )
    db.session.commit()
    points = services.trend(days=10)
    assert [p.percent for p in points] == [0.0, 0.0, 0.0, 50.0]
    chart = services.trend_chart(points, 80)
    assert chart.line.count(",") == 4


def test_a_stale_article_still_counts_as_documented(make_process, make_article, author):
    process = make_process("Refund")
    article = make_article("Refund", REAL_TEXT, process=process)
    services.mark_verified(article.id, actor=author, at=utcnow() - timedelta(days=400))
    assert services.stale_count() == 1
    assert services.coverage().overall.documented == 1
