"""scrapy-redis's scheduler, queue and dupe filter, fitted to Scrapy 2.19 and to one crawl run of many workers.

Thin subclasses of scrapy-redis 0.9.1 that fix what it gets wrong on Scrapy 2.19: it passes the deprecated
`spider=` argument to stats calls, logs through the deprecated `Spider.log`, and builds its dupe filter with
`from_settings`, which Scrapy's own dupe filters no longer have. They also give every key the run's prefix,
share one Redis connection pool per process, record what a worker takes from the queue (so another worker
can hand it back if this one dies), and turn a Redis that went away into one clear line instead of a traceback.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider
from scrapy_redis import picklecompat
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from crawler.core.articlekey import article_fingerprint, continues_article
from crawler.core.redact import redact
from crawler.crawl import statkeys
from crawler.crawl.frontier import REDIS_ERRORS, FrontierState

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


def inflight_field(request: Request, data: bytes) -> str:
    """The key of a taken request in its worker's in-flight hash: the article id, else the request's bytes."""
    return article_fingerprint(request) or "r:" + hashlib.sha1(data).hexdigest()


# Pop the first request and record it in the worker's in-flight hash in one step, so a worker killed between the
# two can never take a request with it: it is on the queue or in flight, never neither.
_POP_INTO_INFLIGHT = """
local item = redis.call('ZRANGE', KEYS[1], 0, 0)
if #item == 0 then return false end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, 0)
redis.call('HSET', KEYS[2], 'p:' .. redis.sha1hex(item[1]), item[1])
return item[1]
"""


class FrontierQueue(PriorityQueue):
    """scrapy-redis's priority queue (a sorted set), popped atomically into a worker's in-flight hash."""

    def pop_into(self, inflight_key: str) -> tuple[bytes, Request] | None:
        """The first request, already recorded in `inflight_key` under "p:<sha1 of its bytes>"; None when the
        queue is empty."""
        raw = self.server.eval(_POP_INTO_INFLIGHT, 2, self.key, inflight_key)
        if raw is None:
            return None
        data = bytes(raw)
        return data, self._decode_request(data)

    def encode(self, request: Request) -> bytes:
        return bytes(self._encode_request(request))


class FrontierDupeFilter(RFPDupeFilter):
    """Requests for an article are duplicates when they carry the same `meta["article_id"]`, on any worker and
    whatever the mirror or URL variant; other requests (feeds, sitemaps, listings) by scrapy-redis's URL
    fingerprint. The seen set is the run's (`crawler:<spider>:<run>:seen`), so the next run fetches feeds
    and listings again; whether an article is stored already is the store's to say, not Redis's.

    A redirect of an article request continues a request already let in and is never filtered."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        state = FrontierState.of(crawler)
        return cls(state.client, key=state.keys.seen, debug=crawler.settings.getbool("DUPEFILTER_DEBUG"))

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        raise TypeError("FrontierDupeFilter is built by FrontierScheduler (from_crawler), not from settings")

    @classmethod
    def from_spider(cls, spider: Spider) -> Self:
        return cls.from_crawler(spider.crawler)

    def request_fingerprint(self, request: Request) -> str:
        return article_fingerprint(request) or str(super().request_fingerprint(request))

    def request_seen(self, request: Request) -> bool:
        return False if continues_article(request) else bool(super().request_seen(request))

    def close(self, reason: str = "") -> None:
        """Keep the seen set: the other workers of the run still use it (it expires after the run)."""


class FrontierScheduler(Scheduler):
    """The Redis scheduler of one worker: the run's shared queue, persisted (never flushed by a worker)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        state = FrontierState.of(crawler)
        instance = cls(
            server=state.client,
            persist=True,
            queue_key=state.keys.queue,
            queue_cls="crawler.crawl.frontier.scheduler.FrontierQueue",
            dupefilter=FrontierDupeFilter.from_crawler(crawler),
            dupefilter_key=state.keys.seen,
            serializer=picklecompat,
        )
        instance.stats = crawler.stats
        instance.state = state
        instance.crawler = crawler
        return instance

    state: FrontierState
    crawler: Crawler
    queue: FrontierQueue
    _warned = False

    def open(self, spider: Spider) -> None:
        self.spider = spider
        self.queue = FrontierQueue(server=self.server, spider=spider, key=self.queue_key, serializer=self.serializer)
        if self.state.error is not None:
            return  # reported by the worker extension when the spider opens
        try:
            waiting = len(self.queue)
        except REDIS_ERRORS as exc:
            self.state.error = self.state.unreachable(exc)
            return
        if waiting:
            logger.info("Joining crawl run %s of the frontier: %d requests queued", self.state.run, waiting)
        else:
            logger.info("Crawl run %s on the frontier %s", self.state.run, self.state.shown_url)

    def close(self, reason: str) -> None:
        """Nothing to flush: the queue and the seen set belong to every worker of the run."""

    def _lost(self, exc: BaseException) -> None:
        if not self._warned:
            self._warned = True
            logger.warning("crawler: frontier Redis unreachable (%s); retrying", redact(" ".join(str(exc).split())))

    def enqueue_request(self, request: Request) -> bool:
        if self.state.error is not None:
            return False
        try:
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            self.queue.push(request)
        except REDIS_ERRORS as exc:
            self._lost(exc)
            assert self.stats is not None
            self.stats.inc_value(statkeys.FRONTIER_ENQUEUE_FAILED)
            return False
        self._warned = False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.state.error is not None:
            return None
        try:
            inflight = self.state.keys.inflight(self.state.worker)
            popped = self.queue.pop_into(inflight)
            if popped is None:
                return None
            data, request = popped
            field = inflight_field(request, data)
            # Under the name the acknowledgement uses (the article id); until then it is in flight as "p:...".
            pipe = self.server.pipeline()
            pipe.hset(inflight, field, data)
            pipe.hdel(inflight, "p:" + hashlib.sha1(data).hexdigest())
            pipe.execute()
        except REDIS_ERRORS as exc:
            self._lost(exc)
            return None
        self._warned = False
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        if self.state.error is not None:
            return False
        try:
            return len(self.queue) > 0
        except REDIS_ERRORS as exc:
            self._lost(exc)
            return False


__all__ = ["FrontierDupeFilter", "FrontierQueue", "FrontierScheduler", "inflight_field"]
