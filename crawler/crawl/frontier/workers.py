"""One worker among many: heartbeat, the whole-crawl idle end, hand-back of a dead worker's requests, shared
mirror health.

Every `TICK` seconds a worker says it is alive, and while it has anything to do (requests queued, downloading
or being processed, start requests left) it keeps the run's `busy` key alive for CRAWLER_FRONTIER_IDLE_SECONDS.
A worker ends only when the shared queue is empty, no worker holds requests in flight and `busy` has expired:
the whole crawl has been idle that long, not merely this worker's share of it.

Requests a worker takes from the queue sit in its in-flight hash until they are done (stored, refused,
failed, skipped) or the worker is idle. A worker that stops saying it is alive (killed, machine gone) has its
in-flight requests put back on the queue by another; articles it stored already are skipped by the store
check, so nothing is lost and nothing is stored twice.

A mirror set aside by one worker is set aside for all until its cooldown ends.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import redis
from scrapy import Request, Spider, signals
from scrapy.exceptions import DontCloseSpider, IgnoreRequest
from scrapy.http import Response
from scrapy_redis import picklecompat
from twisted.internet import task

from crawler.core.articlekey import article_key
from crawler.core.redact import redact
from crawler.core.status import ExitStatus
from crawler.crawl import signals as crawler_signals
from crawler.crawl import statkeys
from crawler.crawl.frontier import REDIS_ERRORS, FrontierState, redis_text
from crawler.crawl.mirrors import MirrorPool, pool_for

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

TICK = 0.5
"""Seconds between a worker's heartbeats (and its checks for work, dead workers and the idle end)."""
ALIVE_SECONDS = 10.0
"""A worker silent this long is taken for dead and its in-flight requests are handed back."""
LOST_SECONDS = 20.0
"""A worker that cannot reach Redis for this long stops with one line (redis-py retries within each call)."""
SEED_WAIT_SECONDS = 120.0
"""How long a joining worker waits for the seeding one to open before an empty run counts as idle."""
DONE_TTL = 24 * 3600
"""How long a finished run's seen set is kept (for looking at it with redis-cli), in seconds."""


class FrontierWorker:
    """The worker's side of the shared crawl (loaded by the Frontier add-on)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.state = FrontierState.of(crawler)  # NotConfigured without CRAWLER_FRONTIER
        self.keys = self.state.keys
        self.started = time.monotonic()
        self.closing = False
        self._loop: task.LoopingCall | None = None
        self._unreachable_since: float | None = None
        self._published: set[str] = set()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.item_done, signal=signals.item_scraped)
        crawler.signals.connect(self.item_done, signal=signals.item_dropped)
        crawler.signals.connect(self.page_failed, signal=crawler_signals.page_failed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @property
    def client(self) -> Any:
        return self.state.client

    # ---- start and end ------------------------------------------------------------------------------

    def spider_opened(self, spider: Spider) -> None:
        if self.state.error is not None:
            self.closing = True
            self.state.fail(self.state.error)
            return
        try:
            pipe = self.client.pipeline()
            pipe.set(self.keys.marker, str(int(time.time())), nx=True)
            if self.state.seed:
                pipe.set(self.keys.seeded, self.state.worker)
                pipe.set(self.keys.busy, self.state.worker, px=int(self.state.idle_seconds * 1000))
            pipe.sadd(self.keys.workers, self.state.worker)
            pipe.set(self.keys.alive(self.state.worker), "1", px=int(ALIVE_SECONDS * 1000))
            pipe.execute()
        except REDIS_ERRORS as exc:
            self.closing = True
            self.state.fail(self.state.unreachable(exc))
            return
        self.started = time.monotonic()  # the idle clock starts when this worker can take work
        logger.info(
            "Frontier worker %s in run %s (%s)",
            self.state.worker,
            self.state.run,
            "seeding discovery" if self.state.seed else "joined",
        )
        self._loop = task.LoopingCall(self.tick)
        self._loop.start(TICK, now=False)

    def spider_idle(self, spider: Spider) -> None:
        """This worker has nothing to do: it stays until the whole crawl is idle (the tick decides)."""
        if not self.closing:
            raise DontCloseSpider

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.closing = True
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        stats = self.crawler.stats
        assert stats is not None
        lost = int(stats.get_value(statkeys.FRONTIER_ENQUEUE_FAILED, 0) or 0)
        from crawler.crawl.control import exit_status, set_exit_status

        if lost and not exit_status(self.crawler):
            logger.error(
                "crawler: %d requests could not be queued while the frontier Redis was unreachable; run "
                "the crawl again to fetch them (stored articles are skipped)",
                lost,
            )
            set_exit_status(self.crawler, ExitStatus.FRONTIER_ERROR)
        if self.state.error is not None:
            return
        try:
            pipe = self.client.pipeline()
            pipe.delete(self.keys.alive(self.state.worker))
            if reason in ("finished", "shutdown"):
                # Everything taken was handled (a shutdown lets downloads in flight finish); anything else
                # (a store error) leaves the in-flight hash for another worker to hand back.
                pipe.delete(self.keys.inflight(self.state.worker))
                pipe.srem(self.keys.workers, self.state.worker)
            if reason == "finished":
                for key in (
                    self.keys.seen,
                    self.keys.marker,
                    self.keys.seeded,
                    self.keys.health,
                    self.keys.health_urls,
                ):
                    pipe.expire(key, DONE_TTL)
            pipe.execute()
        except REDIS_ERRORS:
            logger.debug("frontier unreachable at close: the others see this worker's heartbeat expire")

    # ---- acknowledgements ---------------------------------------------------------------------------

    def _ack(self, article_id: Any) -> None:
        name = article_key(article_id)
        if name is None or self.state.error is not None:
            return
        with contextlib.suppress(*REDIS_ERRORS):  # else cleared when this worker is idle
            self.client.hdel(self.keys.inflight(self.state.worker), name)

    def item_done(self, item: Any, response: Response | None = None, **_: Any) -> None:
        self._ack(getattr(item, "article_id", None) or (response.meta.get("article_id") if response else None))

    def page_failed(self, article_id: str | None = None, **_: Any) -> None:
        self._ack(article_id)

    # ---- the tick -----------------------------------------------------------------------------------

    def tick(self) -> None:
        if self.closing:
            return
        try:
            self._tick()
        except REDIS_ERRORS as exc:
            now = time.monotonic()
            if self._unreachable_since is None:
                self._unreachable_since = now
                logger.warning("crawler: frontier Redis unreachable (%s); retrying", redact(" ".join(str(exc).split())))
            elif now - self._unreachable_since >= LOST_SECONDS:
                self.closing = True
                self.state.fail(
                    self.state.unreachable(exc) + f" for {LOST_SECONDS:g}s: stopping; run the crawl "
                    "again to finish it (stored articles are skipped)"
                )
            return
        if self._unreachable_since is not None:
            logger.info("crawler: frontier Redis reachable again")
            self._unreachable_since = None

    def _tick(self) -> None:
        engine = self.crawler.engine
        if engine is None or engine.spider is None:
            return
        keys, me = self.keys, self.state.worker
        busy = not engine.spider_is_idle()
        pipe = self.client.pipeline()
        pipe.set(keys.alive(me), "1", px=int(ALIVE_SECONDS * 1000))
        pipe.sadd(keys.workers, me)
        if busy:
            pipe.set(keys.busy, me, px=int(self.state.idle_seconds * 1000))
        else:
            pipe.delete(keys.inflight(me))  # idle: everything taken from the queue has been handled
        pipe.exists(keys.marker)
        pipe.zcard(keys.queue)
        pipe.smembers(keys.workers)
        *_, marker, queued, workers = pipe.execute()
        if not marker:
            self.closing = True
            self.state.fail(
                f"the frontier Redis at {self.state.shown_url} lost crawl run {self.state.run} (restarted "
                "without saving?): stopping; run the crawl again to finish it (stored articles are "
                "skipped)"
            )
            return
        self._share_mirror_health()
        self._hand_back_dead(workers)
        if busy:
            if queued and not engine.needs_backout():
                _wake(engine)
            return
        if queued:
            _wake(engine)
            return
        if time.monotonic() - self.started < self.state.idle_seconds:
            return
        pipe = self.client.pipeline()
        pipe.exists(keys.seeded)
        pipe.exists(keys.busy)
        pipe.zcard(keys.queue)
        for worker in workers:
            pipe.exists(keys.inflight(redis_text(worker)))
        seeded, busy_anywhere, queued, *inflight = pipe.execute()
        if busy_anywhere or queued or any(inflight):
            return
        if not seeded and time.monotonic() - self.started < max(SEED_WAIT_SECONDS, self.state.idle_seconds):
            return  # the seeding worker has not opened yet (it may start slower than this one)
        logger.info(
            "The whole crawl (run %s) has been idle for %gs: this worker ends", self.state.run, self.state.idle_seconds
        )
        self.closing = True
        from crawler.crawl.control import close_spider_soon

        close_spider_soon(self.crawler, "finished")

    def _hand_back_dead(self, workers: set[Any]) -> None:
        """Put the in-flight requests of workers that stopped saying they are alive back on the queue."""
        keys, me = self.keys, self.state.worker
        for raw in workers:
            worker = redis_text(raw)
            if worker == me or self.client.exists(keys.alive(worker)):
                continue
            claimed = f"{keys.inflight(worker)}:claimed-by:{me}"
            try:
                self.client.rename(keys.inflight(worker), claimed)  # only one worker wins the rename
            except redis.exceptions.ResponseError:  # "no such key": nothing was in flight
                self.client.srem(keys.workers, worker)
                continue
            entries = self.client.hgetall(claimed)
            pipe = self.client.pipeline()
            for data in entries.values():
                priority = int(picklecompat.loads(data).get("priority", 0))
                pipe.execute_command("ZADD", keys.queue, -priority, data)
            pipe.delete(claimed)
            pipe.srem(keys.workers, worker)
            pipe.execute()
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(statkeys.FRONTIER_REQUEUED, len(entries))
            logger.warning(
                "worker %s stopped answering: %d of its requests are back on the queue", worker, len(entries)
            )

    def _share_mirror_health(self) -> None:
        pool = pool_for(self.crawler.spider)
        if not isinstance(pool, MirrorPool):
            return
        now = time.monotonic()
        pipe = self.client.pipeline()
        for mirror in pool.mirrors:
            left = mirror.set_aside_until - now
            key = self.keys.aside(mirror.netloc)
            if left > 0 and mirror.netloc not in self._published:
                pipe.set(key, self.state.worker, px=max(1, int(left * 1000)))
                self._published.add(mirror.netloc)
            elif left <= 0 and mirror.netloc in self._published:
                # Back (a usable response) or its cooldown ended here: back for everyone.
                pipe.delete(key)
                self._published.discard(mirror.netloc)
        for mirror in pool.mirrors:
            pipe.pttl(self.keys.aside(mirror.netloc))
        results = pipe.execute()
        for mirror, ttl in zip(pool.mirrors, results[-len(pool.mirrors) :], strict=True):
            if ttl and int(ttl) > 0 and mirror.set_aside_until <= now:
                mirror.set_aside_until = now + int(ttl) / 1000
                self._published.add(mirror.netloc)
                logger.info("mirror %s set aside by another worker for %.0fs", mirror.netloc, int(ttl) / 1000)


class FrontierAckMiddleware:
    """Downloader middleware (outermost): an article request some component dropped (already stored, given up)
    is done, so it leaves this worker's in-flight hash."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.worker: FrontierWorker | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        FrontierState.of(crawler)  # NotConfigured without CRAWLER_FRONTIER
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, IgnoreRequest):
            if self.worker is None:
                self.worker = self.crawler.get_extension(FrontierWorker)
            if self.worker is not None:
                self.worker._ack(request.meta.get("article_id"))
        return None


def _wake(engine: Any) -> None:
    """Ask the engine for the next requests now instead of at its next 5 s heartbeat (private in Scrapy 2.19,
    hence the guard: without it the heartbeat still comes)."""
    slot = getattr(engine, "_slot", None)
    nextcall = getattr(slot, "nextcall", None)
    if nextcall is not None:
        nextcall.schedule()


__all__ = ["FrontierAckMiddleware", "FrontierWorker"]
