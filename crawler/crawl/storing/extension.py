"""The crawl's store as a Scrapy extension: opened once, shared by the pipeline, the middleware and the recorder.

Others find it with `crawler.get_extension(StoreExtension)`; it is absent (NotConfigured) when CRAWLER_STORE
is "", and then nothing is stored and nothing is skipped.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.core.redact import install_log_redaction, remember_location
from crawler.core.status import ExitStatus
from crawler.crawl import settings as defaults
from crawler.crawl import statkeys
from crawler.crawl.control import close_spider_soon, set_exit_status
from crawler.crawl.frontier import frontier_url
from crawler.store import DEFAULT_STORE, ArticleStore, StoreError, open_store

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class StoreExtension:
    """The crawl's store, opened (with the run lock) on first use.

    A store that cannot be opened or written stops the crawl with one clear ERROR line, exit status 5 and
    finish reason `store_error`; nothing more is requested, nothing half-written stays behind.
    """

    def __init__(self, crawler: Crawler) -> None:
        path = str(crawler.settings.get("CRAWLER_STORE", DEFAULT_STORE) or "")
        if not path:
            # No message: Scrapy logs a NotConfigured message as a WARNING, and no store is a choice.
            raise NotConfigured
        # Store URLs may hold a password: no log line of this crawl shows one, whoever writes it.
        install_log_redaction()
        remember_location(path)
        self.crawler = crawler
        self.path = path
        self.store: ArticleStore | None = None
        self.error: str | None = None
        self.run_id: int | None = None
        self._opened = False
        # After spider_closed, where the run recorder writes the run's last row with the store still open.
        crawler.signals.connect(self.close, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @staticmethod
    def of(crawler: Crawler) -> StoreExtension | None:
        """The crawl's store extension, or None when the crawl has no store."""
        return crawler.get_extension(StoreExtension)

    def open(self) -> ArticleStore | None:
        """The open store, or None once it failed (the failure is reported once)."""
        if self._opened:
            return self.store
        self._opened = True
        settings = self.crawler.settings
        try:
            self.store = open_store(
                self.path,
                lock=True,
                # The workers of a shared-frontier crawl write to one store together.
                shared_lock=bool(frontier_url(settings)),
                commit_items=settings.getint("CRAWLER_STORE_COMMIT_ITEMS", defaults.CRAWLER_STORE_COMMIT_ITEMS),
                commit_seconds=settings.getfloat("CRAWLER_STORE_COMMIT_SECONDS", defaults.CRAWLER_STORE_COMMIT_SECONDS),
                max_bytes=int(settings.getfloat("CRAWLER_STORE_MAX_MB", defaults.CRAWLER_STORE_MAX_MB) * 1024 * 1024),
            )
        except StoreError as exc:
            self.fail(str(exc))
            return None
        return self.store

    def usable(self) -> ArticleStore | None:
        """The open store, or None when it failed already (without trying to open it again)."""
        return None if self.error is not None else self.open()

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
        set_exit_status(self.crawler, ExitStatus.STORE_ERROR)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(statkeys.STORE_ERROR, message)
        if self.store is not None:
            store, self.store = self.store, None
            # The failed batch is rolled back already; marking the run failed may still fit (best effort).
            with contextlib.suppress(StoreError):
                if self.run_id is not None:
                    # Counted from the store: stats also count writes of the batch just rolled back.
                    store.finish_run(
                        self.run_id,
                        status="failed",
                        finish_reason=message,
                        exit_status=int(ExitStatus.STORE_ERROR),
                        new=store.count_first_stored(self.run_id),
                    )
            with contextlib.suppress(StoreError):
                store.close()
        close_spider_soon(self.crawler, "store_error")

    def close(self) -> None:
        """Commit what is pending and release the store and its lock (idempotent)."""
        if self.store is not None:
            store, self.store = self.store, None
            try:
                store.close()
            except StoreError as exc:
                self.fail(str(exc))
