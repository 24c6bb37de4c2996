"""Item pipelines: extraction in a process pool (off the reactor), and the bare Article for the exports.

`ExtractPipeline` (priority 300) turns the spider's `PageItem` into an `ExtractedItem` (the Article, the page,
guard and cleaning removals, the layout) and sends `crawler.crawl.signals.page_extracted`; the store pipeline (500)
reads it. `StripPrivateFieldsPipeline` (900) hands the exports the `Article` alone.

Stats (names in crawler.crawl.statkeys): extract/ok, extract/refused (and extract/refused/<reason>), extract/crashed,
extract/outside_window (published outside since=/until=),
extract/guard_removed (lines), extract/removed/<reason> (lines or blocks), extract/layout/<name>.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

from scrapy.logformatter import LogFormatter, LogFormatterResult
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.misc import load_object
from twisted.internet.defer import Deferred, DeferredLock

from crawler.crawl import settings as defaults
from crawler.crawl import signals as crawler_signals
from crawler.crawl import statkeys
from crawler.crawl.handoff import (
    CaptureRefused,
    ExtractedItem,
    ExtractionCrashed,
    ExtractOutcome,
    NotAnArticlePage,
    OtherMirrorAsked,
    OutsideWindow,
    PageItem,
    page_url,
)
from crawler.crawl.mirrors import count_failure, on_next_mirror, pool_for
from crawler.extract.outletsigns import NOT_OUTLET_PAGE
from crawler.pool.extraction import Crashed, ExtractFunction, ExtractionPool, Outcome, WorkerDied

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


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
        workers = settings.getint("CRAWLER_EXTRACT_WORKERS", defaults.CRAWLER_EXTRACT_WORKERS) or None
        outlet_name = str(settings.get("CRAWLER_OUTLET"))
        # The worker entry point, by dotted path (module level, so worker processes can import it).
        func: ExtractFunction = load_object(
            settings.get("CRAWLER_EXTRACT_FUNCTION") or defaults.CRAWLER_EXTRACT_FUNCTION
        )
        # spawn, not fork: the crawler process runs threads (reactor pools, a test site) that fork would copy
        # mid-lock.
        self._pool = ExtractionPool(outlet_name, workers, func=func, spawn=True)
        self._isolation = ExtractionPool(outlet_name, 1, func=func, spawn=True)
        self._isolation_lock = DeferredLock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def _outcome(self, pool: ExtractionPool, args: tuple[bytes, str, str]) -> Outcome:
        """The worker's answer on a page, in the reactor thread."""
        try:
            future = pool.submit(*args)
        except Exception as exc:  # the page cannot be sent to a worker at all
            return Crashed(f"{type(exc).__name__}: {exc}")
        return await maybe_deferred_to_future(_deferred_from_future(future))

    async def _extract_isolated(self, args: tuple[bytes, str, str], url: str) -> ExtractOutcome:
        """Extract one page in the single isolation worker, no other page beside it."""
        await maybe_deferred_to_future(self._isolation_lock.acquire())
        try:
            result = await self._outcome(self._isolation, args)
            if isinstance(result, WorkerDied):
                self._isolation.restart(result.generation)
                self._crashed(url, "the extraction worker died on this page")
            if isinstance(result, Crashed):
                self._crashed(url, result.message)
            return result
        finally:
            self._isolation_lock.release()

    def _crashed(self, url: str, what: str) -> NoReturn:
        self._inc(statkeys.EXTRACT_CRASHED)
        logger.error("extraction crashed on %s: %s", url, what)
        raise ExtractionCrashed(f"extraction crashed: {what} on {url}")

    def open_spider(self) -> None:
        # Start the workers now (they import the extraction stack while discovery runs), not at the first page.
        self._pool.start()

    def close_spider(self) -> None:
        self._pool.close()
        self._isolation.close()

    def _inc(self, key: str, count: int = 1) -> None:
        assert self.stats is not None
        self.stats.inc_value(key, count)

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageItem):
            return item
        page = item.page
        args = (page.html, page.url, page.mirror or "")
        result = await self._outcome(self._pool, args)
        if isinstance(result, WorkerDied):
            # A worker died (segfault, OOM kill) and took every page pending in the pool with it. Rebuild the
            # pool, and retry each of those pages alone in the isolation worker, one at a time: the page that
            # kills that worker too is the culprit, and only it is lost (counted and logged).
            if self._pool.restart(result.generation):
                self._inc(statkeys.EXTRACT_POOL_REBUILT)
                logger.error(
                    "an extraction worker died (while on %s or a page beside it); restarting the pool", page.url
                )
            result = await self._extract_isolated(args, page.url)
        if isinstance(result, Crashed):
            self._crashed(page.url, result.message)
        return self.accept(item, result)

    def _ask_other_mirror(self, item: PageItem) -> None:
        """A mirror served another site's page under the article's URL (a lapsed domain, parked or taken over):
        that counts against the mirror, and the next untried mirror is asked for the article (raises
        OtherMirrorAsked). Returns when there is none, and the page is refused as any other."""
        pool = pool_for(self.crawler.spider)
        if item.request is None or pool is None or "mirror_path" not in item.request.meta:
            return
        netloc = urlsplit(item.page.url).netloc
        count_failure(pool, netloc, statkeys.NOT_OUTLET_PAGE_REASON, self.stats)
        retry = on_next_mirror(item.request, pool)
        if retry is None:
            return
        logger.info("failover: %s served another site's page for %s -> %s", netloc, item.article_id, retry.url)
        assert self.crawler.engine is not None
        self.crawler.engine.crawl(retry)
        raise OtherMirrorAsked(f"{netloc} served another site's page; asking {retry.url}")

    def accept(self, item: PageItem, raw: Any) -> ExtractedItem:
        """The extracted item for a worker's answer on `item` (counted, `page_extracted` sent); raises
        NotAnArticlePage for a refusal and ExtractionCrashed for an answer that is not an outcome."""
        page = item.page
        try:
            result = ExtractOutcome.coerce(raw)
        except (TypeError, ValueError) as exc:
            self._crashed(page.url, str(exc))
        # The store (or its failure record) uses these instead of redoing them.
        page.compressed, page.sha256 = result.compressed or page.compressed, result.sha256 or page.sha256
        if result.article is None and item.fallback is not None:
            # An archived capture refused (post-seizure captures are the seizure notice): the next older capture
            # of the same article is asked for, like a mirror failover.
            reason = str(result.refused or "no article")
            self._inc(statkeys.ARCHIVE_CAPTURE_REFUSED.format(item.source, reason_key(reason)))
            assert self.crawler.engine is not None
            self.crawler.engine.crawl(item.fallback)
            raise CaptureRefused(f"archived capture refused ({reason}); trying an older capture")
        if result.article is None and str(result.refused or "").startswith(NOT_OUTLET_PAGE):
            self._ask_other_mirror(item)
        if result.article is None:
            reason = str(result.refused or "no article")
            self._inc(statkeys.EXTRACT_REFUSED)
            self._inc(statkeys.EXTRACT_REFUSED_REASON.format(reason_key(reason)))
            raise NotAnArticlePage(f"not an article: {reason}")
        # An undated URL (/detail/<id>.html) passed discovery's window check unseen: its date is known only now.
        in_window = getattr(self.crawler.spider, "published_in_window", None)
        if in_window is not None and not in_window(result.article.published):
            self._inc(statkeys.EXTRACT_OUTSIDE_WINDOW)
            raise OutsideWindow(
                f"published {result.article.published}, outside the crawl's since=/until= window", log_level="INFO"
            )
        # Provenance is a fact of the fetch, not of the page's text: the worker cannot know it.
        result.article.fetched_from = page.fetched_from
        result.article.archived_at = page.archived_at
        out = ExtractedItem(
            article=result.article,
            page=page,
            source=item.source,
            guard_removed=result.guard_removed,
            removed=result.removed,
            layout=result.layout,
            layout_misses=result.layout_misses,
        )
        self._inc(statkeys.EXTRACT_OK)
        self._inc(statkeys.EXTRACT_LAYOUT.format(out.layout))
        if out.guard_removed:
            self._inc(statkeys.EXTRACT_GUARD_REMOVED, len(out.guard_removed))
        for reason, removed in out.removed.items():
            if removed:
                self._inc(statkeys.EXTRACT_REMOVED.format(reason), len(removed))
        self.crawler.signals.send_catch_log(signal=crawler_signals.page_extracted, item=out)
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
    """The exports get the bare Article: no page bytes, removals or layout bookkeeping (Article fields only)."""

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ExtractedItem):
            return item.article
        return item


class PageLogFormatter(LogFormatter):
    """Scrapy's log lines, but a dropped page is named by its URL, not dumped with its raw HTML."""

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any = None) -> LogFormatterResult:
        result = super().dropped(item, exception, response, spider)
        url = page_url(item)
        if url:
            article_id = item.article.article_id if isinstance(item, ExtractedItem) else getattr(item, "article_id", "")
            result["msg"] = "Dropped %(url)s (article %(article_id)s): %(exception)s"
            result["args"] = {"url": url, "article_id": article_id, "exception": exception}
        return result
