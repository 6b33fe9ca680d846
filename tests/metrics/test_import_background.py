"""A large file uploaded on the import page is imported in the background: the person is sent to a page that shows
how far the import is (and reloads itself), then how it ended; a refused file brings the form back with the file
and the choices kept; the database is as before unless the whole file was imported."""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time

import pytest
from sqlalchemy import func, select

from kms.auth.models import Role
from kms.extensions import db
from kms.metrics.models import RepDay, Ticket
from kms.metrics.services import background
from kms.metrics.views import imports
from kms.progress import ProgressFile
from tests.conftest import PASSWORD, csrf_token_from, login
from tests.metrics.test_ways_in import HEADER, upload

TOKEN_FIELD = 'name="upload" type="hidden" value="'


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    # A few kilobytes stand for the megabytes that go to the background on a real site.
    monkeypatch.setattr(imports, "BACKGROUND_BYTES", 2048)
    yield
    for thread in threading.enumerate():  # no import outlives its test's database
        if thread.name == "kms-metrics-web-import":
            thread.join(30)


def rows(count: int, agent: str = "ana@example.test", start: int = 1) -> str:
    return "".join(
        f"T-{n},{agent},2026-03-{1 + n % 28:02d},email,5,yes,no,12.5,9,\n"
        for n in range(start, start + count)
    )


def tickets() -> int:
    db.session.rollback()  # a fresh look at what the background import committed
    return db.session.scalar(select(func.count()).select_from(Ticket))


def finished(client, location: str, deadline: float = 30.0):
    """GET the run page until the import has ended; the last page."""
    ends = time.monotonic() + deadline
    while True:
        page = client.get(location)
        if 'http-equiv="refresh"' not in page.get_data(as_text=True) or time.monotonic() > ends:
            return page
        time.sleep(0.05)


def test_a_large_file_is_imported_in_the_background_and_its_page_shows_the_outcome(
    app, client, login_as, reps
):
    login_as(Role.MANAGER)
    data = (HEADER + rows(300)).encode()
    started = upload(client, data, submit="Import")
    assert started.status_code == 303
    location = started.headers["Location"]
    assert location.startswith("/metrics/import/runs/")
    page = finished(client, location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "300 rows read; 300 tickets added." in html and "In the background, started by" in html
    assert tickets() == 300
    assert db.session.scalar(select(func.count()).select_from(RepDay)) == 28
    token = location.rsplit("/", 1)[1]
    assert not (imports._uploads() / f"{token}.csv").exists()  # the file goes once imported
    assert TOKEN_FIELD + '"' in html  # and the form offers no kept file


@pytest.mark.parametrize("app_overrides", [{"WTF_CSRF_ENABLED": True}])
def test_a_file_larger_than_the_sites_request_limit_is_taken_up_to_the_metrics_limit(
    app, client, reps, make_user
):
    # The CSRF check reads the body: it must do so under the import page's limit, not every other form's.
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024  # KMS_MAX_REQUEST_KB
    page = client.get("/login").get_data(as_text=True)
    manager = make_user(Role.MANAGER)
    login_form = {"email": manager.email, "password": PASSWORD, "csrf_token": csrf_token_from(page)}
    assert client.post("/login", data=login_form).status_code == 302
    data = (HEADER + rows(1000)).encode()
    assert len(data) > 3 * 16 * 1024
    token = csrf_token_from(client.get("/metrics/import").get_data(as_text=True))
    started = upload(client, data, submit="Import", csrf_token=token)
    assert started.status_code == 303
    assert "1,000 tickets added" in finished(client, started.headers["Location"]).get_data(as_text=True)
    assert tickets() == 1000


def test_a_refused_file_shows_why_keeps_file_and_choices_and_imports_nothing(app, client, login_as, reps):
    login_as(Role.ADMIN)
    data = (HEADER + rows(200) + "T-999,ana@example.test,2026-03-02,,great,,,,,\n").encode()
    started = upload(client, data, time_zone="Europe/Paris", submit="Import")
    html = finished(client, started.headers["Location"]).get_data(as_text=True)
    assert "Nothing was imported" in html and "line 202, column csat: &#39;great&#39; is not 1-5" in html
    assert 'value="Europe/Paris"' in html and '<option selected value="kms">' in html
    assert tickets() == 0


def test_unknown_reps_are_listed_and_the_kept_file_imports_the_others_when_ticked(
    app, client, login_as, reps
):
    login_as(Role.MANAGER)
    data = (HEADER + rows(150) + rows(60, agent="zoe@example.test", start=500)).encode()
    first = finished(client, upload(client, data, submit="Import").headers["Location"])
    html = first.get_data(as_text=True)
    assert "<td>zoe@example.test</td><td>60</td>" in html and tickets() == 0
    token = html.split(TOKEN_FIELD)[1][:32]
    again = upload(client, None, upload=token, skip_unknown="y", submit="Import")
    assert again.status_code == 303  # the kept file, no second upload
    html = finished(client, again.headers["Location"]).get_data(as_text=True)
    assert "150 tickets added" in html and "<td>zoe@example.test</td><td>60</td>" in html
    assert tickets() == 150


def test_an_import_that_waited_too_long_behind_another_save_says_so_and_runs_again(
    app, client, login_as, reps, sqlite_writer
):
    login_as(Role.MANAGER)
    sqlite_writer.execute("BEGIN IMMEDIATE")  # another save that holds SQLite's write lock too long
    started = upload(client, (HEADER + rows(100)).encode(), submit="Import")
    html = finished(client, started.headers["Location"]).get_data(as_text=True)
    assert "another save held the database for too long" in html and "unexpectedly" not in html
    sqlite_writer.execute("ROLLBACK")
    assert tickets() == 0
    token = html.split(TOKEN_FIELD)[1][:32]
    again = upload(client, None, upload=token, submit="Import")
    assert "100 tickets added" in finished(client, again.headers["Location"]).get_data(as_text=True)


def test_the_page_of_a_running_import_shows_how_far_it_is_and_reloads_itself(app, client, login_as):
    login_as(Role.MANAGER)
    token = "ab" * 16
    clock = [time.time() - 10]
    recorded = ProgressFile(
        background.progress_path(imports._uploads() / f"{token}.csv"), "Mia Chen", clock=lambda: clock[0]
    )
    clock[0] += 10
    recorded("import", 24 * 1024 * 1024, 96 * 1024 * 1024)
    page = client.get(f"/metrics/import/runs/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'http-equiv="refresh"' in html
    assert re.search(r"Started by Mia Chen 1\d s ago", html)  # 10 s, and the time this test takes
    assert "Read 24.0 of 96.0 MiB of the file (25%)" in html
    assert '<progress max="100663296" value="25165824">' in html


def test_an_import_whose_process_died_is_shown_stopped_and_another_may_start(app, client, login_as, reps):
    login_as(Role.MANAGER)
    token = "cd" * 16
    (imports._uploads() / f"{token}.csv").write_bytes((HEADER + rows(100)).encode())
    ProgressFile(background.progress_path(imports._uploads() / f"{token}.csv"), "Mia Chen")
    refused = upload(client, (HEADER + rows(100, start=300)).encode(), submit="Import")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "still running on this server" in html
    assert f"/metrics/import/runs/{token}" in html and tickets() == 0
    form_page = client.get("/metrics/import").get_data(as_text=True)
    assert "An import started by Mia Chen is running on this server" in form_page
    assert f'href="/metrics/import/runs/{token}"' in form_page
    ended = subprocess.Popen(["true"])  # the server process running it was killed: its id is gone
    ended.wait()
    recorded = background.progress_path(imports._uploads() / f"{token}.csv")
    recorded.write_text(recorded.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {ended.pid}'))
    html = client.get(f"/metrics/import/runs/{token}").get_data(as_text=True)
    assert "stopped before it finished" in html and "nothing was imported" in html
    assert TOKEN_FIELD + token in html  # its file is kept: Import runs it again
    started = upload(client, None, upload=token, submit="Import")
    assert started.status_code == 303
    assert "100 tickets added" in finished(client, started.headers["Location"]).get_data(as_text=True)
    assert tickets() == 100


def test_only_importers_see_a_run_and_a_made_up_token_is_not_found(app, client, login_as, reps, make_user):
    login_as(Role.MANAGER)
    location = upload(client, (HEADER + rows(100)).encode(), submit="Import").headers["Location"]
    finished(client, location)
    assert client.get("/metrics/import/runs/" + "0" * 32).status_code == 404
    assert client.get("/metrics/import/runs/..%2F..%2Fkms").status_code == 404
    member = app.test_client()
    login(member, make_user(Role.MEMBER))
    assert member.get(location).status_code == 403
