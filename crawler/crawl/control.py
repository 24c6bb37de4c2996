"""Crawl control every component shares: the run's exit status (the first cause wins), closing the spider soon,
and a page given up.

The store (exit 5), the shared frontier (7), the mirrors (1), the archives (6) and the layout alarm (3) all stop
or mark a run through these, so a later symptom of a failure never hides its cause: a store that failed makes
the crawl stop, its pages in flight may then fail on every mirror, and the run still exits 5, not 1.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.utils.defer import deferred_from_coro

from crawler.crawl import signals, statkeys

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler

logger = logging.getLogger("crawler.crawl.middlewares")  # the logger users filter page failures by


def set_exit_status(crawler: Crawler, status: int) -> None:
    """Set the crawl's exit status unless an earlier failure already set one (the first cause wins)."""
    assert crawler.stats is not None
    if not crawler.stats.get_value(statkeys.EXIT_STATUS):
        crawler.stats.set_value(statkeys.EXIT_STATUS, int(status))


def exit_status(crawler: Crawler) -> int:
    """The crawl's exit status so far (0: no failure set one)."""
    assert crawler.stats is not None
    return int(crawler.stats.get_value(statkeys.EXIT_STATUS) or 0)


def close_spider_soon(crawler: Crawler, reason: str) -> None:
    """Ask the engine to close the spider (from a signal handler or a component; no-op before it runs)."""
    # `crawler.engine` raises until the crawl starts; Scrapy documents `_engine` as the way to look before.
    engine = getattr(crawler, "_engine", None)
    if engine is not None and engine.spider is not None:
        deferred_from_coro(engine.close_spider_async(reason=reason))


def report_page_failed(
    crawler: Crawler, request: Request, reason: str, status: int | None, key: str | None = None
) -> None:
    """A page given up: counted (page_failed/count, page_failed/<key or status>), logged as one WARNING line and
    sent as `crawler.crawl.signals.page_failed` (the store records it)."""
    assert crawler.stats is not None
    crawler.stats.inc_value(statkeys.PAGE_FAILED_COUNT)
    crawler.stats.inc_value(statkeys.PAGE_FAILED_REASON.format(key or status))
    logger.warning("page failed: %s (%s)", request.meta.get("source_url", request.url), reason)
    crawler.signals.send_catch_log(
        signal=signals.page_failed,
        url=request.meta.get("source_url", request.url),
        article_id=request.meta.get("article_id"),
        reason=reason,
        status=status,
    )
