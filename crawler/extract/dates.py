"""Parse the date strings Press TV pages show (Tehran local time) into ISO 8601 with offset."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from crawler.outlet import Outlet

# 2012-2013 pages print "12:49PM GMT": those times are UTC, not Tehran time.
_UTC_SUFFIX = re.compile(r"\s*\b(?:GMT|UTC)\s*$", re.IGNORECASE)
# "2:4AM": strptime needs two-digit minutes only in some formats; pad a lone minute digit.
_LONE_MINUTE = re.compile(r"(\d{1,2}):(\d)(?=\s*[AP]M\b|\s*$)", re.IGNORECASE)


_DIRECTIVE = re.compile(r"%(.)")


@lru_cache(maxsize=16)
def _max_words(formats: tuple[str, ...]) -> int | None:
    """The most whitespace-separated words a string any of the formats parses can have (None: no bound known).

    A format's words, plus one for each %d and %I, whose strptime patterns accept a leading space; formats
    with the locale's whole-date directives (%c, %x, %X) have no bound here."""
    most = 0
    for fmt in formats:
        directives = _DIRECTIVE.findall(fmt)
        if any(d in "cxX" for d in directives):
            return None
        most = max(most, len(fmt.split()) + sum(d in "dI" for d in directives))
    return most


@lru_cache(maxsize=64)
def _marks(fmt: str) -> frozenset[str]:
    """The punctuation every string the format parses holds: its literal characters other than letters, digits and
    whitespace (strptime matches those as they are)."""
    literal = _DIRECTIVE.sub(lambda m: "%" if m.group(1) == "%" else " ", fmt)
    return frozenset(c for c in literal if not c.isalnum() and not c.isspace())


_ISO_WORDS = 4
"""More words than an ISO 8601 string has (date, time, and a zone set apart by a space: three), with a margin."""

_WORD_COUNT_KEPT: dict[int, tuple[Mapping[str, str], bool]] = {}


def _same_word_count(names: Mapping[str, str]) -> bool:
    """True when rewriting the [dates] foreign names keeps a text's word count: each name and its English one are
    one word each (a whole-word match of one non-blank token replaced by another). Kept per table (one a profile)."""
    known = _WORD_COUNT_KEPT.get(id(names))
    if known is None or known[0] is not names:
        same = all(k.split() == [k] and v.split() == [v] for k, v in names.items())
        known = _WORD_COUNT_KEPT[id(names)] = (names, same)
    return known[1]


def parse_site_datetime(text: str, outlet: Outlet, tz: tzinfo | None = None) -> datetime | None:
    """A timezone-aware datetime from one of the outlet's date strings (its profile's formats), or None.

    A time without zone is in `tz` (default: the outlet's zone) unless it ends in GMT/UTC.
    """
    tz = tz or outlet.timezone
    text = " ".join(text.split()).rstrip(".")  # str.split() splits on exactly what \s matches
    if not text:
        return None
    limit = _max_words(outlet.date_formats)
    if limit is not None and len(text.split()) > max(limit, _ISO_WORDS) + 1 and _same_word_count(outlet.date_words):
        # Too many words for any format, known before the slow case-blind rewrites below: naming the day and
        # month in English keeps the words as many, and dropping a GMT/UTC suffix takes one word off at most.
        return None
    words = outlet.date_words_regex
    if words is not None:
        text = words.sub(lambda m: outlet.date_words[m.group(1).casefold()], text)
    # The case-blind suffix search tries every position: first a look at the last three letters (an ASCII
    # letter matches a case-blind one only in either of its cases).
    tail = text.rstrip()[-3:]
    if (not tail.isascii() or tail.upper() in ("GMT", "UTC")) and _UTC_SUFFIX.search(text):
        text, tz = _UTC_SUFFIX.sub("", text), UTC
    if ":" in text:  # a minute follows a colon
        text = _LONE_MINUTE.sub(lambda m: f"{m.group(1)}:0{m.group(2)}", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is None and (limit is None or len(text.split()) <= limit):
        # A longer line is no date (strptime would try, and fail, every format in turn).
        for fmt in outlet.date_formats:
            if not all(mark in text for mark in _marks(fmt)):
                continue  # strptime would fail (and, past five formats, rebuild its pattern for the next text)
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


def split_updated(text: str, outlet: Outlet) -> tuple[str, str | None]:
    """Split a date line into (published text, updated text or None): "<date> [Updated: <date>]"."""
    match = outlet.updated_regex.search(text) if outlet.updated_regex is not None else None
    if not match:
        return text.strip(), None
    return text[: match.start()].strip(), match.group(1)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset, seconds precision."""
    return value.isoformat(timespec="seconds") if value else None


def date_at_midnight(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of a calendar day in the site's zone (used when only the URL's date is known)."""
    return datetime.combine(day, time(0, 0), tzinfo=tz)
