"""Fixtures for metrics tests: two reps the fixture files name, and a one-call CSV import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from kms.auth import SYSTEM
from kms.auth.models import Role
from kms.extensions import unit_of_work
from kms.metrics import services

DATA = Path(__file__).parent / "data"


@pytest.fixture
def reps(make_user):
    """Ana and Ben, the reps the fixture exports name (by e-mail or by full name)."""
    return {
        "ana": make_user(Role.MEMBER, email="ana@example.test", name="Ana Lopez"),
        "ben": make_user(Role.MEMBER, email="ben@example.test", name="Ben Okafor"),
    }


@pytest.fixture
def import_csv(app):
    """Import bytes (or a fixture file name) in one unit of work, as `kms metrics import` does."""

    def run(data: bytes | str, *, preset=None, max_mb=5, time_zone="UTC", skip_unknown=False):
        raw = (DATA / data).read_bytes() if isinstance(data, str) else data
        with unit_of_work():
            return services.import_csv(
                io.BytesIO(raw),
                services.mapping_for(preset=preset),
                actor=SYSTEM,
                max_bytes=max_mb * 1024 * 1024,
                time_zone=time_zone,
                skip_unknown=skip_unknown,
            )

    return run
