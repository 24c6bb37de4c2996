"""Wayback CDX queries: URL-prefix shards per outlet domain and URL era, the JSON answer and its resume key, and
the captures of each article id ordered newest first.

Pure functions (no network, no Scrapy): the spider sends the requests these describe and feeds the answers back.
The CDX server matches on the SURT form of a URL, which ignores the scheme, `www.` and letter case, so one prefix
per registered domain covers `www.presstv.com/Detail/...` and `presstv.com/detail/...` alike. A query returns at
most 150,000 lines, so prefixes are cut by the month in dated paths and by the first digits of the id for the
undated 2011-2012 form; `showResumeKey` pages through what is left.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode

CDX_FIELDS = ("original", "timestamp", "statuscode", "mimetype", "digest")
"""The fields asked for with `fl=`, in this order."""

CDX_LINE_CAP = 150_000
"""Lines the Internet Archive's CDX server returns at most for one query."""


class CdxError(ValueError):
    """A CDX answer that is not the JSON the server documents."""


@dataclass(frozen=True)
class Capture:
    """One archived capture of a URL."""

    original: str
    timestamp: str
    """14 digits, yyyyMMddhhmmss, UTC."""
    statuscode: str = "200"
    mimetype: str = "text/html"
    digest: str = ""

    @property
    def captured_at(self) -> datetime:
        """The capture time as an aware UTC datetime."""
        return capture_time(self.timestamp)


@dataclass(frozen=True)
class Shard:
    """One CDX query: a URL prefix, and the capture-time window in 14-digit timestamps (inclusive)."""

    prefix: str
    since: str | None = None
    until: str | None = None

    def params(self, resume_key: str | None = None) -> list[tuple[str, str]]:
        """Query parameters of this shard (and of the next page when given the previous page's resume key)."""
        params = [
            ("url", self.prefix + "*"),
            ("output", "json"),
            ("fl", ",".join(CDX_FIELDS)),
            ("filter", "statuscode:200"),
            ("filter", "mimetype:text/html"),
            ("showResumeKey", "true"),
        ]
        if self.since:
            params.append(("from", self.since))
        if self.until:
            params.append(("to", self.until))
        if resume_key:
            params.append(("resumeKey", resume_key))
        return params

    def url(self, base: str, resume_key: str | None = None) -> str:
        """The full query URL on a Wayback server at `base` (e.g. https://web.archive.org)."""
        return f"{base.rstrip('/')}/cdx/search/cdx?{urlencode(self.params(resume_key))}"


def repair_timestamp(timestamp: str) -> str:
    """A 1-14 digit Wayback timestamp as 14 valid digits (missing digits are the start of the period).

    The real index holds some impossible ones: month or day `00` (a capture whose date was unknown in part)
    becomes the first month or day; an hour, minute or second past its range is clamped. Raises CdxError for
    anything else that is not a date (letters, under four digits, 30 February).
    """
    text = timestamp.strip()
    if len(text) < 4 or len(text) > 14 or not text.isdigit():
        raise CdxError(f"not a Wayback timestamp: {_first_line(timestamp, 40)!r}")
    digits = (text + "00000101000000"[len(text) :])[:14]
    year, month, day = digits[:4], digits[4:6], digits[6:8]
    month = "01" if month == "00" else month
    day = "01" if day == "00" else day
    hour, minute, second = (min(int(digits[i : i + 2]), top) for i, top in ((8, 23), (10, 59), (12, 59)))
    fixed = f"{year}{month}{day}{hour:02d}{minute:02d}{second:02d}"
    try:
        datetime.strptime(fixed, "%Y%m%d%H%M%S")
    except ValueError:
        raise CdxError(f"not a Wayback timestamp: {text!r} (no such date)") from None
    return fixed


def capture_time(timestamp: str) -> datetime:
    """A 1-14 digit Wayback timestamp as an aware UTC datetime (repaired as `repair_timestamp` does; CdxError,
    a ValueError, when it cannot be)."""
    return datetime.strptime(repair_timestamp(timestamp), "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _months(since: date, until: date) -> Iterable[tuple[int, int]]:
    year, month = since.year, since.month
    while (year, month) <= (until.year, until.month):
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _id_prefixes(first_digits: str, width: int, after_slash: bool = True) -> list[str]:
    """Id prefixes of `width` digits. After a slash, one that could also start a year of a dated path ("20" of
    "2013/...") is cut finer until it cannot (five digits), so an undated shard never sweeps up every dated URL
    too; after a query's `=` no dated path can follow, so no prefix needs cutting there."""
    out: list[str] = []
    todo = [d for d in first_digits]
    while todo:
        prefix = todo.pop(0)
        if len(prefix) < width or (after_slash and prefix[:2] in ("19", "20") and len(prefix) < 5):
            todo[0:0] = [prefix + d for d in "0123456789"]
        else:
            out.append(prefix)
    return out


def plan_shards(
    domains: Sequence[str],
    *,
    dated_heads: Sequence[str],
    undated_heads: Sequence[str] = (),
    undated_until: date | None = None,
    id_prefix_digits: int = 2,
    id_first_digits: str = "123456789",
    since: date,
    until: date,
) -> list[Shard]:
    """The prefix queries that cover every article URL of `domains` published from `since` to `until`.

    `dated_heads` are path heads followed by /YYYY/M/D/<id> ("detail", "video"): one shard per month, padded and,
    for months 1-9, unpadded too (the site used both). `undated_heads` are heads followed by /<id>.html, used up to
    `undated_until`: one shard per leading `id_prefix_digits` digits of the id. Captures are asked for from the
    first day of `since`, with no upper bound on capture time (an article is often captured years later).
    """
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")
    start = f"{since:%Y%m%d}000000"
    shards: list[Shard] = []
    for domain in domains:
        for head in dated_heads:
            for year, month in _months(since, until):
                shards.append(Shard(f"{domain}/{head}/{year}/{month:02d}/", start))
                if month < 10:
                    shards.append(Shard(f"{domain}/{head}/{year}/{month}/", start))
        if undated_heads and (undated_until is None or since <= undated_until):
            for head in undated_heads:
                # A head naming a query (`detail.aspx?id=`) is followed by the id itself, not a slash.
                sep = "" if head.endswith(("=", "?")) else "/"
                for digits in _id_prefixes(id_first_digits, id_prefix_digits, after_slash=bool(sep)):
                    shards.append(Shard(f"{domain}/{head}{sep}{digits}", start))
    return shards


def _first_line(value: object, width: int = 120) -> str:
    """`value` shown in one line of at most about `width` characters (an error message quotes hostile input)."""
    shown = " ".join(str(value).split())
    return shown if len(shown) <= width else shown[:width] + "..."


def parse_cdx_json(text: str) -> tuple[list[Capture], str | None]:
    """Captures and the resume key (or None) of one `output=json&showResumeKey=true` answer.

    The answer is an array of arrays whose first row is the header; with more to come, an empty row and then a
    one-element row holding the resume key end it. An empty body or `[]` means no captures.
    """
    if not text.strip():
        return [], None
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CdxError(f"CDX answer is not JSON: {exc.msg} at line {exc.lineno}") from None
    except (ValueError, RecursionError) as exc:
        # JSON the decoder gives up on: nested deeper than the stack, an integer too long to convert.
        raise CdxError(f"CDX answer is not usable JSON: {_first_line(exc)}") from None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise CdxError("CDX answer is not an array of arrays")
    if not rows:
        return [], None
    header = [str(h) for h in rows[0]]
    missing = [f for f in ("original", "timestamp") if f not in header]
    if missing:
        raise CdxError(f"CDX header row lacks {', '.join(missing)}: {_first_line(header)}")
    resume: str | None = None
    body = rows[1:]
    if len(body) >= 2 and body[-2] == [] and len(body[-1]) == 1:
        resume = str(body[-1][0])
        body = body[:-2]
    captures: list[Capture] = []
    for row in body:
        if len(row) != len(header):
            continue  # a short or torn line: skipped rather than guessed at
        fields = dict(zip(header, (str(v) for v in row), strict=True))
        captures.append(
            Capture(
                original=fields["original"],
                timestamp=fields["timestamp"],
                statuscode=fields.get("statuscode", ""),
                mimetype=fields.get("mimetype", ""),
                digest=fields.get("digest", ""),
            )
        )
    return captures, resume


CDX_TEXT_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
"""The fields of a plain-text CDX line when no `fl=` was honoured (the server's default order)."""


def parse_cdx_text(text: str, fields: Sequence[str] = CDX_FIELDS) -> tuple[list[Capture], str | None]:
    """Captures and the resume key (or None) of a plain-text CDX answer (one space-separated capture a line).

    A server that ignores `output=json` answers this way: lines of `fields` (the `fl=` asked for), or of the
    server's seven default fields. With `showResumeKey=true` a blank line and then the key end the answer.
    Lines of any other width (a URL with spaces, a torn line) are skipped rather than guessed at.
    """
    lines = text.split("\n")
    while lines and not lines[-1].strip():
        lines.pop()
    resume: str | None = None
    if len(lines) >= 2 and not lines[-2].strip() and len(lines[-1].split()) == 1:
        resume = lines[-1].strip()
        lines = lines[:-2]
    captures: list[Capture] = []
    for line in lines:
        parts = line.split()
        if len(parts) == len(fields):
            row = dict(zip(fields, parts, strict=True))
        elif len(parts) == len(CDX_TEXT_FIELDS):
            row = dict(zip(CDX_TEXT_FIELDS, parts, strict=True))
        else:
            continue
        captures.append(
            Capture(
                original=row["original"],
                timestamp=row["timestamp"],
                statuscode=row.get("statuscode", ""),
                mimetype=row.get("mimetype", ""),
                digest=row.get("digest", ""),
            )
        )
    return captures, resume


def parse_cdx_answer(text: str) -> tuple[list[Capture], str | None]:
    """Captures and resume key of a CDX answer, JSON (what is asked for) or plain text (what some servers and
    proxies send instead); CdxError when a JSON answer is not the documented one."""
    if text.lstrip().startswith("["):
        return parse_cdx_json(text)
    return parse_cdx_text(text)


def replay_url(base: str, capture: Capture) -> str:
    """The raw (not rewritten) replay of a capture: {base}/web/<timestamp>id_/<original>."""
    return f"{base.rstrip('/')}/web/{capture.timestamp}id_/{capture.original}"


def candidates_by_article(
    captures: Iterable[Capture],
    article_id: Callable[[str], str | None],
    *,
    since: date | None = None,
    until: date | None = None,
    path_date: Callable[[str], date | None] | None = None,
) -> dict[str, list[Capture]]:
    """Article id -> its captures on any host, newest first, each (timestamp, URL) once.

    `article_id(url)` names the article a URL shows (None for other URLs, which are dropped). With `path_date`
    and a window, captures of articles whose URL date lies outside `since`..`until` are dropped.
    """
    found: dict[str, dict[tuple[str, str], Capture]] = {}
    for cap in captures:
        aid = article_id(cap.original)
        if aid is None:
            continue
        if path_date is not None and (since or until):
            day = path_date(cap.original)
            if day is not None and ((since and day < since) or (until and day > until)):
                continue
        found.setdefault(aid, {})[(cap.timestamp, cap.original)] = cap
    return {
        aid: sorted(caps.values(), key=lambda c: (c.timestamp, c.original), reverse=True) for aid, caps in found.items()
    }


__all__ = [
    "CDX_FIELDS",
    "CDX_LINE_CAP",
    "CDX_TEXT_FIELDS",
    "Capture",
    "CdxError",
    "Shard",
    "candidates_by_article",
    "capture_time",
    "parse_cdx_answer",
    "parse_cdx_json",
    "parse_cdx_text",
    "plan_shards",
    "repair_timestamp",
    "replay_url",
]
