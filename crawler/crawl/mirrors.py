"""The mirrors of one run and their health: which mirror a request goes to next, and which are set aside."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request, Spider
from twisted.internet.defer import Deferred

from crawler.crawl.statkeys import MIRROR_SET_ASIDE
from crawler.outlet import Outlet

logger = logging.getLogger(__name__)


@dataclass
class _MirrorState:
    base: str
    netloc: str
    failures: int = 0
    set_aside_until: float = 0.0
    responses: int = 0
    answers: int = 0
    """HTTP answers of any kind (notice pages and errors too): the mirror can be reached."""
    last_failure: float = float("-inf")
    seized: bool = False
    """On a seized or dead domain of the outlet: tried only after every other mirror."""


class MirrorPool:
    """The mirrors of one run in priority order, with their health; shared by the spider and the middleware."""

    def __init__(
        self,
        bases: Iterable[str],
        outlet: Outlet,
        fail_threshold: int = 2,
        cooldown: float = 300.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.outlet = outlet
        self.fail_threshold = max(1, fail_threshold)
        self.cooldown = cooldown
        self._clock = clock
        self.mirrors: list[_MirrorState] = []
        for base in bases:
            parts = urlsplit(base.strip())
            self.mirrors.append(
                _MirrorState(
                    urlunsplit((parts.scheme, parts.netloc, "", "", "")),
                    parts.netloc,
                    seized=outlet.is_seized(parts.hostname or ""),
                )
            )
        self._by_netloc = {m.netloc.lower(): m for m in self.mirrors}
        self._settled = False
        self._waiters: list[Deferred[None]] = []
        self.gave_up = False

    @property
    def reached(self) -> list[str]:
        """Netlocs of mirrors that gave at least one usable response."""
        return [m.netloc for m in self.mirrors if m.responses]

    def is_mirror(self, netloc: str) -> bool:
        """True for the netloc (host[:port]) of a configured mirror."""
        return netloc.lower() in self._by_netloc

    def is_site_url(self, url: str) -> bool:
        """True for a URL on a configured mirror or on any host of the outlet."""
        parts = urlsplit(url)
        return self.is_mirror(parts.netloc) or self.outlet.is_outlet_host(parts.hostname or "")

    def is_set_aside(self, netloc: str) -> bool:
        m = self._by_netloc.get(netloc.lower())
        return bool(m and m.set_aside_until > self._clock())

    def ranked(self, exclude: Iterable[str] = ()) -> list[_MirrorState]:
        """Mirrors not in `exclude`: healthy ones first, then those that failed lately, then those set aside
        (soonest back first), then those on a seized domain; priority order within each group."""
        skip = {e.lower() for e in exclude}
        now = self._clock()
        candidates = [m for m in self.mirrors if m.netloc.lower() not in skip]

        def rank(m: _MirrorState) -> tuple[int, float]:
            if m.seized:
                return (3, 0.0)  # its links are followed on a live mirror; it is the last resort
            if m.set_aside_until > now:
                return (2, m.set_aside_until)
            if m.failures and now - m.last_failure < self.cooldown:
                return (1, 0.0)
            return (0, 0.0)

        return sorted(candidates, key=rank)

    def best(self, exclude: Iterable[str] = ()) -> str | None:
        """Base URL of the healthiest mirror not in `exclude`, or None."""
        ranked = self.ranked(exclude)
        return ranked[0].base if ranked else None

    def url_on(self, base: str, url_or_path: str) -> str:
        """The same path and query on the mirror `base`."""
        parts = urlsplit(url_or_path)
        b = urlsplit(base)
        return urlunsplit((b.scheme, b.netloc, parts.path or "/", parts.query, ""))

    def record_failure(self, netloc: str) -> bool:
        """Count a failure; True when this one sets the mirror aside."""
        m = self._by_netloc.get(netloc.lower())
        if m is None:
            return False
        m.failures += 1
        m.last_failure = self._clock()
        if m.failures >= self.fail_threshold and m.set_aside_until <= self._clock():
            m.set_aside_until = self._clock() + self.cooldown
            return True
        return False

    def note_answer(self, netloc: str) -> None:
        """Count an HTTP answer of any kind from a mirror (it is reachable, whatever it said)."""
        m = self._by_netloc.get(netloc.lower())
        if m is not None:
            m.answers += 1

    def record_success(self, netloc: str) -> bool:
        """Count a usable response; True when it brings a set-aside mirror back."""
        m = self._by_netloc.get(netloc.lower())
        if m is None:
            return False
        m.responses += 1
        m.failures = 0
        if not self._settled:
            self.settle()
        was_aside = m.set_aside_until > 0.0
        m.set_aside_until = 0.0
        return was_aside

    def all_failed(self) -> bool:
        """True when every mirror has failed since its last usable response (or is set aside)."""
        now = self._clock()
        return all(m.failures > 0 or m.set_aside_until > now for m in self.mirrors)

    def settled(self) -> Deferred[None]:
        """Fires once a mirror gave a usable response, or the run gave up on all of them."""
        d: Deferred[None] = Deferred()
        if self._settled:
            d.callback(None)
        else:
            self._waiters.append(d)
        return d

    def settle(self) -> None:
        """Wake whoever waits in `settled()` (the spider's start, holding back discovery until then)."""
        self._settled = True
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)


def pool_for(spider: Spider | None) -> MirrorPool | None:
    """The spider's mirror pool, if it crawls through mirrors."""
    pool = getattr(spider, "mirror_pool", None)
    return pool if isinstance(pool, MirrorPool) else None


_NOT_CARRIED = ("retry_times", "redirect_times", "redirect_urls", "redirect_reasons", "download_slot")
"""Request meta that belongs to one mirror's attempt, not carried to the next mirror."""


def on_next_mirror(request: Request, pool: MirrorPool) -> Request | None:
    """The same path on the healthiest mirror this request has not tried yet (this one counted as tried), or None
    when every mirror has been tried."""
    tried = [*request.meta.get("mirrors_tried", []), urlsplit(request.url).netloc]
    nxt = pool.best(exclude=tried)
    if nxt is None:
        return None
    meta = {k: v for k, v in request.meta.items() if k not in _NOT_CARRIED}
    meta["mirrors_tried"] = tried
    return request.replace(
        url=pool.url_on(nxt, request.meta.get("mirror_path", request.url)), meta=meta, dont_filter=True
    )


def count_failure(pool: MirrorPool, netloc: str, reason: str, stats: Any) -> None:
    """One failure of a mirror, counted as `failover/<reason>`; the one that sets it aside is counted and logged."""
    stats.inc_value(f"failover/{reason}")
    if pool.record_failure(netloc):
        stats.inc_value(MIRROR_SET_ASIDE)
        logger.warning("mirror %s set aside for %gs after repeated failures (last: %s)", netloc, pool.cooldown, reason)


__all__ = ["MirrorPool", "count_failure", "on_next_mirror", "pool_for"]
