"""Web archives as the spider's sources: Wayback CDX and Common Crawl index discovery, capture fetches newest first
with failover to older captures, and the Wayback fallback for articles every live mirror failed.

`ArchiveSources` is mixed into the spider so every callback is a spider method (requests stay serialisable). It
collects every capture of every article id first (all hosts, all captures: one CDX or index query per URL-prefix
shard), and when discovery is done (the spider is idle) requests each id's newest capture. A capture that fails,
or that extraction refuses (a seizure notice, a challenge or error page, a listing), hands over to the next older
capture of the same id, exactly like a mirror failover; only when none is left is the article recorded as failed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.archives.cdx import (
    Capture,
    CdxError,
    Shard,
    capture_time,
    parse_cdx_answer,
    plan_shards,
    repair_timestamp,
    replay_url,
)
from crawler.archives.commoncrawl import (
    CommonCrawlError,
    RecordTooLarge,
    crawls_for,
    index_query,
    parse_collinfo,
    parse_index,
    read_record,
)
from crawler.core.page import Page
from crawler.crawl import settings as defaults
from crawler.crawl import statkeys
from crawler.crawl.handoff import PageItem, response_headers
from crawler.crawl.middlewares import exception_reason, report_page_failed

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from twisted.python.failure import Failure

    from crawler.outlet import Outlet

logger = logging.getLogger(__name__)

WAYBACK = "wayback"
COMMONCRAWL = "commoncrawl"
ARCHIVE_SOURCES = (WAYBACK, COMMONCRAWL)

SLOT_WAYBACK_CDX = "archive:wayback-cdx"
SLOT_WAYBACK = "archive:wayback"
SLOT_CC_INDEX = "archive:commoncrawl-index"
SLOT_CC_DATA = "archive:commoncrawl-data"

SLOT_RATES: dict[str, tuple[str, float]] = {
    SLOT_WAYBACK_CDX: ("CRAWLER_WAYBACK_CDX_RATE", 0.4),
    SLOT_WAYBACK: ("CRAWLER_WAYBACK_FETCH_RATE", 2.0),
    SLOT_CC_INDEX: ("CRAWLER_CC_INDEX_RATE", 1.0),
    SLOT_CC_DATA: ("CRAWLER_CC_DATA_RATE", 2.0),
}
"""Each archive download slot and the setting giving its requests per second (with its default)."""

SLOT_SOURCE = {SLOT_WAYBACK_CDX: WAYBACK, SLOT_WAYBACK: WAYBACK, SLOT_CC_INDEX: COMMONCRAWL, SLOT_CC_DATA: COMMONCRAWL}

SLOT_URL_SETTING = {
    SLOT_WAYBACK_CDX: "CRAWLER_WAYBACK_URL",
    SLOT_WAYBACK: "CRAWLER_WAYBACK_URL",
    SLOT_CC_INDEX: "CRAWLER_CC_INDEX_URL",
    SLOT_CC_DATA: "CRAWLER_CC_DATA_URL",
}
"""The setting naming the service each archive slot's requests go to."""

_REPLAY_TS = re.compile(r"/web/(\d{14})id_/")


class ArchiveSettingError(ValueError):
    """An archive setting has a bad value; the message is one line naming it."""


def archive_slots(settings: BaseSettings) -> dict[str, dict[str, Any]]:
    """DOWNLOAD_SLOTS entries that cap each archive's request rate across the whole crawl: one request per
    `1/rate` seconds, no jitter (AutoThrottle leaves these requests' delay alone). Index queries go one at a time
    (a 429 then stops the next one); capture fetches may overlap, so a slow answer does not lower the rate."""
    slots: dict[str, dict[str, Any]] = {}
    for slot, (name, default) in SLOT_RATES.items():
        try:
            rate = float(settings.get(name, default))
        except (TypeError, ValueError):
            raise ArchiveSettingError(f"setting {name}={settings.get(name)!r} is not a number") from None
        if rate <= 0:
            raise ArchiveSettingError(f"setting {name}={rate:g} must be above 0 (requests per second)")
        overlap = slot in (SLOT_WAYBACK, SLOT_CC_DATA)
        slots[slot] = {"concurrency": max(1, int(rate)) if overlap else 1, "delay": 1.0 / rate, "jitter": 0}
    return slots


@dataclass
class Candidate:
    """One archived capture of an article, as carried in request meta (a plain dict there)."""

    source: str
    url: str
    """The URL the archive captured."""
    timestamp: str
    """14 digits, UTC."""
    filename: str = ""
    offset: int = 0
    length: int = 0

    def to_meta(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "url": self.url,
            "timestamp": self.timestamp,
            "filename": self.filename,
            "offset": self.offset,
            "length": self.length,
        }

    @classmethod
    def from_meta(cls, data: dict[str, Any]) -> Candidate:
        return cls(
            str(data["source"]),
            str(data["url"]),
            str(data["timestamp"]),
            str(data.get("filename", "")),
            int(data.get("offset", 0)),
            int(data.get("length", 0)),
        )


class ArchiveSources:
    """The archive half of the spider (mixed into it); reads `outlet`, `sources`, `since`, `until`, `crawler`."""

    outlet: Outlet
    sources: tuple[str, ...]
    since: date | None
    until: date | None
    crawler: Crawler
    archive_fallback: bool = False

    def setup_archives(self, crawler: Crawler) -> None:
        """Read the archive settings and hook the idle signal (called from the spider's from_crawler)."""
        settings = crawler.settings
        self.wayback_url = str(settings.get("CRAWLER_WAYBACK_URL", defaults.CRAWLER_WAYBACK_URL)).rstrip("/")
        self.cc_index_url = str(settings.get("CRAWLER_CC_INDEX_URL", defaults.CRAWLER_CC_INDEX_URL)).rstrip("/")
        self.cc_data_url = str(settings.get("CRAWLER_CC_DATA_URL", defaults.CRAWLER_CC_DATA_URL)).rstrip("/")
        self.cdx_max_pages = max(1, settings.getint("CRAWLER_CDX_MAX_PAGES", defaults.CRAWLER_CDX_MAX_PAGES))
        self._candidates: dict[str, dict[tuple[str, str, str], Candidate]] = {}
        self._fallback_ids: set[str] = set()
        self._archive_tried: set[str] = set()
        self._stopped_sources: set[str] = set()
        crawler.signals.connect(self._archive_idle, signal=signals.spider_idle)
        if self.archive_fallback:
            from crawler.crawl import signals as crawler_signals

            crawler.signals.connect(self._live_failed, signal=crawler_signals.page_failed)

    _limits_said: frozenset[str] = frozenset()

    def limit_reached(self, key: str, message: str) -> None:
        """A work limit bit: counted every time (`limits/<key>`), logged once per run as one warning line."""
        self._stat(f"limits/{key}")
        if key not in self._limits_said:
            self._limits_said = self._limits_said | {key}
            logger.warning("%s", message)

    def archive_source_stopped(self, source: str) -> bool:
        """True once this archive is no longer read this run."""
        return source in self._stopped_sources

    def stop_archive_source(self, source: str) -> None:
        """No more requests to this archive this run (it kept refusing): its captures are no longer tried."""
        self._stopped_sources.add(source)

    # ---- window -------------------------------------------------------------------------------------

    def archive_window(self) -> tuple[date, date]:
        """The publication dates a backfill covers: `since`..`until`, else the outlet's first year..today."""
        since = self.since or date(int(self.outlet.archives["first_year"]), 1, 1)
        until = self.until or datetime.now(UTC).date()
        return since, until

    def _domains(self) -> list[str]:
        return sorted({*self.outlet.domains, *self.outlet.seized_domains})

    def _shards(self) -> list[Shard]:
        since, until = self.archive_window()
        arch = self.outlet.archives
        return plan_shards(
            self._domains(),
            dated_heads=arch["dated_heads"],
            undated_heads=arch["undated_heads"],
            undated_until=arch["undated_until"],
            id_prefix_digits=int(arch["id_prefix_digits"]),
            since=since,
            until=until,
        )

    def _stat(self, key: str, count: int = 1) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key, count)

    # ---- discovery requests -------------------------------------------------------------------------

    def archive_start_requests(self) -> list[Request]:
        """The first discovery requests of the archive sources chosen with `sources=`."""
        out: list[Request] = []
        if WAYBACK in self.sources:
            out.extend(self._cdx_request(shard) for shard in self._shards())
        if COMMONCRAWL in self.sources:
            crawls = getattr(self, "crawls", None)
            if crawls:
                out.extend(self._cc_index_requests([c.strip() for c in str(crawls).split(",") if c.strip()]))
            else:
                out.append(
                    self._archive_request(f"{self.cc_index_url}/collinfo.json", self.parse_collinfo, SLOT_CC_INDEX)
                )
        return out

    def _archive_request(
        self,
        url: str,
        callback: Any,
        slot: str,
        *,
        meta: dict[str, Any] | None = None,
        errback: Any = None,
        dont_filter: bool = False,
        headers: dict[str, str] | None = None,
        priority: int = 0,
    ) -> Request:
        full = {
            "download_slot": slot,
            "autothrottle_dont_adjust_delay": True,
            "archive_source": SLOT_SOURCE[slot],
            **(meta or {}),
        }
        return Request(
            url,
            callback=callback,
            errback=errback or self.archive_query_failed,
            meta=full,
            dont_filter=dont_filter,
            headers=headers,
            priority=priority,
        )

    def _cdx_request(
        self, shard: Shard, resume_key: str | None = None, fallback_for: str | None = None, page: int = 1
    ) -> Request:
        meta: dict[str, Any] = {
            "shard": [shard.prefix, shard.since, shard.until],
            "cdx_page": page,
            "cdx_resume": resume_key,
        }
        if fallback_for:
            meta["fallback_for"] = fallback_for
        # Paging must not be filtered: a resumed query can repeat a URL only by a changed resume key.
        return self._archive_request(
            shard.url(self.wayback_url, resume_key),
            self.parse_cdx,
            SLOT_WAYBACK_CDX,
            meta=meta,
            dont_filter=bool(resume_key),
        )

    def _cc_index_requests(self, crawl_ids: list[str]) -> list[Request]:
        since, _ = self.archive_window()
        return [
            self._archive_request(
                index_query(self.cc_index_url, crawl, shard.prefix, since),
                self.parse_cc_index,
                SLOT_CC_INDEX,
                meta={"crawl": crawl},
            )
            for crawl in crawl_ids
            for shard in self._shards()
        ]

    def archive_query_failed(self, failure: Failure) -> None:
        """A CDX or index query (or collinfo.json) that could not be read: counted and logged; other shards go on."""
        request = failure.request  # type: ignore[attr-defined]
        source = str(request.meta.get("archive_source", "archive"))
        if request.meta.get("archive_dropped"):
            return  # the source was stopped (said once, by the politeness middleware)
        exc = failure.value
        assert exc is not None
        if isinstance(exc, HttpError) and exc.response.status == 404 and source == COMMONCRAWL:
            # The index server's answer for a prefix without captures ("No Captures found").
            self._stat(f"archive/{source}/empty_queries")
            return
        if request.meta.get("offsite_redirect"):
            self._stat(f"archive/{source}/query_failed")
            return  # said once by the middleware that refused it
        reason = f"HTTP {exc.response.status}" if isinstance(exc, HttpError) else exception_reason(exc)
        self._stat(f"archive/{source}/query_failed")
        logger.warning("%s query failed (%s): %s", source, reason, request.url)

    # ---- discovery callbacks ------------------------------------------------------------------------

    def parse_cdx(self, response: Response) -> list[Request]:
        """One page of a Wayback CDX answer: every capture of an article URL becomes a candidate."""
        try:
            captures, resume = parse_cdx_answer(response.text)
        except CdxError as exc:
            self._stat("archive/wayback/bad_answers")
            logger.warning("wayback: unreadable CDX answer for %s: %s", response.url, exc)
            return []
        self._stat("archive/wayback/cdx_pages")
        for capture in captures:
            timestamp = self._checked_timestamp(WAYBACK, capture.timestamp, capture.original)
            if timestamp is not None:
                self._add_candidate(Candidate(WAYBACK, capture.original, timestamp), response.meta.get("fallback_for"))
        if not resume:
            return []
        prefix, since, until = response.meta["shard"]
        page = int(response.meta.get("cdx_page", 1))
        if resume == response.meta.get("cdx_resume"):
            self.limit_reached(
                "cdx_repeated_resume_key",
                (f"wayback: the CDX server repeated its resume key for {prefix}*: that query ends here"),
            )
            return []
        if page >= self.cdx_max_pages:
            self.limit_reached(
                "cdx_pages",
                (
                    f"wayback: the CDX query for {prefix}* reached {self.cdx_max_pages} pages: the rest is not read "
                    f"(CRAWLER_CDX_MAX_PAGES)"
                ),
            )
            return []
        return [self._cdx_request(Shard(prefix, since, until), resume, response.meta.get("fallback_for"), page + 1)]

    def _checked_timestamp(self, source: str, timestamp: str, url: str) -> str | None:
        """A capture's timestamp, repaired where the index holds an impossible one (month or day 00), or None
        (counted, logged at debug level) when it cannot be read at all: that capture is skipped."""
        try:
            fixed = repair_timestamp(timestamp)
        except CdxError as exc:
            self._stat(f"archive/{source}/timestamps_skipped")
            logger.debug("%s: skipping capture of %s: %s", source, url, exc)
            return None
        if fixed != timestamp:
            self._stat(f"archive/{source}/timestamps_repaired")
        return fixed

    def parse_collinfo(self, response: Response) -> list[Request]:
        """Common Crawl's crawl list: an index query per crawl overlapping the window, per URL-prefix shard."""
        try:
            crawls = parse_collinfo(response.text)
        except CommonCrawlError as exc:
            logger.error("commoncrawl: %s (%s); no Common Crawl captures this run", exc, response.url)
            self._stat("archive/commoncrawl/bad_answers")
            return []
        since, until = self.archive_window()
        chosen = [c.id for c in crawls_for(crawls, since, until)]
        logger.info("commoncrawl: %d of %d crawls may hold the window %s..%s", len(chosen), len(crawls), since, until)
        return self._cc_index_requests(chosen)

    def parse_cc_index(self, response: Response) -> None:
        """One index answer (one JSON object per line): every record of an article URL becomes a candidate."""
        try:
            records = parse_index(response.status, response.text)
        except CommonCrawlError as exc:
            self._stat("archive/commoncrawl/bad_answers")
            logger.warning("commoncrawl: %s (%s)", exc, response.url)
            return
        for rec in records:
            if rec.status not in ("200", "") or "html" not in rec.mime.lower():
                continue
            timestamp = self._checked_timestamp(COMMONCRAWL, rec.timestamp, rec.url)
            if timestamp is not None:
                self._add_candidate(Candidate(COMMONCRAWL, rec.url, timestamp, rec.filename, rec.offset, rec.length))

    def _add_candidate(self, candidate: Candidate, fallback_for: str | None = None) -> None:
        parsed = self.outlet.parse_article_url(candidate.url)
        if parsed is None or not self.outlet.is_outlet_host(urlsplit(candidate.url).hostname or ""):
            return
        if fallback_for is not None and parsed.article_id != fallback_for:
            return
        since, until = self.archive_window()
        if fallback_for is None and parsed.path_date is not None and not since <= parsed.path_date <= until:
            return
        found = self._candidates.setdefault(parsed.article_id, {})
        if not found:
            self._stat(statkeys.ARCHIVE_ARTICLE_IDS.format(candidate.source))
        found[(candidate.timestamp, candidate.url, candidate.source)] = candidate

    # ---- fetching captures --------------------------------------------------------------------------

    def _archive_idle(self) -> None:
        """Discovery is done: request every article's newest capture (the rest wait as its failover list)."""
        if not self._candidates:
            return
        pending, self._candidates = self._candidates, {}
        engine = self.crawler.engine
        assert engine is not None
        scheduled = 0
        for article_id, found in sorted(pending.items(), key=lambda kv: int(kv[0]), reverse=True):
            ordered = sorted(found.values(), key=lambda c: (c.timestamp, c.url), reverse=True)
            request = self.capture_request(article_id, ordered, tried=[], first=article_id not in self._fallback_ids)
            if request is not None:
                engine.crawl(request)
                scheduled += 1
        logger.info("archives: requesting the newest capture of %d article(s)", scheduled)
        raise DontCloseSpider

    def capture_request(
        self, article_id: str, candidates: list[Candidate], tried: list[str], first: bool = False
    ) -> Request | None:
        """The request for the first of `candidates` (newest first); the rest ride along in its meta."""
        remaining = [c for c in candidates if c.source not in self._stopped_sources]
        if not remaining:
            return None
        self._archive_tried.add(article_id)
        head, rest = remaining[0], remaining[1:]
        meta = {
            "article_id": article_id,
            "source": head.source,
            "source_url": head.url,
            "capture": head.to_meta(),
            "captures_left": [c.to_meta() for c in rest],
            "captures_tried": tried,
        }
        if head.source == WAYBACK:
            url = replay_url(self.wayback_url, Capture(head.url, head.timestamp))
            return self._archive_request(
                url,
                self.parse_capture,
                SLOT_WAYBACK,
                meta=meta,
                errback=self.capture_failed,
                dont_filter=not first,
                priority=10,
            )
        headers = {"Range": f"bytes={head.offset}-{head.offset + head.length - 1}"}
        return self._archive_request(
            f"{self.cc_data_url}/{head.filename}",
            self.parse_capture,
            SLOT_CC_DATA,
            meta=meta,
            errback=self.capture_failed,
            dont_filter=not first,
            headers=headers,
            priority=10,
        )

    def next_capture(self, meta: dict[str, Any], reason: str) -> Request | None:
        """The request for the next older capture after the one `meta` describes was refused or failed."""
        left = [Candidate.from_meta(c) for c in meta.get("captures_left") or []]
        tried = [*meta.get("captures_tried", []), reason]
        return self.capture_request(str(meta["article_id"]), left, tried) if left else None

    def parse_capture(self, response: Response) -> list[PageItem | Request]:
        """A capture's bytes: a page item like a live page, with the capture's URL, time and HTTP response."""
        meta = response.meta
        head = Candidate.from_meta(meta["capture"])
        if head.source == WAYBACK:
            status, headers = 200, _original_headers(response)
            actual = _REPLAY_TS.search(response.url)  # the archive may serve the closest capture instead
            captured = capture_time(actual.group(1) if actual else head.timestamp)
            body = response.body
        else:
            try:
                record = read_record(response.body, self.crawler.settings.getint("DOWNLOAD_MAXSIZE") or 1 << 24)
            except RecordTooLarge as exc:
                return self._capture_unusable(meta, f"capture {exc}", "too_large")
            except CommonCrawlError as exc:
                return self._capture_unusable(meta, f"bad WARC record: {exc}", "bad_record")
            if record.status != 200:
                return self._capture_unusable(meta, f"captured HTTP {record.status}", f"http_{record.status}")
            status, headers, captured, body = record.status, record.headers, record.captured_at, record.body
        self._stat(f"archive/{head.source}/captures_fetched")
        page = Page(
            url=head.url,
            html=body,
            status=status,
            encoding=_charset(headers) or getattr(response, "encoding", None),
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            mirror=urlsplit(head.url).netloc,
            headers=headers,
            fetched_from=head.source,
            archived_at=captured.astimezone(UTC).isoformat(),
        )
        return [
            PageItem(
                article_id=str(meta["article_id"]),
                source_url=head.url,
                page=page,
                source=head.source,
                fallback=self.next_capture(meta, "refused"),
            )
        ]

    def _capture_unusable(self, meta: dict[str, Any], reason: str, key: str) -> list[PageItem | Request]:
        source = Candidate.from_meta(meta["capture"]).source
        self._stat(statkeys.ARCHIVE_CAPTURE_FAILED.format(source, key))
        following = self.next_capture(meta, reason)
        if following is not None:
            return [following]
        self._give_up(meta, reason, None)
        return []

    def capture_failed(self, failure: Failure) -> list[Request]:
        """A capture that could not be fetched: the next older capture, or the article recorded as failed."""
        request = failure.request  # type: ignore[attr-defined]
        exc = failure.value
        assert exc is not None
        if isinstance(exc, HttpError):
            status: int | None = exc.response.status
            reason, key = f"HTTP {status}", f"http_{status}"
        elif request.meta.get("offsite_redirect"):
            status, reason, key = None, "redirect to another host refused", "offsite_redirect"
        else:
            status, reason = None, exception_reason(exc)
            key = reason
        if "capture" not in request.meta or request.meta.get("archive_dropped"):
            return []
        source = Candidate.from_meta(request.meta["capture"]).source
        self._stat(statkeys.ARCHIVE_CAPTURE_FAILED.format(source, key))
        following = self.next_capture(request.meta, reason)
        if following is not None:
            return [following]
        self._give_up(request.meta, reason, status)
        return []

    def _give_up(self, meta: dict[str, Any], reason: str, status: int | None) -> None:
        tried = [*meta.get("captures_tried", []), reason]
        source = Candidate.from_meta(meta["capture"]).source
        request = Request(
            str(meta.get("source_url") or meta["capture"]["url"]),
            meta={"article_id": meta["article_id"], "source_url": meta.get("source_url")},
        )
        report_page_failed(
            self.crawler,
            request,
            f"no usable {source} capture ({len(tried)} tried: {', '.join(tried[-5:])})",
            status,
            key=f"{source}_exhausted",
        )

    # ---- live fallback ------------------------------------------------------------------------------

    def _live_failed(
        self, url: str, article_id: str | None = None, reason: str = "", status: int | None = None
    ) -> None:
        """`archive_fallback=1`: an article every live mirror failed (or answered 404/410) is looked up in the
        Wayback Machine, one CDX query per outlet domain for its own URL."""
        if not article_id or article_id in self._archive_tried or article_id in self._fallback_ids:
            return
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        parsed = self.outlet.parse_article_url(path)
        if parsed is None:
            return
        self._fallback_ids.add(article_id)
        self._stat("archive/fallback/articles")
        end = path.find(parsed.article_id)
        stem = path[: end + len(parsed.article_id)] if end >= 0 else path
        engine = self.crawler.engine
        assert engine is not None
        for domain in self._domains():
            engine.crawl(self._cdx_request(Shard(f"{domain}{stem}"), fallback_for=article_id))


def _original_headers(response: Response) -> list[tuple[str, str]]:
    """The captured response's headers: the Wayback Machine replays them as X-Archive-Orig-*; the rest of what
    it sends (its own Date, Server, Memento headers) is not part of the capture. Content-Type is the capture's."""
    pairs = response_headers(response)
    original = [
        (name[len("X-Archive-Orig-") :], value) for name, value in pairs if name.lower().startswith("x-archive-orig-")
    ]
    kept = [(name, value) for name, value in pairs if name.lower() == "content-type"]
    return (
        kept + original
        if original
        else [(n, v) for n, v in pairs if not n.lower().startswith(("memento", "x-archive", "link"))]
    )


def _charset(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "content-type" and "charset=" in value.lower():
            return value.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"') or None
    return None


__all__ = ["ARCHIVE_SOURCES", "ArchiveSettingError", "ArchiveSources", "archive_slots"]
