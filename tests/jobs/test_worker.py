"""`kms worker` and `kms jobs` from the command line; workers as real processes killed and stopped."""

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from kms.auth.models import Role
from kms.extensions import db
from kms.jobs import register
from kms.jobs.models import JobLease
from tests.conftest import login

SCRIPT = Path(__file__).with_name("worker_app.py")
ROOT = Path(__file__).parents[2]


def worker_env(app, tmp_path, **extra):
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "KMS_INSTANCE_PATH": str(tmp_path),
        "KMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "KMS_LOAD_STARTER_CONTENT": "0",
        "JOBS_LOG": str(tmp_path / "jobs.log"),
        **{key: str(value) for key, value in extra.items()},
    }


def start(env, *args):
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def log_lines(tmp_path) -> list[str]:
    log = tmp_path / "jobs.log"
    return log.read_text().splitlines() if log.exists() else []


def wait_for_start(tmp_path, count, *processes, timeout=30):
    """Until the slow job has started `count` times in all (the worker processes must stay alive)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(log_lines(tmp_path)) >= count:
            return
        for process in processes:
            assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the job never started")


def row(name):
    db.session.rollback()
    return db.session.get(JobLease, name)


def test_jobs_run_and_list_from_the_command_line(app, runner):
    assert runner.invoke(args=["jobs", "list"]).output.count("last run never") == len(
        app.extensions["kms.jobs"]
    )
    result = runner.invoke(args=["jobs", "run", "hiring-purge"])
    assert result.exit_code == 0 and "Purged 0 rejected candidates" in result.output
    listed = [
        line for line in runner.invoke(args=["jobs", "list"]).output.splitlines() if "hiring-purge" in line
    ]
    assert "every 1 d" in listed[0] and "result Purged 0" in listed[0] and "held by -" in listed[0]
    unknown = runner.invoke(args=["jobs", "run", "nope"])
    assert unknown.exit_code == 1 and "no job named 'nope'" in unknown.output


def test_jobs_run_refuses_a_job_another_worker_holds_unless_forced(app, runner):
    from kms.extensions import unit_of_work
    from kms.jobs.services import try_lease

    with unit_of_work():
        try_lease("hiring-purge", "elsewhere:1:x", 600)
    held = runner.invoke(args=["jobs", "run", "hiring-purge"])
    assert held.exit_code == 1 and "running on another worker" in held.output
    assert "elsewhere:1:x" in runner.invoke(args=["jobs", "list"]).output
    forced = runner.invoke(args=["jobs", "run", "hiring-purge", "--force"])
    assert forced.exit_code == 0 and row("hiring-purge").owner is None


def test_a_failing_job_is_recorded_and_the_next_one_still_runs(app, runner):
    def broken(now):
        raise RuntimeError("smtp down")

    register(app, "broken", broken, every=timedelta(minutes=5), description="test")
    result = runner.invoke(args=["worker", "--once", "--only", "broken", "--only", "hiring-purge"])
    assert "job broken failed" in result.output and "RuntimeError: smtp down" in result.output
    assert "job hiring-purge done" in result.output
    assert row("broken").last_error == "RuntimeError: smtp down" and row("broken").owner is None


def test_the_admin_page_lists_jobs_and_runs_one_now(app, client, make_user):
    login(client, make_user(Role.ADMIN))
    page = client.get("/admin/jobs").get_data(as_text=True)
    assert "hiring-purge" in page and "never" in page and "Run now" in page
    done = client.post("/admin/jobs/hiring-purge/run", follow_redirects=True).get_data(as_text=True)
    assert "Purged 0 rejected candidates" in done
    assert row("hiring-purge").last_finished_at is not None


def test_the_run_now_button_needs_the_csrf_token(app, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    login(client, make_user(Role.ADMIN))
    client.post("/admin/jobs/hiring-purge/run")
    assert row("hiring-purge") is None


@pytest.mark.slow
def test_two_worker_processes_run_a_job_once_and_a_survivor_takes_over_from_a_killed_one(
    app, tmp_path, backend
):
    # Two real `kms worker` processes on one database: exactly one starts the job; killed with SIGKILL while
    # it holds the lease, the other takes the job over once the lease expires; SIGTERM then stops it cleanly.
    if backend["name"] != "postgresql":
        pytest.skip(
            "as servers share one database: on PostgreSQL (test_leases races workers on both databases)"
        )
    env = worker_env(app, tmp_path, SLOW_SECONDS=120, LEASE_SECONDS=3)
    workers = {process.pid: process for process in (start(env, "worker", "--only", "slow") for _ in range(2))}
    try:
        wait_for_start(tmp_path, 1, *workers.values())
        time.sleep(1.5)  # both workers have looked at the job by now (they tick every second)
        assert len(log_lines(tmp_path)) == 1
        holder_pid = int(log_lines(tmp_path)[0].split()[1])
        assert f":{holder_pid}:" in row("slow").owner
        workers.pop(holder_pid).kill()
        (survivor,) = workers.values()
        wait_for_start(tmp_path, 2, survivor)
        assert log_lines(tmp_path)[1] == f"started {survivor.pid}"
        deadline = time.monotonic() + 10
        while row("slow").last_finished_at is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert row("slow").owner is None and row("slow").last_result == f"slow ran in {survivor.pid}"
        survivor.send_signal(signal.SIGTERM)
        out, err = survivor.communicate(timeout=30)
        assert survivor.returncode == 0 and "job slow done" in out and "stopped" in err, err
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.slow
def test_a_worker_started_beside_the_server_stops_when_the_server_is_gone(app, tmp_path, backend):
    # `kms serve --with-worker` (make run) starts the worker with --stop-with-parent: a server stopped alone
    # (SIGTERM from a service manager, a crash) must not leave the worker running on.
    if backend["name"] != "sqlite":
        pytest.skip("process handling does not depend on the database; run once")
    output = tmp_path / "worker.log"
    with output.open("w") as log:
        server = subprocess.Popen(
            ["sh", "-c", '"$0" "$@" & echo "pid $!"; wait', sys.executable, str(SCRIPT), "worker"]
            + ["--only", "slow", "--stop-with-parent"],
            env=worker_env(app, tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_start(tmp_path, 1, server)
        worker_pid = int(re.search(r"pid (\d+)", output.read_text()).group(1))
        server.kill()
        server.wait()
        deadline = time.monotonic() + 15
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker_pid)
        assert "the server process is gone" in output.read_text()
    finally:
        if server.poll() is None:
            server.kill()


def test_serve_has_the_with_worker_option_make_run_uses(runner):
    result = runner.invoke(args=["serve", "--help"])
    assert "--with-worker" in result.output


def _alive(pid: int) -> bool:
    """True while the process runs (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
