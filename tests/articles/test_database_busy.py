"""SQLite takes one writer at a time. A save that waits out its busy timeout behind a long write (an import started
from the web or the command line) is answered 503 with Retry-After and what the user typed, never a 500; the same
save goes through once the write is over (RELIABILITY.md, scenario 31)."""

from __future__ import annotations

from sqlalchemy import func, select

from kms.articles.models import Article
from kms.auth.models import Role
from kms.extensions import db
from tests.articles.conftest import REAL_TEXT

ARTICLE = {
    "title": "Refund request",
    "category": "Billing",
    "status": "published",
    "body": "## Steps\n\n" + REAL_TEXT,
    "language": "en",
    "verify_interval_days": "90",
    "tags": "refunds",
    "slug": "",
    "owner_id": "",
    "process_id": "",
    "reason": "",
}


def articles() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Article))


def test_a_save_behind_a_long_write_gets_503_with_the_text_kept_then_goes_through(
    app, client, login_as, categories, sqlite_writer
):
    login_as(Role.AUTHOR)
    sqlite_writer.execute("BEGIN IMMEDIATE")
    refused = client.post("/handbook/new", data=ARTICLE)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "30"
    assert "Not saved: kms is busy" in html and REAL_TEXT[:60] in html and "Refund request" in html
    as_json = client.post("/handbook/new", data=ARTICLE, headers={"Accept": "application/json"})
    assert as_json.status_code == 503 and "busy saving a large import" in as_json.json["error"]
    sqlite_writer.execute("ROLLBACK")
    assert articles() == 0
    saved = client.post("/handbook/new", data=ARTICLE)
    assert saved.status_code == 302 and articles() == 1
