"""Item pipeline that stores each extracted article (new, new version, or unchanged) and records failed pages."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals
from scrapy.exceptions import DropItem
from scrapy.http import Response
from twisted.internet import task

from crawler.crawl import signals as crawler_signals
from crawler.crawl import statkeys
from crawler.crawl.handoff import ExtractedItem, ExtractionCrashed, NotAnArticlePage, PageItem
from crawler.crawl.storing.extension import StoreExtension
from crawler.store import StoreError

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class AlreadyStored(DropItem):
    """The article is in the store with the same text: not exported again (a re-fetch in a refresh run)."""


class NotStored(DropItem):
    """The store failed (its failure is reported once by the store extension): the article is not kept."""


class StorePipeline:
    """Priority 500, after extraction (300) and before the bare Article goes to the exports (900).

    New articles and new versions pass on to the feed exports; an article whose text is already stored is
    dropped quietly (`AlreadyStored`), so a run's JSONL holds what is new or changed. Refused and crashed
    pages (dropped by extraction) and failed fetches (`page_failed`) are recorded with their reason.
    Without a store (CRAWLER_STORE = "") every article passes through.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._timer: task.LoopingCall | None = None
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.page_failed, signal=crawler_signals.page_failed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def handle(self) -> StoreExtension | None:
        return StoreExtension.of(self.crawler)

    def _inc(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    def open_spider(self) -> None:
        if self.handle is None:
            return
        store = self.handle.open()
        if store is not None:
            # Commit a partial batch when items stop arriving, so an idle crawl holds nothing uncommitted long.
            self._timer = task.LoopingCall(self._tick)
            self._timer.start(max(0.5, store.commit_seconds), now=False)

    def _commit(self, force: bool) -> None:
        """Commit the open batch (`force`) or what is due; a store error ends the run through the handle."""
        handle = self.handle
        if handle is not None and handle.store is not None:
            try:
                handle.store.commit() if force else handle.store.maybe_commit()
            except StoreError as exc:
                handle.fail(str(exc))

    def _tick(self) -> None:
        self._commit(force=False)

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self._commit(force=True)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ExtractedItem):
            return item
        handle = self.handle
        if handle is None:
            return item
        store = handle.usable()
        if store is None or handle.error is not None:
            raise NotStored(f"not stored: {handle.error}")
        try:
            outcome = store.save_article(item.article, item.page, handle.run_id)
        except StoreError as exc:
            handle.fail(str(exc))
            raise NotStored(f"not stored: {exc}") from None
        self._inc(statkeys.STORE_OUTCOME.format(outcome))
        if outcome == "unchanged":
            raise AlreadyStored(f"article {item.article.article_id} unchanged since stored", log_level="DEBUG")
        return item

    # ---- failures -------------------------------------------------------------------------------

    def item_dropped(self, item: Any, response: Response | None, exception: BaseException, spider: Spider) -> None:
        """Pages the extraction stage refused ("not an article: ...") or crashed on, with their raw page."""
        if not isinstance(item, PageItem) or not isinstance(exception, NotAnArticlePage | ExtractionCrashed):
            return
        kind = "crashed" if isinstance(exception, ExtractionCrashed) else "refused"
        self._inc(statkeys.STORE_OUTCOME.format(kind))
        handle = self.handle
        store = handle.usable() if handle is not None else None
        if store is None or handle is None:
            return
        try:
            store.record_failure(
                handle.run_id,
                kind,
                item.page.url or item.source_url,
                item.article_id or None,
                str(exception),
                item.page.status,
                item.page,
            )
        except StoreError as exc:
            handle.fail(str(exc))

    def page_failed(
        self, url: str, article_id: str | None = None, reason: str = "", status: int | None = None, **_: Any
    ) -> None:
        """A page no mirror could serve (or a 404/410): recorded so `crawler runs` and users can see it."""
        self._inc(statkeys.STORE_OUTCOME.format("fetch_failed"))
        handle = self.handle
        store = handle.usable() if handle is not None else None
        if store is None or handle is None:
            return
        try:
            store.record_failure(
                handle.run_id,
                "fetch",
                url,
                None if article_id in (None, "") else str(article_id),
                reason or "failed",
                status,
            )
        except StoreError as exc:
            handle.fail(str(exc))


__all__ = ["AlreadyStored", "NotStored", "StorePipeline"]
