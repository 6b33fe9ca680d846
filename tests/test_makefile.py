"""The Makefile's promises: `make run` installs only what running needs, `make test` adds the test extras, and
`make demo` works in its own instance folder (read from `make --dry-run`, so nothing is installed or run)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def planned(target: str) -> list[str]:
    """The commands `make TARGET` would run from scratch (every prerequisite treated as out of date)."""
    done = subprocess.run(
        ["make", "--dry-run", "--always-make", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return done.stdout.splitlines()


def installs(commands: list[str]) -> list[str]:
    return [line for line in commands if "pip install" in line and "--upgrade pip" not in line]


def test_make_run_installs_kms_without_the_test_extras():
    commands = installs(planned("run"))
    assert commands and all("[test]" not in line for line in commands)


def test_make_run_serves_the_site_with_the_worker_for_scheduled_jobs():
    serve = [line for line in planned("run") if "kms serve" in line]
    assert len(serve) == 1 and "--with-worker" in serve[0]


def test_make_test_installs_the_test_extras_with_its_own_stamp():
    commands = planned("test")
    assert any(".[test]" in line for line in installs(commands))
    run_stamp = next(line for line in planned("run") if line.startswith("touch"))
    test_stamp = next(line for line in commands if line.startswith("touch"))
    assert run_stamp != test_stamp  # so a `make test` after `make run` still adds the extras


def test_make_demo_resets_and_serves_its_own_instance_never_the_real_one():
    commands = planned("demo")
    demo = [line for line in commands if "kms demo" in line or "kms serve" in line]
    assert len(demo) == 2
    assert all("KMS_INSTANCE_PATH=instance-demo" in line and "-u KMS_DATABASE_URL" in line for line in demo)
    assert "rm -rf instance-demo" in commands
    assert not [line for line in commands if "rm " in line and "instance-demo" not in line]
