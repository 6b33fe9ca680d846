"""Time zones: a wall-clock time a person typed, as UTC, with one rule for the hours daylight saving skips or
repeats.

A time the clocks skip (02:30 on the night they go forward) names no moment; a time they repeat (01:30 on the
night they go back) names two. Guessing would put a meeting an hour off without anyone noticing, so both are
refused with a message that says why and names the field, and the person chooses another time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from kms.errors import Invalid


@cache
def known_zones() -> frozenset[str]:
    """Every zone name the system has; read once, when first asked (the scan takes ~13 ms)."""
    return frozenset(available_timezones())


def zone(name: str | None) -> ZoneInfo:
    """The zone called `name`; UTC when it is empty or unknown (old data, a zone the system no longer has)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_to_utc(naive: datetime, tz_name: str | None, field: str = "starts_at") -> datetime:
    """A wall-clock time in a zone as a UTC instant; Invalid (naming `field`) for a time daylight saving skips
    or repeats."""
    tz = zone(tz_name)
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return early.astimezone(UTC)
    when = f"{naive:%H:%M} on {naive:%Y-%m-%d}"
    if early.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        raise Invalid(
            f"{when} does not exist in {tz.key}: the clocks skip that hour. Choose another time.", field=field
        )
    raise Invalid(
        f"{when} happens twice in {tz.key}: the clocks go back that night. Choose a time outside that hour.",
        field=field,
    )


def local_label(moment: datetime, tz_name: str | None) -> str:
    """A moment as a person reads it in their own zone, naming the zone: "Tue 8 Dec 2026, 10:00 (Europe/Oslo)"."""
    tz = zone(tz_name)
    local = moment.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({tz.key})"
