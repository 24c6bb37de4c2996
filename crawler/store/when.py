"""Dates and durations as users type them (`2026-01-31`, ISO times, `2d`, `30m`), and UTC keys for the store."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `2d`, `1w`, `45s` or plain seconds; ValueError with a readable message otherwise."""
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 45s, 30m, 2h, 2d, 1w)")
    number = float(match.group(1))
    unit = (match.group(2) or "s").lower()
    seconds = number * _UNIT_SECONDS[unit]
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return timedelta(seconds=seconds)


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_key(value: datetime) -> str:
    """The store's sortable UTC form of a time: `YYYY-MM-DDTHH:MM:SS` (naive times are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_to_utc_key(text: str | None) -> str | None:
    """`utc_key` of an ISO 8601 string from an item (with its offset); None for missing or unreadable."""
    if not text:
        return None
    try:
        return utc_key(datetime.fromisoformat(str(text)))
    except ValueError:
        return None


def parse_when(text: str, now: datetime | None = None) -> str:
    """A user's date for filters as a UTC key: `2026-01-31` (midnight UTC), an ISO time, or a duration
    meaning that long ago (`7d`). ValueError with a readable message otherwise."""
    text = str(text).strip()
    try:
        return utc_key(datetime.combine(date.fromisoformat(text), datetime.min.time()))
    except ValueError:
        pass
    try:
        return utc_key(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        return utc_key((now or utc_now()) - parse_duration(text))
    except ValueError:
        raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD, an ISO 8601 time, or an age such as 7d)") from None
