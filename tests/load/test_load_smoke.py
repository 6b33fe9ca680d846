"""The load script's smoke run (what CI runs): a short mixed load on a real 2-worker server, zero errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_load(tmp_path: Path, *options: str) -> dict:
    """Run benchmarks/load.py with `options` (and --smoke); its JSON summary. Fails with its output if it fails."""
    figures = tmp_path / "load.json"
    done = subprocess.run(
        [sys.executable, "benchmarks/load.py", *options, "--smoke", "--json", str(figures)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    print(done.stdout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(figures.read_text())


def test_a_short_mixed_load_on_two_workers_has_no_errors_and_loses_no_save(database, tmp_path):
    summary = run_load(
        tmp_path, "--duration", "10", "--users", "20", "--ceiling-seconds", "3", "--database", database
    )
    assert summary["errors"] == 0 and summary["server_log"]["database is locked"] == 0
    assert sum(page["requests"] for page in summary["pages"].values()) > 100
    assert any(label.startswith("POST") and page["requests"] for label, page in summary["pages"].items())
    assert summary["checks"] and all(check["passed"] for check in summary["checks"])


def test_the_article_page_measurement_reports_its_rates_and_each_workers_share(tmp_path):
    summary = run_load(
        tmp_path, "--article-only", "--rounds", "1", "--ceiling-seconds", "1.5", "--users", "24"
    )
    assert summary["errors"] == 0 and summary["article_rps"] > 0 and summary["ceiling_rps"] > 0
    # Each round's CPU per worker is reported, and neither worker sat idle (tests/test_serve.py checks the
    # spread of connections itself).
    for name, rounds in summary["worker_cpu_split"].items():
        assert rounds and all(len(split) == 2 and min(split) > 0.05 * max(split) for split in rounds), name
