"""Cell values -> ticket fields: each converter takes the text of one cell and returns the stored value, or
raises ValueError with a message that completes "line 17, column csat: ...". Empty text means "not measured".

Converters are plain functions chosen once per file (see presets.py), so a row costs a few calls, not lookups.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_TICKET_ID = 120
MAX_CHANNEL = 40
MAX_CSAT_RAW = 40
MAX_TAGS = 2000

YES = frozenset({"yes", "y", "true", "1", "t"})
NO = frozenset({"no", "n", "false", "0", "f"})
# Word ratings of the helpdesks kms has presets for; None = a survey sent but not answered (not rated).
CSAT_WORDS: dict[str, bool | None] = {
    "good": True,
    "bad": False,
    "good with comment": True,  # Zendesk
    "bad with comment": False,
    "offered": None,  # Zendesk: survey sent, no answer
    "unoffered": None,  # Zendesk: no survey sent
    "awesome": True,  # Freshdesk classic survey: Awesome / Just okay (Neutral) / Not good
    "happy": True,
    "just okay": False,
    "neutral": False,
    "not good": False,
    "unhappy": False,
    "positive": True,
    "negative": False,
}
CSAT_SCALES = ("auto", "good_bad", "1-5")
# Fast paths for the values nearly every file uses (a dict lookup instead of normalising the text).
_BOOLS = {
    "yes": True,
    "no": False,
    "Yes": True,
    "No": False,
    "YES": True,
    "NO": False,
    "true": True,
    "false": False,
}
_NPS = {str(n): n for n in range(11)}
HANDLE_UNITS = {"minutes": 1.0, "seconds": 1 / 60, "hours": 60.0}

_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?\Z")
_SPACED_OFFSET = re.compile(r"(.*\d)\s+(?:UTC|GMT)?([+-]\d{2}):?(\d{2})\Z")
_DURATION = re.compile(r"(\d+):(\d{2})(?::(\d{2}))?\Z")
_TAG_SPLIT = re.compile(r"[\s,;|]+")


def time_zone(name: str | None) -> ZoneInfo:
    """The zone called `name` (UTC for empty); ValueError naming it when unknown, never a silent UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{name}' is not a time zone kms knows (use a name like Europe/Paris)") from None


def _aware(moment: datetime, tz: ZoneInfo) -> datetime:
    # Without an offset the time is wall-clock time in `tz`; in the hour a clock change repeats, the first.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def parse_when(text: str, tz: ZoneInfo) -> datetime:
    """A solved-at time as aware UTC. Accepted: ISO 8601 with or without offset ("2026-03-01T14:05:00Z",
    "2026-03-01T15:05+01:00"), "YYYY-MM-DD HH:MM[:SS]" with an optional " +0100" / " UTC", US
    "MM/DD/YYYY HH:MM[:SS] [AM|PM]", or a date alone (midnight). Times without an offset are in `tz`."""
    if not text:
        raise ValueError("a date and time is required")
    try:
        return _aware(datetime.fromisoformat(text), tz)
    except ValueError:
        pass
    spaced = _SPACED_OFFSET.match(text)
    if spaced:
        try:
            return _aware(datetime.fromisoformat(f"{spaced[1]}{spaced[2]}:{spaced[3]}"), tz)
        except ValueError:
            pass
    if text.endswith((" UTC", " GMT")):
        try:
            return datetime.fromisoformat(text[:-4]).replace(tzinfo=UTC)
        except ValueError:
            pass
    us = _US_DATE.match(text)
    if us:
        month, day, year = int(us[1]), int(us[2]), int(us[3])
        hour, minute, second = int(us[4] or 0), int(us[5] or 0), int(us[6] or 0)
        if us[7]:
            if not 1 <= hour <= 12:
                raise ValueError(f"'{text}': the hour must be 1-12 with AM/PM")
            hour = hour % 12 + (12 if us[7].lower() == "pm" else 0)
        try:
            return _aware(datetime.combine(date(year, month, day), time(hour, minute, second)), tz)
        except ValueError:
            raise ValueError(f"'{text}' is not a real date and time (month/day/year)") from None
    raise ValueError(
        f"'{text}' is not a date kms reads: use ISO 8601 (2026-03-01T14:05:00Z), "
        "2026-03-01 14:05:00 or 03/01/2026 14:05"
    )


def parse_bool(text: str) -> bool | None:
    """yes/no (also y/n, true/false, 1/0); empty = not measured."""
    if not text:
        return None
    known = _BOOLS.get(text)
    if known is not None:
        return known
    lowered = text.lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    raise ValueError(f"'{text}' is not yes or no")


def parse_count_positive(text: str) -> bool | None:
    """A count (e.g. Zendesk "Reopens") read as yes when above zero."""
    count = _count(text)
    return None if count is None else count > 0


def parse_count_at_most_one(text: str) -> bool | None:
    """A count of agent replies or interactions read as first-contact resolution: yes when at most one."""
    count = _count(text)
    return None if count is None else count <= 1


def _count(text: str) -> int | None:
    if not text:
        return None
    try:
        count = int(float(text))
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None
    if count < 0:
        raise ValueError(f"'{text}' is negative")
    return count


def csat_parser(scale: str):
    """A converter for CSAT on `scale`: "1-5" (4 and 5 are good), "good_bad" (the words in CSAT_WORDS), or
    "auto" (either). It returns (csat_good, csat_raw); a survey sent but not answered is (None, raw)."""
    if scale not in CSAT_SCALES:
        raise ValueError(f"unknown CSAT scale '{scale}'")
    words, numbers = scale in ("auto", "good_bad"), scale in ("auto", "1-5")
    expected = {"auto": "1-5 or good/bad", "good_bad": "good or bad", "1-5": "1-5"}[scale]

    exact = {}
    if words:
        exact.update({w: (good, w) for w in ("good", "bad", "Good", "Bad") for good in [w.lower() == "good"]})
    if numbers:
        exact.update({str(n): (n >= 4, str(n)) for n in range(1, 6)})

    def parse(text: str) -> tuple[bool | None, str | None]:
        if not text:
            return None, None
        known = exact.get(text)
        if known is not None:
            return known
        if len(text) > MAX_CSAT_RAW:
            raise ValueError(f"'{text[:MAX_CSAT_RAW]}...' is not {expected}")
        if words:
            lowered = " ".join(text.lower().replace("_", " ").split())
            if lowered in CSAT_WORDS:
                return CSAT_WORDS[lowered], text
        if numbers:
            try:
                number = float(text.replace(",", "."))
            except ValueError:
                number = None
            if number is not None and number.is_integer() and 1 <= number <= 5:
                return number >= 4, text
        raise ValueError(f"'{text}' is not {expected}")

    return parse


def parse_nps(text: str) -> int | None:
    """An NPS answer, a whole number 0-10."""
    if not text:
        return None
    known = _NPS.get(text)
    if known is not None:
        return known
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        number = None
    if number is None or not number.is_integer() or not 0 <= number <= 10:
        raise ValueError(f"'{text}' is not a whole number from 0 to 10")
    return int(number)


def duration_parser(unit: str):
    """A converter for handle time given in `unit` (minutes, seconds or hours) as minutes; "h:mm" and
    "h:mm:ss" are read as durations whatever the unit. A decimal comma is accepted."""
    if unit not in HANDLE_UNITS:
        raise ValueError(f"unknown time unit '{unit}'")
    factor = HANDLE_UNITS[unit]

    def parse(text: str) -> float | None:
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            clock = _DURATION.match(text)
            if clock:
                return int(clock[1]) * 60 + int(clock[2]) + int(clock[3] or 0) / 60
            if "," not in text or "." in text:
                raise ValueError(f"'{text}' is not a number of {unit}") from None
            try:
                number = float(text.replace(",", "."))  # a decimal comma
            except ValueError:
                raise ValueError(f"'{text}' is not a number of {unit}") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"'{text}' is not a number of {unit} (it must be 0 or more)")
        return number * factor

    return parse


def parse_ticket_id(text: str) -> str:
    if not text:
        raise ValueError("the ticket id is required")
    if len(text) > MAX_TICKET_ID:
        raise ValueError(f"the ticket id is longer than {MAX_TICKET_ID} characters")
    return text


def parse_agent(text: str) -> str:
    if not text:
        raise ValueError("the rep (agent e-mail or name) is required")
    return text


def parse_channel(text: str) -> str:
    if len(text) > MAX_CHANNEL:
        raise ValueError(f"'{text[:MAX_CHANNEL]}...' is longer than {MAX_CHANNEL} characters")
    return text.lower()


def parse_tags(text: str) -> str:
    """Tags separated by spaces, commas, semicolons or bars, lowercased, stored space-separated."""
    if not text:
        return ""
    if text.isalnum() and text.islower():
        return text  # one plain tag, the common case
    tags = " ".join(tag for tag in _TAG_SPLIT.split(text.lower()) if tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"the tags are longer than {MAX_TAGS} characters")
    return tags
