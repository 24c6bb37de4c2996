"""The per-host request rate of the whole crawl (CRAWLER_HOST_RATE requests per second), shared in Redis.

Every worker asks Redis for the next free send time of a host before each request leaves (GCRA without a
burst: one Lua script reserves `max(now, next free) ` and moves the next free time on by 1/rate, on Redis's
own clock), then waits until that time. So N workers on any number of machines together send a host no more
than one worker would, spaced evenly. The wait happens in the download handler, after Scrapy's own slot
queues, at the moment the request is really sent; a download timeout counts from after it.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler

from crawler.frontier import REDIS_ERRORS, FrontierState, rate_key

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
            except REDIS_ERRORS:
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


class HostRateHTTPHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, sending each request only at its host's turn (installed by the Frontier
    add-on for http and https when CRAWLER_HOST_RATE > 0)."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        state = FrontierState.of(crawler)
        self.limiter = HostRateLimiter(state.client, crawler.settings.getfloat("CRAWLER_HOST_RATE"))
        self.stats = crawler.stats

    async def download_request(self, request: Request) -> Response:
        waited = await self.limiter.wait_turn(urlsplit(request.url).netloc)
        if waited and self.stats is not None:
            self.stats.inc_value("frontier/host_rate/waited_ms", int(waited * 1000))
        return await super().download_request(request)


__all__ = ["HostRateHTTPHandler", "HostRateLimiter"]
