"""The weekly digest of searches that found nothing: to active authors, once a week, and not in a quiet week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kms.auth.models import Role
from kms.extensions import db
from kms.search.models import SearchLog
from tests.notify_kinds.support import inbox, run_job


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # gap_report's SQL is tested in tests/search
def test_the_gap_digest_goes_to_authors_once_a_week(app, make_user):
    writer, retired = make_user(Role.AUTHOR), make_user(Role.AUTHOR)
    retired.active = False
    manager, member = make_user(Role.MANAGER), make_user(Role.MEMBER)
    # A Wednesday noon: an hour later is the same ISO week whichever day the suite runs (on a Sunday night
    # `utcnow() + 1 h` is next week, which rightly gets a digest of its own).
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    run_job(app, "search-gap-digest", now)
    assert inbox("search.gap_digest") == {}  # nothing searched: nothing sent
    for asker in ("a", "b", "c"):
        db.session.add(
            SearchLog(
                query="chargeback form",
                normalized="chargeback form",
                results=0,
                role="member",
                asker=asker,
                created_at=now - timedelta(days=1),
            )
        )
    db.session.commit()
    run_job(app, "search-gap-digest", now)
    run_job(app, "search-gap-digest", now + timedelta(hours=1))
    got = inbox("search.gap_digest")
    assert list(got) == [writer.id]
    assert retired.id not in got and manager.id not in got and member.id not in got
    [digest] = got[writer.id]
    assert "chargeback form" in digest.body and "3 search(es) by 3 people" in digest.body
    assert digest.link == ("search.gaps", {})
