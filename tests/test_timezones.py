"""One rule for a wall-clock time a person types (kms.timezones): read in their zone, and refused with a
message naming the field when daylight saving skips that time or repeats it.
Training and hiring both use it."""

from datetime import UTC, datetime

import pytest

from kms.errors import Invalid
from kms.timezones import local_to_utc, zone


@pytest.mark.parametrize(
    "name, typed, utc",
    [
        ("Europe/Oslo", datetime(2026, 1, 15, 9, 30), datetime(2026, 1, 15, 8, 30, tzinfo=UTC)),  # winter, +1
        ("Europe/Oslo", datetime(2026, 7, 1, 9, 30), datetime(2026, 7, 1, 7, 30, tzinfo=UTC)),  # summer, +2
        ("America/New_York", datetime(2026, 3, 8, 3, 0), datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),  # after gap
        ("America/New_York", datetime(2026, 11, 1, 2, 0), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),
    ],
)
def test_an_ordinary_time_becomes_the_utc_instant_it_names(name, typed, utc):
    assert local_to_utc(typed, name) == utc


@pytest.mark.parametrize(
    "name, typed",
    [
        ("Europe/Oslo", datetime(2026, 3, 29, 2, 30)),  # clocks go 02:00 -> 03:00
        ("America/New_York", datetime(2026, 3, 8, 2, 30)),  # clocks go 02:00 -> 03:00
    ],
)
def test_a_time_the_clocks_skip_is_refused_naming_the_field_and_the_zone(name, typed):
    with pytest.raises(Invalid) as refused:
        local_to_utc(typed, name, "scheduled_at")
    assert refused.value.field == "scheduled_at"
    assert f"02:30 on {typed:%Y-%m-%d} does not exist in {name}" in refused.value.message
    assert "Choose another time" in refused.value.message


@pytest.mark.parametrize(
    "name, typed",
    [
        ("Europe/Oslo", datetime(2026, 10, 25, 2, 30)),  # clocks go 03:00 -> 02:00
        ("America/New_York", datetime(2026, 11, 1, 1, 30)),  # clocks go 02:00 -> 01:00
    ],
)
def test_a_time_the_clocks_repeat_is_refused_naming_the_field_and_the_zone(name, typed):
    with pytest.raises(Invalid) as refused:
        local_to_utc(typed, name, "starts_at")
    assert refused.value.field == "starts_at"
    assert f"happens twice in {name}" in refused.value.message


def test_an_empty_or_unknown_zone_reads_the_time_as_utc():
    assert zone("") == zone(None) == zone("Not/AZone") == zone("UTC")
    assert local_to_utc(datetime(2026, 3, 29, 2, 30), "Not/AZone") == datetime(2026, 3, 29, 2, 30, tzinfo=UTC)
