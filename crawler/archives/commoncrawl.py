"""Common Crawl: which crawls to ask, the index server's query and NDJSON answer, and one WARC record per range.

Pure functions (no network): the crawl list comes from `collinfo.json`, each crawl's index is a pywb CDX API at
`<index>/<crawl>-index?url=...&output=json` answering one JSON object per line (404 with "No Captures found" when
there are none), and each capture is one gzip member holding one WARC record at `offset`/`length` of `filename`
on the data server, fetched with an HTTP Range request and read with warcio.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from warcio.archiveiterator import ArchiveIterator

from crawler.archives.cdx import capture_time
from crawler.archives.warc import MAX_PAGE_BYTES, PayloadProblem, read_payload, too_large_claim


class CommonCrawlError(ValueError):
    """An answer of the Common Crawl services that is not what they document."""


class RecordTooLarge(CommonCrawlError):
    """A fetched record whose payload is past the page size limit (claimed, or once decompressed)."""


@dataclass(frozen=True)
class Crawl:
    """One crawl of collinfo.json and the time span its id names."""

    id: str
    name: str
    cdx_api: str
    start: date | None = None
    """The first day it captured (collinfo.json's `from`), when given."""
    end: date | None = None
    """The last day it captured (collinfo.json's `to`), when given."""


@dataclass(frozen=True)
class IndexRecord:
    """One index line: where the capture's WARC record lies."""

    url: str
    timestamp: str
    status: str
    mime: str
    filename: str
    offset: int
    length: int

    @property
    def captured_at(self) -> datetime:
        return capture_time(self.timestamp)

    def range_header(self) -> str:
        """The Range header that fetches exactly this record's gzip member."""
        return f"bytes={self.offset}-{self.offset + self.length - 1}"


@dataclass(frozen=True)
class CapturedPage:
    """The response a WARC record holds, payload decoded."""

    url: str
    captured_at: datetime
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def parse_collinfo(text: str) -> list[Crawl]:
    """The crawls `collinfo.json` lists, newest first as the service lists them."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommonCrawlError(f"collinfo.json is not JSON: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # nested deeper than the stack, an integer too long to convert
        raise CommonCrawlError(f"collinfo.json is not usable JSON: {str(exc)[:120]}") from None
    if not isinstance(data, list):
        raise CommonCrawlError("collinfo.json is not a list of crawls")
    crawls = []
    for entry in data:
        if isinstance(entry, dict) and entry.get("id") and entry.get("cdx-api"):
            crawls.append(
                Crawl(
                    str(entry["id"]),
                    str(entry.get("name", entry["id"])),
                    str(entry["cdx-api"]),
                    _day(entry.get("from")),
                    _day(entry.get("to")),
                )
            )
    return crawls


def _day(value: object) -> date | None:
    """The date of a collinfo.json `from`/`to` ("2024-02-20T00:00:00"), or None when absent or unreadable."""
    try:
        return datetime.fromisoformat(str(value)[:19]).date() if value else None
    except ValueError:
        return None


def crawl_year(crawl_id: str) -> int | None:
    """The last year a crawl id names (CC-MAIN-2024-10 -> 2024; CC-MAIN-2009-2010 -> 2010), or None."""
    years = [int(part) for part in crawl_id.split("-")[2:] if part.isdigit() and len(part) == 4]
    return years[-1] if years else None


def crawls_for(crawls: Sequence[Crawl], since: date | None, until: date | None) -> list[Crawl]:
    """The crawls that may hold captures of articles published in the window: a crawl captures pages published
    before it ended, so every crawl whose `to` date (collinfo.json) is on or after `since`; a crawl listed
    without dates is judged by the last year its id names. With no `since`: all."""
    out = []
    for crawl in crawls:
        if since is None:
            out.append(crawl)
        elif crawl.end is not None:
            if crawl.end >= since:
                out.append(crawl)
        else:
            year = crawl_year(crawl.id)
            if year is None or year >= since.year:
                out.append(crawl)
    del until  # an article published before `until` may be captured by any later crawl
    return out


def index_query(index_base: str, crawl: str, url_prefix: str, since: date | None = None) -> str:
    """The index query for every capture under a URL prefix in one crawl."""
    params = [
        ("url", url_prefix.rstrip("*") + "*"),
        ("output", "json"),
        ("filter", "=status:200"),
        ("filter", "~mime:.*html.*"),
    ]
    if since:
        params.append(("from", f"{since:%Y%m%d}"))
    return f"{index_base.rstrip('/')}/{crawl}-index?{urlencode(params)}"


def parse_index(status: int, text: str) -> list[IndexRecord]:
    """Records of one index answer: NDJSON lines; a 404 saying "No Captures found" is an empty answer."""
    if status == 404 and "No Captures found" in text:
        return []
    if status != 200:
        raise CommonCrawlError(f"index answered HTTP {status}: {text.strip()[:120]}")
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            records.append(
                IndexRecord(
                    url=str(row["url"]),
                    timestamp=str(row["timestamp"]),
                    status=str(row.get("status", "")),
                    mime=str(row.get("mime", "")),
                    filename=str(row["filename"]),
                    offset=int(row["offset"]),
                    length=int(row["length"]),
                )
            )
        except (KeyError, TypeError, ValueError, RecursionError) as exc:
            raise CommonCrawlError(f"index line {number} is not a capture record: {str(exc)[:120]}") from None
    return records


def read_record(data: bytes, max_bytes: int = MAX_PAGE_BYTES) -> CapturedPage:
    """The response in one fetched gzip member (one WARC record); raises CommonCrawlError when it is not one,
    RecordTooLarge when its payload is past `max_bytes` (the page size limit), read in bounded memory."""
    try:
        for record in ArchiveIterator(io.BytesIO(data), arc2warc=True):
            if record.rec_type != "response":
                continue
            http = record.http_headers
            status = int(str(http.get_statuscode() or 0)) if http is not None else 0
            when = record.rec_headers.get_header("WARC-Date") or ""
            try:
                captured = datetime.fromisoformat(when.replace("Z", "+00:00"))
            except ValueError:
                captured = datetime.now(UTC)
            claim = too_large_claim(record, max_bytes)
            if claim:
                raise RecordTooLarge(claim)
            try:
                body = read_payload(record, max_bytes)
            except PayloadProblem as exc:
                if str(exc).startswith("too large"):
                    raise RecordTooLarge(str(exc)) from None
                raise CommonCrawlError(str(exc)) from None
            return CapturedPage(
                url=str(record.rec_headers.get_header("WARC-Target-URI")),
                captured_at=captured,
                status=status,
                headers=list(http.headers) if http is not None else [],
                body=body,
            )
    except CommonCrawlError:
        raise
    except Exception as exc:  # warcio's errors on a torn record vary (see crawler.archives.warc)
        raise CommonCrawlError(f"not a WARC record: {str(exc).splitlines()[0][:120] if str(exc) else exc}") from None
    raise CommonCrawlError("no response record in the fetched range")


__all__ = [
    "CapturedPage",
    "CommonCrawlError",
    "Crawl",
    "IndexRecord",
    "RecordTooLarge",
    "crawls_for",
    "index_query",
    "parse_collinfo",
    "parse_index",
    "read_record",
]
