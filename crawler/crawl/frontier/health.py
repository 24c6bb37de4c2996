"""The whole crawl's health counts on the shared frontier: every worker adds its pages' counts, the alarm reads the sum.

A worker's share of a shared-frontier crawl is whichever pages it happened to take from the queue, so its own
field coverage says nothing about the layout: seven pages of which two lack a section are 71%, while the crawl
as a whole is at 95%. Each worker therefore adds the health counts of every page it extracts to one Redis hash
of the run (`crawler:<spider>:<run>:health`, HINCRBY, so workers on any machine, with or without a parent
process, sum into it) and the layout-drift alarm judges the totals when the worker ends. A worker ends only
once the whole crawl has been idle (no request queued or in flight anywhere), so by then every page of the run
has been counted and every worker reaches the same verdict.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING

from crawler.core.redact import redact

if TYPE_CHECKING:
    from crawler.crawl.frontier import FrontierState

logger = logging.getLogger(__name__)

UNKNOWN_LAYOUT_URLS_KEPT = 5
"""How many unknown-layout page URLs the run keeps for the alarm line (the count covers them all)."""


class SharedHealth:
    """One worker's side of the run's summed health counts."""

    def __init__(self, state: FrontierState) -> None:
        self.state = state
        self.key = state.keys.health
        self.urls_key = state.keys.health_urls
        # Counts not yet in Redis (it could not be reached): sent with the next page, or before the totals are read.
        self._pending: Counter[str] = Counter()
        self._pending_urls: list[str] = []
        self._warned = False

    def add(self, counts: dict[str, int], unknown_layout_url: str | None = None) -> None:
        """Add one page's counts to the run's totals (kept here and sent again later if Redis is away)."""
        self._pending.update(counts)
        if unknown_layout_url:
            self._pending_urls.append(unknown_layout_url)
        self.flush()

    def flush(self) -> bool:
        """Send what is pending; False when Redis could not be reached (it stays pending)."""
        from crawler.crawl.frontier import REDIS_ERRORS

        if self.state.error is not None or not (self._pending or self._pending_urls):
            return self.state.error is None
        try:
            pipe = self.state.client.pipeline()
            for key, value in self._pending.items():
                if value:
                    pipe.hincrby(self.key, key, value)
            if self._pending_urls:
                pipe.rpush(self.urls_key, *self._pending_urls)
                pipe.ltrim(self.urls_key, 0, UNKNOWN_LAYOUT_URLS_KEPT - 1)
            pipe.execute()
        except REDIS_ERRORS as exc:
            if not self._warned:
                self._warned = True
                logger.warning(
                    "crawler: the crawl's health counts could not be sent to the frontier Redis (%s); retrying",
                    redact(" ".join(str(exc).split())),
                )
            return False
        self._pending.clear()
        self._pending_urls.clear()
        self._warned = False
        return True

    def totals(self) -> tuple[dict[str, int], list[str]] | None:
        """Every worker's counts added up, and the first unknown-layout URLs; None when Redis cannot be read."""
        from crawler.crawl.frontier import REDIS_ERRORS, redis_text

        if not self.flush():
            return None
        try:
            pipe = self.state.client.pipeline()
            pipe.hgetall(self.key)
            pipe.lrange(self.urls_key, 0, UNKNOWN_LAYOUT_URLS_KEPT - 1)
            counts, urls = pipe.execute()
        except REDIS_ERRORS:
            return None
        return (
            {redis_text(k): int(v) for k, v in counts.items()},
            [redis_text(u) for u in urls],
        )


__all__ = ["SharedHealth"]
