"""Downloader middleware making runs incremental: an article already in the store is not requested again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from crawler.core.redact import mask_url
from crawler.core.status import ExitStatus
from crawler.crawl import settings as defaults
from crawler.crawl import statkeys
from crawler.crawl.control import close_spider_soon, set_exit_status
from crawler.crawl.handoff import SkippedRequest
from crawler.crawl.storing.extension import StoreExtension
from crawler.store import StoreError
from crawler.store.when import parse_duration, utc_key, utc_now

logger = logging.getLogger(__name__)


class AlreadyStoredRequest(SkippedRequest):
    """An article request skipped because the article is stored (not a failure: errbacks should ignore it)."""


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


class IncrementalMiddleware:
    """Skips requests carrying `meta["article_id"]` of a stored article (stats `incremental/skipped`).

    Overrides: spider argument or setting `full=1` (`CRAWLER_FULL`) requests everything; `refresh=2d`
    (`CRAWLER_REFRESH`) requests again stored articles published or modified within that window, so
    Press TV's edits to recent stories come back as new versions.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.full = crawler.settings.getbool("CRAWLER_FULL", defaults.CRAWLER_FULL)
        self.refresh: timedelta | None = None
        self.now: Callable[[], datetime] = utc_now
        """The clock the refresh window is measured with (tests wind it by hand)."""
        self._refresh_text = str(crawler.settings.get("CRAWLER_REFRESH", defaults.CRAWLER_REFRESH) or "")
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalMiddleware:
        return cls(crawler)

    @property
    def handle(self) -> StoreExtension | None:
        return StoreExtension.of(self.crawler)

    def spider_opened(self, spider: Spider) -> None:
        # Spider arguments win over settings (`-a full=1`, `-a refresh=2d`).
        full = getattr(spider, "full", None)
        if full not in (None, ""):
            self.full = _truthy(full)
        refresh = str(getattr(spider, "refresh", "") or self._refresh_text)
        if refresh:
            try:
                self.refresh = parse_duration(refresh)
            except ValueError as exc:
                logger.error("crawler: bad refresh= argument: %s", exc)
                set_exit_status(self.crawler, ExitStatus.BAD_ARGUMENT)
                self.full = False
                self.refresh = None
                close_spider_soon(self.crawler, "bad_argument")
                return
        if self.handle is not None:
            mode = "full" if self.full else (f"incremental, refresh={refresh}" if self.refresh else "incremental")
            logger.info("Store %s (%s)", mask_url(self.handle.path), mode)

    def process_request(self, request: Request) -> None:
        article_id = request.meta.get("article_id")
        if not article_id:
            return None
        stats = self.crawler.stats
        assert stats is not None
        if request.meta.get("_incremental_seen"):
            return None  # mirror failover re-sends the same request: decided already
        request.meta["_incremental_seen"] = True
        stats.inc_value(statkeys.INCREMENTAL_ARTICLE_REQUESTS)
        handle = self.handle
        if handle is None or self.full:
            return None
        store = handle.usable()
        if store is None:
            raise IgnoreRequest(f"store unavailable: {handle.error}")
        try:
            stored = store.lookup(str(article_id))
        except StoreError as exc:
            # The store went away mid-run (a PostgreSQL server restarting): one line, exit 5, as for a write.
            handle.fail(str(exc))
            raise IgnoreRequest(f"store unavailable: {exc}") from None
        if stored is None:
            return None
        if self.refresh is not None:
            cutoff = utc_key(self.now() - self.refresh)
            if (stored.published_utc or "") >= cutoff or (stored.modified_utc or "") >= cutoff:
                stats.inc_value(statkeys.INCREMENTAL_REFRESHED)
                return None
        stats.inc_value(statkeys.INCREMENTAL_SKIPPED)
        raise AlreadyStoredRequest(f"article {article_id} already stored")
