"""Parse the date strings Press TV pages show (Tehran local time) into ISO 8601 with offset."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

# Each format is a real one from the site (see ../shared/docs/presstv-site.md):
# current layout "Saturday, 15 August 2026 10:30 AM"; Bootstrap "Mon Jan 8, 2018 06:52PM";
# 2012 "Sat Jan 21, 2012 2:4AM" (unpadded minutes); meta DC.Date.Created "3/9/2026 11:50:13 AM".
_FORMATS = (
    "%A, %d %B %Y %I:%M %p",
    "%A, %d %B %Y %H:%M",
    "%a %b %d, %Y %I:%M%p",
    "%a %b %d, %Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%d %B %Y",
)
_UPDATED = re.compile(r"\[\s*Updated:\s*([^\]]+?)\s*\]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# "2:4AM": strptime needs two-digit minutes only in some formats; pad a lone minute digit.
_LONE_MINUTE = re.compile(r"(\d{1,2}):(\d)(?=\s*[AP]M\b|\s*$)", re.IGNORECASE)


def parse_site_datetime(text: str, tz: ZoneInfo) -> datetime | None:
    """A timezone-aware datetime from one of the site's date strings, or None if none fits."""
    text = _SPACES.sub(" ", text).strip().rstrip(".")
    if not text:
        return None
    text = _LONE_MINUTE.sub(lambda m: f"{m.group(1)}:0{m.group(2)}", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None:
        for fmt in _FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed


def split_updated(text: str) -> tuple[str, str | None]:
    """Split a Bootstrap date line into (published text, updated text or None)."""
    match = _UPDATED.search(text)
    if not match:
        return text.strip(), None
    return text[: match.start()].strip(), match.group(1)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, seconds precision."""
    return value.isoformat(timespec="seconds") if value else None


def date_at_midnight(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of a calendar day in the site's zone (used when only the URL's date is known)."""
    return datetime.combine(day, time(0, 0), tzinfo=tz)
