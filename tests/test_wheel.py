"""A built wheel carries templates, static files, content and migrations, and serves pages from anywhere."""

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_built_wheel_serves_the_setup_page_outside_the_checkout(tmp_path):
    dist, target, instance = tmp_path / "dist", tmp_path / "site", tmp_path / "instance"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    wheel = next(dist.glob("kms-*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    # The wheel's kms comes first; its dependencies come from this environment (no network needed).
    env = {
        "PYTHONPATH": f"{target}{os.pathsep}{sysconfig.get_paths()['purelib']}",
        "PATH": "/usr/bin:/bin",
        "KMS_INSTANCE_PATH": str(instance),
        "KMS_LOAD_STARTER_CONTENT": "0",
    }
    script = (
        "import kms, sys; from kms import create_app; from kms.cli import migrate_database\n"
        "assert 'site' in kms.__file__, kms.__file__\n"
        "app = create_app()\n"
        "with app.app_context(): migrate_database()\n"
        "c = app.test_client(); page = c.get('/setup')\n"
        "css = c.get('/static/kms.css')\n"
        "print(page.status_code, css.status_code, b'Welcome to kms' in page.data)\n"
    )
    result = subprocess.run(
        [sys.executable, "-s", "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["200", "200", "True"]
