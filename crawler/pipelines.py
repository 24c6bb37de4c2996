"""Item pipelines: extraction in a process pool (off the reactor), and stripping private keys before export.

`ExtractPipeline` (priority 300) turns a page item from the spider into an Article dict plus the private keys
`_page`, `_source`, `_hints`, `_guard_removed` (list of removed lines) and `_layout`; later pipelines (the
store, 500) read those. `StripPrivateFieldsPipeline` (900) removes every key starting with "_", so exports
hold only Article fields.

Stats: extract/ok, extract/refused (and extract/refused/<reason>), extract/crashed, extract/guard_removed
(lines), extract/layout/<name>.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import re
import threading
import time
import zlib
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, NoReturn

from scrapy.exceptions import DropItem
from scrapy.logformatter import LogFormatter, LogFormatterResult
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet.defer import Deferred, DeferredLock

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


_watching_parent = False


def _exit_with_parent() -> None:
    """In a worker: exit as soon as the crawl process that started it is gone (SIGKILL, OOM killer). A pool
    worker otherwise blocks on its task queue forever (it holds the queue's write end itself), an orphan
    keeping its memory, one more after every killed run."""
    global _watching_parent
    if _watching_parent:
        return
    _watching_parent = True
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _warm_up() -> None:
    """Import the extraction stack once per worker, so the first page does not pay for it; tie the worker's
    life to the crawl's."""
    _exit_with_parent()
    import crawler.extract  # noqa: F401


def extract_page(html: bytes, url: str, mirror: str, outlet_name: str) -> dict[str, Any]:
    """Run in a worker process: the article dict, guard removals and layout, or {"refused": reason}.

    A page served by a mirror that no outlet profile knows (a loopback stand-in, a new CDN host) is
    extracted as the same path on the outlet's canonical host, then credited to the host it came from.
    """
    from crawler.extract import NotAnArticle, extract_full
    from crawler.outlet import load_outlet
    from crawler.store.sqlite import ZLIB_LEVEL

    outlet = load_outlet(outlet_name)
    # The store keeps the raw page zlib-compressed under its SHA-256: doing both here, in the worker, keeps
    # ~5 ms a page of CPU off the reactor thread (bench/crawl.py; docs/performance.md).
    stored = {"html_zlib": zlib.compress(html, ZLIB_LEVEL), "html_sha256": hashlib.sha256(html).hexdigest()}
    try:
        result = extract_full(html, outlet.extraction_url(url), outlet)
    except NotAnArticle as exc:
        return {"refused": exc.reason, **stored}
    article = result.article
    article.source_url = url
    article.mirror = mirror
    return {"article": article.to_dict(), "guard_removed": list(result.guard_removed), "layout": result.layout,
            **stored}


_REASON_KEY = re.compile(r"\s*(?:\(.*|:.*)$")


def reason_key(reason: str) -> str:
    """A stats-key form of a refusal reason: the words before any detail ("too little text ... (12 words)")."""
    return _REASON_KEY.sub("", reason).strip().replace("/", " ") or "unknown"


class ExtractPipeline:
    """Extract each page item in a process pool; drop non-articles and crashes with their reason counted."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats
        settings = crawler.settings
        self.workers = settings.getint("CRAWLER_EXTRACT_WORKERS", 0) or os.cpu_count() or 1
        self.outlet_name = settings.get("CRAWLER_OUTLET", "presstv")
        # The worker entry point, by dotted path (module level, so worker processes can import it).
        self.extract_func = load_object(settings.get("CRAWLER_EXTRACT_FUNCTION") or "crawler.pipelines.extract_page")
        self._executor: ProcessPoolExecutor | None = None
        self._isolation: ProcessPoolExecutor | None = None
        self._isolation_lock = DeferredLock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the crawler process runs threads (reactor pools, a test site) that fork would
            # copy mid-lock.
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm_up)
        return self._executor

    async def _extract_isolated(self, args: tuple[Any, ...], url: str) -> dict[str, Any]:
        """Extract one page in the single isolation worker, no other page beside it."""
        await maybe_deferred_to_future(self._isolation_lock.acquire())
        try:
            if self._isolation is None:
                self._isolation = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                                      initializer=_warm_up)
            future = self._isolation.submit(self.extract_func, *args)
            try:
                result: dict[str, Any] = await maybe_deferred_to_future(_deferred_from_future(future))
            except BrokenProcessPool:
                self._isolation.shutdown(wait=False)
                self._isolation = None
                self._crashed(url, "the extraction worker died on this page")
            except Exception as exc:
                self._crashed(url, f"{type(exc).__name__}: {exc}")
            return result
        finally:
            self._isolation_lock.release()

    def _crashed(self, url: str, what: str) -> NoReturn:
        self._inc("extract/crashed")
        logger.error("extraction crashed on %s: %s", url, what)
        raise DropItem(f"extraction crashed: {what} on {url}")

    def open_spider(self) -> None:
        # Start the workers now (they import the extraction stack while discovery runs), not at the first page.
        pool = self._pool()
        for _ in range(self.workers):
            pool.submit(_warm_up)

    def close_spider(self) -> None:
        for pool in (self._executor, self._isolation):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._executor = self._isolation = None

    def _inc(self, key: str, count: int = 1) -> None:
        assert self.stats is not None
        self.stats.inc_value(key, count)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, dict) or "_page" not in item:
            return item
        page = item["_page"]
        args = (page["html"], page["url"], page["mirror"], self.outlet_name)
        executor = self._pool()
        try:
            result: dict[str, Any] = await maybe_deferred_to_future(
                _deferred_from_future(executor.submit(self.extract_func, *args)))
        except BrokenProcessPool:
            # A worker died (segfault, OOM kill) and took every page pending in the pool with it. Rebuild the
            # pool, and retry each of those pages alone in the isolation worker, one at a time: the page that
            # kills that worker too is the culprit, and only it is lost (counted and logged).
            if self._executor is executor:
                self._inc("extract/pool_rebuilt")
                logger.error("an extraction worker died (while on %s or a page beside it); restarting the pool",
                             page["url"])
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
            result = await self._extract_isolated(args, page["url"])
        except Exception as exc:
            self._crashed(page["url"], f"{type(exc).__name__}: {exc}")
        assert result is not None
        if "html_zlib" in result:  # the store (or its failure record) uses these instead of redoing them
            page["html_zlib"], page["html_sha256"] = result["html_zlib"], result["html_sha256"]
        if "refused" in result:
            reason = str(result["refused"])
            self._inc("extract/refused")
            self._inc(f"extract/refused/{reason_key(reason)}")
            raise DropItem(f"not an article: {reason}")
        out: dict[str, Any] = dict(result["article"])
        for key, value in item.items():
            if key.startswith("_"):
                out[key] = value
        out["_guard_removed"] = result["guard_removed"]
        out["_layout"] = result["layout"]
        self._inc("extract/ok")
        self._inc(f"extract/layout/{result['layout']}")
        if result["guard_removed"]:
            self._inc("extract/guard_removed", len(result["guard_removed"]))
        return out


def _deferred_from_future(future: Future[Any]) -> Deferred[Any]:
    """A Deferred fired (in the reactor thread) when a concurrent.futures Future completes; any reactor."""
    from twisted.internet import reactor

    d: Deferred[Any] = Deferred()

    def fire(f: Future[Any]) -> None:
        exc = f.exception()
        if exc is not None:
            d.errback(exc)
        else:
            d.callback(f.result())

    future.add_done_callback(lambda f: reactor.callFromThread(fire, f))
    return d


class StripPrivateFieldsPipeline:
    """Remove every key starting with "_" (page bytes, hints, guard counts): exports hold Article fields only."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, dict):
            return {k: v for k, v in item.items() if not str(k).startswith("_")}
        return item


class PageLogFormatter(LogFormatter):
    """Scrapy's log lines, but a dropped page is named by its URL, not dumped with its raw HTML."""

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any = None) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        if isinstance(item, dict):
            page = item.get("_page") or {}
            result["msg"] = "Dropped %(url)s (article %(article_id)s): %(exception)s"
            result["args"] = {"url": page.get("url", item.get("source_url", "")),
                              "article_id": item.get("article_id"), "exception": exception}
        return result
