"""Item pipeline that stores each extracted article (new, new version, or unchanged) and counts run health."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.http import Response
from twisted.internet import task

from crawler import signals as crawler_signals
from crawler.store import Page, StoreError
from crawler.store.crawl import CrawlStore

logger = logging.getLogger(__name__)


class AlreadyStored(DropItem):
    """The article is in the store with the same text: not exported again (a re-fetch in a refresh run)."""


def _count_health(crawler: Crawler, item: dict[str, Any]) -> None:
    """Field coverage and guard removals of every extracted item, read by the layout-drift alarm."""
    stats = crawler.stats
    assert stats is not None
    stats.inc_value("health/items")
    for field, key in (("published", "published"), ("lead", "lead"), ("section", "section"),
                       ("image_url", "image")):
        if item.get(field):
            stats.inc_value(f"health/with_{key}")
    removed = item.get("_guard_removed") or []
    if removed:
        stats.inc_value("health/guard_removals", len(removed))
    source = item.get("_source")
    if source:
        stats.inc_value(f"source/{source}/items")
    page = item.get("_page")
    if isinstance(page, dict) and page.get("mirror"):
        stats.inc_value(f"store/mirror/{page['mirror']}")


class StorePipeline:
    """Priority 500, after extraction (300) and before the private keys are stripped (900).

    New articles and new versions pass on to the feed exports; an article whose text is already stored is
    dropped quietly (`AlreadyStored`), so a run's JSONL holds what is new or changed. Refused and crashed
    pages (dropped by extraction) and failed fetches (`page_failed`) are recorded with their reason.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.handle = CrawlStore.of(crawler)
        self._timer: task.LoopingCall | None = None
        crawler.signals.connect(self.item_dropped, signal=signals.item_dropped)
        crawler.signals.connect(self.page_failed, signal=crawler_signals.page_failed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        if self.handle is None:
            return
        store = self.handle.open()
        if store is not None:
            # Commit a partial batch when items stop arriving, so an idle crawl holds nothing uncommitted long.
            self._timer = task.LoopingCall(self._tick)
            self._timer.start(max(0.5, store.commit_seconds), now=False)

    def _tick(self) -> None:
        if self.handle is not None and self.handle.store is not None:
            try:
                self.handle.store.maybe_commit()
            except StoreError as exc:
                self.handle.fail(str(exc))

    def close_spider(self) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        if self.handle is not None and self.handle.store is not None:
            try:
                self.handle.store.commit()
            except StoreError as exc:
                self.handle.fail(str(exc))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, dict) or not item.get("article_id"):
            return item
        _count_health(self.crawler, item)
        if self.handle is None:
            return item
        if self.handle.error is not None:
            raise DropItem(f"not stored: {self.handle.error}")
        store = self.handle.open()
        if store is None:
            raise DropItem(f"not stored: {self.handle.error}")
        try:
            outcome = store.save_article(item, Page.from_item(item.get("_page")), self.handle.run_id)
        except StoreError as exc:
            self.handle.fail(str(exc))
            raise DropItem(f"not stored: {exc}") from None
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"store/{outcome}")
        if outcome == "unchanged":
            raise AlreadyStored(f"article {item['article_id']} unchanged since stored", log_level="DEBUG")
        item["_store"] = outcome
        return item

    # ---- failures -------------------------------------------------------------------------------

    def item_dropped(self, item: Any, response: Response | None, exception: BaseException, spider: Spider) -> None:
        """Pages the extraction stage refused ("not an article: ...") or crashed on, with their raw page."""
        if isinstance(exception, AlreadyStored) or not isinstance(item, dict) or "_page" not in item:
            return
        message = str(exception)
        if message.startswith("not stored:"):
            return
        kind = "crashed" if message.startswith("extraction crashed") else "refused"
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"store/{kind}")
        store = self.handle.open() if self.handle is not None and self.handle.error is None else None
        if store is None or self.handle is None:
            return
        page = Page.from_item(item.get("_page"))
        url = (page.url if page else "") or str(item.get("source_url") or item.get("url") or "")
        status = page.status if page else None
        try:
            store.record_failure(self.handle.run_id, kind, url, _str_or_none(item.get("article_id")), message,
                                 status, page)
        except StoreError as exc:
            self.handle.fail(str(exc))

    def page_failed(self, url: str, article_id: str | None = None, reason: str = "", status: int | None = None,
                    **_: Any) -> None:
        """A page no mirror could serve (or a 404/410): recorded so `crawler runs` and users can see it."""
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("store/fetch_failed")
        store = self.handle.open() if self.handle is not None and self.handle.error is None else None
        if store is None or self.handle is None:
            return
        try:
            store.record_failure(self.handle.run_id, "fetch", url, _str_or_none(article_id), reason or "failed",
                                 status)
        except StoreError as exc:
            self.handle.fail(str(exc))


def _str_or_none(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


__all__ = ["AlreadyStored", "StorePipeline"]
