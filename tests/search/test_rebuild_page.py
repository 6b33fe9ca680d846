"""An admin starts a rebuild of the search index from /search/health and follows its progress there (issue 20)."""

from __future__ import annotations

import re
import time

from kms.auth.models import Role
from kms.search import rebuilds
from tests.conftest import login
from tests.search.test_indexing import author, found, index, new_article  # noqa: F401 - fixtures

__all__ = ["author", "index"]


def test_an_admin_rebuilds_the_index_from_the_health_page_and_sees_its_progress(
    app, index, author, make_user, monkeypatch
):
    new_article(author, title="Refund request", body="Refund steps for billing.")
    client = app.test_client()
    login(client, make_user(Role.ADMIN))
    page = client.get("/search/health").get_data(as_text=True)
    assert "Rebuild the search index" in page and 'http-equiv="refresh"' not in page

    # A rebuild under way (as another worker of this server records it): counts, rate, time left, refreshing.
    clock = [1000.0]
    running = rebuilds.ProgressFile(index.root, "Ada (web)", clock=lambda: clock[0])
    running("documents", 0, 400)
    clock[0] += 10
    running("documents", 100, 400)
    monkeypatch.setattr(rebuilds, "_now", lambda: clock[0])
    page = client.get("/search/health").get_data(as_text=True)
    assert "documents 100 of 400 (25%), 10 a second, about 30 s left" in page
    assert '<meta http-equiv="refresh" content="2">' in page and "Rebuild the search index" not in page
    response = client.post("/search/health/rebuild", data={"confirm": "rebuild"}, follow_redirects=True)
    assert "A rebuild is already running" in response.get_data(as_text=True)  # one at a time
    clock[0] += rebuilds.STALLED_AFTER + 1  # its process died: shown as stopped, and a new one may start
    assert "stopped</strong> at documents 100 of 400" in client.get("/search/health").get_data(as_text=True)
    monkeypatch.undo()

    response = client.post("/search/health/rebuild", data={"confirm": "rebuild"}, follow_redirects=True)
    assert "Rebuilding the search index" in response.get_data(as_text=True)
    deadline = time.monotonic() + 30
    while 'http-equiv="refresh"' in (page := client.get("/search/health").get_data(as_text=True)):
        assert time.monotonic() < deadline, "the rebuild never finished"
        time.sleep(0.05)
    assert re.search(r"done, [\d,]+ documents in [\d.]+ s", page), page
    assert found(index, "refund")
