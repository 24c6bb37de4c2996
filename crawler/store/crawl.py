"""One store per crawl, shared by the store pipeline, the incremental middleware and the run recorder."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro

from crawler.store import DEFAULT_STORE, StoreError
from crawler.store.sqlite import COMMIT_ITEMS, COMMIT_SECONDS, SQLiteStore

logger = logging.getLogger(__name__)

EXIT_STATUS_STAT = "crawler/exit_status"
"""Stats key the crawl command turns into the process exit status."""
EXIT_STORE_ERROR = 5
"""Exit status of a crawl that could not use its store (locked by another crawl, read-only, disk full)."""

_ATTR = "_crawler_store_handle"


def set_exit_status(crawler: Crawler, status: int) -> None:
    """Set the crawl's exit status unless an earlier failure already set one (the first cause wins)."""
    assert crawler.stats is not None
    if not crawler.stats.get_value(EXIT_STATUS_STAT):
        crawler.stats.set_value(EXIT_STATUS_STAT, status)


class CrawlStore:
    """The crawl's store, opened (with the run lock) on first use; `None` from `of` when CRAWLER_STORE is "".

    A store that cannot be opened or written stops the crawl with one clear ERROR line, exit status 5 and
    finish reason `store_error`; nothing more is requested, nothing half-written stays behind.
    """

    def __init__(self, crawler: Crawler, path: str) -> None:
        self.crawler = crawler
        self.path = path
        self.store: SQLiteStore | None = None
        self.error: str | None = None
        self.run_id: int | None = None
        self._opened = False

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlStore | None:
        handle: CrawlStore | None = getattr(crawler, _ATTR, None)
        if handle is None:
            path = str(crawler.settings.get("CRAWLER_STORE", DEFAULT_STORE) or "")
            if not path:
                return None
            handle = cls(crawler, path)
            setattr(crawler, _ATTR, handle)
        return handle

    def open(self) -> SQLiteStore | None:
        """The open store, or None once it failed (the failure is reported once)."""
        if self._opened:
            return self.store
        self._opened = True
        settings = self.crawler.settings
        try:
            self.store = SQLiteStore(
                self.path,
                lock=True,
                commit_items=settings.getint("CRAWLER_STORE_COMMIT_ITEMS", COMMIT_ITEMS),
                commit_seconds=settings.getfloat("CRAWLER_STORE_COMMIT_SECONDS", COMMIT_SECONDS),
                max_bytes=int(settings.getfloat("CRAWLER_STORE_MAX_MB", 0) * 1024 * 1024),
            )
        except StoreError as exc:
            self.fail(str(exc))
            return None
        return self.store

    def begin_run(self, spider: str, args: dict[str, Any]) -> int | None:
        store = self.open()
        if store is None or self.run_id is not None:
            return self.run_id
        uid = str(self.crawler.settings.get("CRAWLER_RUN_UID", "") or "") or None
        try:
            self.run_id = store.begin_run(spider, args, uid)
        except StoreError as exc:
            self.fail(str(exc))
        return self.run_id

    def fail(self, message: str) -> None:
        """Report a store failure once, mark the run failed and stop the crawl."""
        if self.error is not None:
            return
        self.error = message
        logger.error("crawler: %s", message)
        set_exit_status(self.crawler, EXIT_STORE_ERROR)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("store/error", message)
        if self.store is not None:
            store, self.store = self.store, None
            # The failed batch is rolled back already; marking the run failed may still fit (best effort).
            with contextlib.suppress(StoreError):
                if self.run_id is not None:
                    # Counted from the store: stats also count writes of the batch just rolled back.
                    stored = store.execute("SELECT count(*) FROM articles WHERE first_run = ?", (self.run_id,))
                    store.finish_run(self.run_id, status="failed", finish_reason=message,
                                     exit_status=EXIT_STORE_ERROR, new=int(stored[0][0]))
            with contextlib.suppress(StoreError):
                store.close()
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="store_error"))

    def close(self) -> None:
        if self.store is not None:
            store, self.store = self.store, None
            try:
                store.close()
            except StoreError as exc:
                self.fail(str(exc))
