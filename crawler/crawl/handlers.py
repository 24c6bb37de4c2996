"""When each request may leave: web archives' pauses and rates, and the per-host rate of the whole crawl
(CRAWLER_HOST_RATE requests per second), shared in Redis.

Web archives: a 429/503 pauses every request to that archive until the time it names (set as the answer
arrives, so no request already queued slips out first); on the shared frontier each archive slot's rate
(CRAWLER_WAYBACK_CDX_RATE, ...) is reserved in Redis like the host rate below, so N workers together keep it.

Every worker asks Redis for the next free send time of a host before each request leaves (GCRA without a
burst: one Lua script reserves `max(now, next free) ` and moves the next free time on by 1/rate, on Redis's
own clock), then waits until that time. So N workers on any number of machines together send a host no more
than one worker would, spaced evenly. The wait happens in the download handler, after Scrapy's own slot
queues, at the moment the request is really sent; a download timeout counts from after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.exceptions import IgnoreRequest

from crawler.crawl import frontier
from crawler.crawl import settings as defaults
from crawler.crawl.frontier import FrontierState, frontier_url, rate_key

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

# KEYS[1] the host's key, ARGV[1] the interval in microseconds. Returns microseconds to wait.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, free)
redis.call('SET', KEYS[1], string.format('%d', at + interval), 'PX', math.ceil((at + interval - now) / 1000) + 1000)
return at - now
"""


class HostRateLimiter:
    """Reserves send times per host[:port] for every worker of every crawl using the same Redis."""

    def __init__(self, client: Any, rate: float) -> None:
        self.client = client
        self.interval_us = int(1_000_000 / rate)
        self._reserve = client.register_script(_RESERVE)

    async def wait_turn(self, host: str) -> float:
        """Wait until this request may go to `host`; returns the seconds waited.

        A turn woken up late (a busy process) is given up for a new one: requests that all overslept their
        turns must not then leave together."""
        interval = self.interval_us / 1_000_000
        waited = 0.0
        for _ in range(5):
            try:
                wait = int(self._reserve(keys=[rate_key(host)], args=[self.interval_us])) / 1_000_000
            except frontier.REDIS_ERRORS:  # looked up only on an error: redis is imported with a frontier only
                # Not the host's fault, so not a download failure: keep at least this worker's own share polite
                # (the worker extension stops the crawl if Redis stays away).
                wait = interval
            due = time.monotonic() + wait
            if wait > 0:
                await asyncio.sleep(wait)
            waited += wait
            if time.monotonic() - due < interval / 2:
                break
        return waited


# KEYS: the keys of one archive's slots, ARGV[1] the pause in microseconds: none of them is free before then.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  local free = tonumber(redis.call('GET', key) or '0')
  if free < until_ then
    redis.call('SET', key, string.format('%d', until_), 'PX', math.ceil((until_ - now) / 1000) + 1000)
  end
end
return 0
"""


class ArchivePace:
    """When requests to a web archive may leave: paused after its 429/503 (Retry-After), and, on the shared
    frontier, at its configured rate for every worker together (a Redis key per archive slot, reserved like
    the host rate). The pause is set the moment the 429 arrives, before its download slot lets the next request
    go, and every request waits for it at the moment it is really sent: none reaches the archive before the
    time the archive named."""

    def __init__(self, crawler: Crawler, client: Any | None) -> None:
        from crawler.crawl.spiders.archived import SLOT_SOURCE, SLOT_URL_SETTING, archive_slots

        settings = crawler.settings
        self.crawler = crawler
        self.slot_source = dict(SLOT_SOURCE)
        self.slot_host = {
            slot: urlsplit(str(settings.get(name, getattr(defaults, name)))).netloc
            for slot, name in SLOT_URL_SETTING.items()
        }
        """Each slot's service address: a 429 from Common Crawl's index pauses its data host's key too."""
        try:
            slots = archive_slots(settings)
        except ValueError:
            slots = {}  # reported by the spider's own settings check before any request
        self.interval_us = {slot: int(float(conf["delay"]) * 1_000_000) for slot, conf in slots.items()}
        self.backoff = settings.getfloat("CRAWLER_ARCHIVE_BACKOFF", defaults.CRAWLER_ARCHIVE_BACKOFF)
        self.max_wait = settings.getfloat("CRAWLER_RETRY_AFTER_MAX", defaults.CRAWLER_RETRY_AFTER_MAX)
        self.paused_until: dict[str, float] = {}
        """Archive source -> time.monotonic() before which none of its requests leaves this process."""
        self.client = client
        self._reserve = client.register_script(_RESERVE) if client is not None else None
        self._pause = client.register_script(_PAUSE) if client is not None else None

    @staticmethod
    def slot_of(request: Request) -> str | None:
        slot = request.meta.get("download_slot")
        return str(slot) if isinstance(slot, str) and slot.startswith("archive:") else None

    def _key(self, slot: str, request_url: str) -> str:
        # Per archive service and address: one rate for every run and worker that reads that archive.
        return rate_key(f"{slot}@{urlsplit(request_url).netloc}")

    async def wait_turn(self, request: Request, slot: str) -> float:
        """Wait out the archive's pause, then (frontier) this request's turn at the archive's rate."""
        source = self.slot_source.get(slot, slot)
        waited = 0.0
        while True:
            rest = self.paused_until.get(source, 0.0) - time.monotonic()
            if rest <= 0:
                break
            await asyncio.sleep(rest)
            waited += rest
        if self._reserve is not None and slot in self.interval_us:
            interval = self.interval_us[slot]
            try:
                wait = int(self._reserve(keys=[self._key(slot, request.url)], args=[interval])) / 1_000_000
            except frontier.REDIS_ERRORS:  # looked up only on an error: redis is imported with a frontier only
                wait = interval / 1_000_000  # this worker's own share stays polite
            if wait > 0:
                await asyncio.sleep(wait)
                waited += wait
        return waited

    def answered(self, request: Request, slot: str, response: Response) -> None:
        """A 429 or 503 pauses the whole archive (every slot of its source) for Retry-After (else
        CRAWLER_ARCHIVE_BACKOFF) seconds, capped at CRAWLER_RETRY_AFTER_MAX."""
        if response.status not in (429, 503):
            return
        from crawler.crawl.middlewares import throttled_wait

        wait = throttled_wait(response, self.backoff, self.max_wait)
        source = self.slot_source.get(slot, slot)
        self.paused_until[source] = max(self.paused_until.get(source, 0.0), time.monotonic() + wait)
        if self._pause is not None:
            # Every slot of the source at its own address (the index and the data host of Common Crawl are two):
            # the keys its requests reserve their turns on.
            here = urlsplit(request.url).netloc
            keys = [
                rate_key(f"{s}@{here if s == slot else self.slot_host.get(s) or here}")
                for s, src in self.slot_source.items()
                if src == source
            ]
            with contextlib.suppress(*frontier.REDIS_ERRORS):  # this worker pauses all the same
                self._pause(keys=keys, args=[int(wait * 1_000_000)])


class HostRateHTTPHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, sending each request only at its turn: a web archive's requests after its
    pause (429/503 with Retry-After) and, on the shared frontier, at the archive's rate for the whole crawl;
    other requests, on the frontier with CRAWLER_HOST_RATE > 0, at their host's turn. The project's handler for
    http and https."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        client: Any | None = None
        if frontier_url(crawler.settings):
            client = FrontierState.of(crawler).client
        host_rate = crawler.settings.getfloat("CRAWLER_HOST_RATE", defaults.CRAWLER_HOST_RATE)
        self.limiter = HostRateLimiter(client, host_rate) if client is not None and host_rate > 0 else None
        self.archives = ArchivePace(crawler, client)
        self.crawler = crawler
        self.stats = crawler.stats

    async def download_request(self, request: Request) -> Response:
        slot = self.archives.slot_of(request)
        if slot is not None:
            waited = await self.archives.wait_turn(request, slot)
            stopped = getattr(self.crawler.spider, "archive_source_stopped", None)
            source = str(request.meta.get("archive_source", ""))
            if stopped is not None and stopped(source):
                # The archive was given up on while this request waited: it does not go.
                request.meta["archive_dropped"] = True
                raise IgnoreRequest(f"{source}: stopped for this run")
            if waited and self.stats is not None:
                self.stats.inc_value("archive/rate/waited_ms", int(waited * 1000))
            response = await super().download_request(request)
            self.archives.answered(request, slot, response)
            return response
        if self.limiter is not None:
            waited = await self.limiter.wait_turn(urlsplit(request.url).netloc)
            if waited and self.stats is not None:
                self.stats.inc_value("frontier/host_rate/waited_ms", int(waited * 1000))
        return await super().download_request(request)


"""The same handler under the name that says what it does for archives too."""

__all__ = ["ArchivePace", "HostRateHTTPHandler", "HostRateLimiter"]
