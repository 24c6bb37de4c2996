"""Parse the date strings Press TV pages show (Tehran local time) into ISO 8601 with offset."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, tzinfo
from zoneinfo import ZoneInfo

# Each format is a real one from the site (see ../shared/docs/presstv-site.md):
# current layout "Saturday, 15 August 2026 10:30 AM"; Bootstrap "Mon Jan 8, 2018 06:52PM";
# 2012 "Sat Jan 21, 2012 2:4AM" (unpadded minutes); meta DC.Date.Created "3/9/2026 11:50:13 AM".
_FORMATS = (
    "%A, %d %B %Y %I:%M %p",
    "%A, %d %B %Y %H:%M",
    "%A %d %B %Y %H:%M",
    "%d %B %Y %H:%M",
    "%a %b %d, %Y %I:%M%p",
    "%a %b %d, %Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%d %B %Y",
)
# The French site (french.presstv.ir) writes day and month names in French.
_FRENCH = {
    "lundi": "Monday", "mardi": "Tuesday", "mercredi": "Wednesday", "jeudi": "Thursday",
    "vendredi": "Friday", "samedi": "Saturday", "dimanche": "Sunday",
    "janvier": "January", "février": "February", "fevrier": "February", "mars": "March", "avril": "April",
    "mai": "May", "juin": "June", "juillet": "July", "août": "August", "aout": "August",
    "septembre": "September", "octobre": "October", "novembre": "November", "décembre": "December",
    "decembre": "December",
}
_FRENCH_WORD = re.compile(r"\b(" + "|".join(sorted(_FRENCH, key=len, reverse=True)) + r")\b", re.IGNORECASE)
# 2012-2013 pages print "12:49PM GMT": those times are UTC, not Tehran time.
_UTC_SUFFIX = re.compile(r"\s*\b(?:GMT|UTC)\s*$", re.IGNORECASE)
_UPDATED = re.compile(r"\[\s*Updated:\s*([^\]]+?)\s*\]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
# "2:4AM": strptime needs two-digit minutes only in some formats; pad a lone minute digit.
_LONE_MINUTE = re.compile(r"(\d{1,2}):(\d)(?=\s*[AP]M\b|\s*$)", re.IGNORECASE)


def parse_site_datetime(text: str, tz: tzinfo) -> datetime | None:
    """A timezone-aware datetime from one of the site's date strings, or None if none fits."""
    text = _SPACES.sub(" ", text).strip().rstrip(".")
    if not text:
        return None
    text = _FRENCH_WORD.sub(lambda m: _FRENCH[m.group(1).lower()], text)
    if _UTC_SUFFIX.search(text):
        text, tz = _UTC_SUFFIX.sub("", text), UTC
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
