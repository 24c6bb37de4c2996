"""The shared frontier: several crawl processes on one Redis queue (scrapy-redis), switched on by CRAWLER_FRONTIER.

Setting `CRAWLER_FRONTIER=redis://host:port/db` makes the `Frontier` add-on swap in the Redis scheduler and
dupe filter (`crawler.crawl.frontier.scheduler`), the whole-crawl idle end, worker heartbeats and shared mirror
health (`crawler.crawl.frontier.workers`) and the per-host request rate and each web archive's rates, shared by every
worker (`crawler.crawl.handlers`); the run recorder adds every page's health counts to the whole crawl's totals
(`crawler.crawl.frontier.health`), which the layout-drift alarm judges. Unset, the crawl uses Scrapy's local
scheduler as before and none of this loads but the download handler of `crawler.crawl.handlers`, which then
paces web archives within this one process.

Every key of one crawl sits under `crawler:<spider>:<run>:`, so feeds, sitemaps and listings fetched in one
run are fetched again by the next; `crawler:<spider>:current` names the run that workers started with
`CRAWLER_FRONTIER_SEED=False` join. The host rate keys (`crawler:rate:<host>`) are shared by every run.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from scrapy.exceptions import NotConfigured

from crawler.core.redact import install_log_redaction, mask_url, redact, remember_location, split_url
from crawler.core.status import ExitStatus
from crawler.crawl import settings as defaults
from crawler.crawl import statkeys

if TYPE_CHECKING:
    import redis
    from scrapy.crawler import Crawler
    from scrapy.settings import Settings

logger = logging.getLogger(__name__)


def redis_errors() -> tuple[type[BaseException], ...]:
    """What a Redis that went away raises (after redis-py's own retries)."""
    import redis

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def redis_text(value: Any) -> str:
    """A value read from Redis as text (redis-py gives bytes unless the client decodes responses)."""
    return value.decode() if isinstance(value, bytes) else str(value)


if TYPE_CHECKING:
    REDIS_ERRORS: tuple[type[BaseException], ...]


def __getattr__(name: str) -> Any:
    # REDIS_ERRORS is computed when the frontier's components ask for it: this package is the add-on every crawl
    # loads, and a crawl without CRAWLER_FRONTIER never imports redis (an optional extra).
    if name == "REDIS_ERRORS":
        return redis_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


KEY_ROOT = "crawler"


def frontier_url(settings: Settings) -> str:
    """The CRAWLER_FRONTIER URL, or "" when the crawl runs on the local scheduler."""
    return str(settings.get("CRAWLER_FRONTIER", "") or "").strip()


def new_run_name() -> str:
    """A fresh run name: UTC start time plus a random tail (two seeders in the same second differ)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def current_key(spider: str) -> str:
    """Where the seeding crawl writes its run name for joining workers."""
    return f"{KEY_ROOT}:{spider}:current"


def rate_key(host: str) -> str:
    """The host rate limiter's key: one per host[:port], shared by every run and worker."""
    return f"{KEY_ROOT}:rate:{host.lower()}"


@dataclass(frozen=True)
class FrontierKeys:
    """The Redis keys of one crawl run."""

    base: str

    @property
    def queue(self) -> str:
        return f"{self.base}:requests"

    @property
    def seen(self) -> str:
        return f"{self.base}:seen"

    @property
    def busy(self) -> str:
        """Exists while any worker had work within the idle window (it expires by itself)."""
        return f"{self.base}:busy"

    @property
    def workers(self) -> str:
        return f"{self.base}:workers"

    @property
    def marker(self) -> str:
        """Written when the run starts: gone means Redis lost the run's data."""
        return f"{self.base}:started"

    @property
    def seeded(self) -> str:
        """Written when the seeding worker opens: before it, an empty queue does not mean an idle crawl."""
        return f"{self.base}:seeded"

    @property
    def health(self) -> str:
        """Every worker's page health counts added up (`crawler.crawl.frontier.health`): what the alarm judges."""
        return f"{self.base}:health"

    @property
    def health_urls(self) -> str:
        """The first pages of the run that matched no layout of the outlet profile (named by the alarm)."""
        return f"{self.base}:health:unknown_layout"

    def inflight(self, worker: str) -> str:
        """Requests a worker took from the queue and has not finished (handed back if it dies)."""
        return f"{self.base}:inflight:{worker}"

    def alive(self, worker: str) -> str:
        return f"{self.base}:alive:{worker}"

    def aside(self, netloc: str) -> str:
        """A mirror set aside by some worker; the key expires when its cooldown ends."""
        return f"{self.base}:aside:{netloc.lower()}"


class FrontierError(Exception):
    """The frontier cannot be used (Redis unreachable, no run to join); the message is one line."""


def connect(url: str, retries: int = 13) -> redis.Redis:
    """A client for the frontier's Redis: one connection pool per process, shared by every component.

    redis-py retries a failed command with back-off (`retries` times: about twenty seconds), so a Redis restart
    is ridden out even on a busy machine; after that the error reaches the caller, which stops the crawl with
    one line."""
    import redis
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    # The password goes to redis-py on its own, never inside the URL: one with an unencoded '/', '?' or '#' would
    # otherwise be cut up by the URL parser and parts of it echoed as a port or a database in errors.
    given, password = url, {}
    parts = split_url(url)
    if parts is not None:
        given, password["password"] = parts.without_password, unquote(parts.password)
    try:
        return redis.Redis.from_url(
            given,
            **password,
            socket_timeout=15,
            socket_connect_timeout=5,
            health_check_interval=15,
            retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=retries),
            retry_on_error=[redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
        )
    except ValueError as exc:
        raise FrontierError(
            f"CRAWLER_FRONTIER={mask_url(url)!r} is not a Redis URL like redis://127.0.0.1:6379/0 ({redact(str(exc))})"
        ) from None


_STATES: weakref.WeakKeyDictionary[Any, FrontierState] = weakref.WeakKeyDictionary()


class FrontierState:
    """What every frontier component of one crawl shares: the client, the run's keys, this worker's id.

    Built by the first component that asks (`FrontierState.of(crawler)`); a Redis that cannot be reached or
    a run that cannot be joined is kept in `error` and reported once, when the spider opens."""

    def __init__(self, crawler: Crawler) -> None:
        import redis

        settings = crawler.settings
        self.crawler = crawler
        self.url = frontier_url(settings)
        # The URL as every message, stat and run record shows it: its password masked.
        self.shown_url = mask_url(self.url)
        self.spider = str(getattr(crawler.spidercls, "name", "") or "spider")
        self.seed = settings.getbool("CRAWLER_FRONTIER_SEED", defaults.CRAWLER_FRONTIER_SEED)
        self.idle_seconds = max(
            0.5, settings.getfloat("CRAWLER_FRONTIER_IDLE_SECONDS", defaults.CRAWLER_FRONTIER_IDLE_SECONDS)
        )
        self.worker = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        self.error: str | None = None
        self.run = str(settings.get("CRAWLER_FRONTIER_RUN", defaults.CRAWLER_FRONTIER_RUN) or "")
        # Until connect() succeeds, a client that reaches no server (not redis-py's default localhost:6379).
        self.client: redis.Redis = redis.Redis(unix_socket_path=os.devnull)
        try:
            if self.url:
                self.client = connect(self.url)
            self._resolve_run()
        except FrontierError as exc:
            self.error = str(exc)
        except redis_errors() as exc:
            self.error = self.unreachable(exc)
        self.keys = FrontierKeys(f"{KEY_ROOT}:{self.spider}:{self.run or 'none'}")

    def _resolve_run(self) -> None:
        self.client.ping()
        if not self.run:
            if self.seed:
                self.run = new_run_name()
            else:
                found = self.client.get(current_key(self.spider))
                if not found:
                    raise FrontierError(
                        f"no crawl to join on the frontier {self.shown_url}: start the seeding crawl "
                        "first (the same command without CRAWLER_FRONTIER_SEED=False)"
                    )
                self.run = redis_text(found)
        if self.seed:
            self.client.set(current_key(self.spider), self.run)

    def unreachable(self, exc: BaseException) -> str:
        text = redact(" ".join(str(exc).split())) or type(exc).__name__
        return f"the frontier Redis at {self.shown_url} cannot be reached ({text})"

    @classmethod
    def of(cls, crawler: Crawler) -> FrontierState:
        state = _STATES.get(crawler)
        if state is None:
            if not frontier_url(crawler.settings):
                raise NotConfigured("CRAWLER_FRONTIER is not set")
            state = _STATES[crawler] = cls(crawler)
        return state

    def fail(self, message: str) -> None:
        """Stop this worker with one ERROR line and exit status FRONTIER_ERROR (the first cause wins)."""
        from crawler.crawl.control import close_spider_soon, set_exit_status

        stats = self.crawler.stats
        assert stats is not None
        if stats.get_value(statkeys.FRONTIER_ERROR):
            return
        message = redact(message)
        stats.set_value(statkeys.FRONTIER_ERROR, message)
        logger.error("crawler: %s", message)
        set_exit_status(self.crawler, ExitStatus.FRONTIER_ERROR)
        close_spider_soon(self.crawler, "frontier_error")


class Frontier:
    """Add-on: with CRAWLER_FRONTIER set, the crawl runs on the shared Redis frontier.

    Sets the Redis scheduler (queue persisted between workers, never flushed by one of them), the dupe filter
    keyed on article ids, the worker extension, and commits each worker's store writes one by one."""

    def update_settings(self, settings: Settings) -> None:
        if not frontier_url(settings):
            return
        # The frontier URL may hold a password: masked in every log line of this crawl from here on, Scrapy's
        # "Overridden settings" among them.
        install_log_redaction()
        remember_location(frontier_url(settings))
        settings.set("SCHEDULER", "crawler.crawl.frontier.scheduler.FrontierScheduler", priority="addon")
        # The project's settings module names the local article-id filter; the frontier's replaces it.
        settings.set("DUPEFILTER_CLASS", "crawler.crawl.frontier.scheduler.FrontierDupeFilter", priority="project")
        settings.set("SCHEDULER_PERSIST", True, priority="addon")
        extensions = settings.getdict("EXTENSIONS")
        extensions["crawler.crawl.frontier.workers.FrontierWorker"] = 450
        settings.set("EXTENSIONS", extensions, priority=settings.getpriority("EXTENSIONS") or "project")
        middlewares = settings.getdict("DOWNLOADER_MIDDLEWARES")
        # Outermost: sees every request a component drops (IgnoreRequest) to hand its queue entry back.
        middlewares["crawler.crawl.frontier.workers.FrontierAckMiddleware"] = 40
        settings.set(
            "DOWNLOADER_MIDDLEWARES", middlewares, priority=settings.getpriority("DOWNLOADER_MIDDLEWARES") or "project"
        )
        # Each write committed at once: a request leaves a worker's in-flight list only when what it gave is
        # stored for good (so a killed worker loses nothing), and workers on one SQLite store hold its write
        # lock only briefly. Given on the command line, a batch size wins (a kill may then lose one batch).
        if (settings.getpriority("CRAWLER_STORE_COMMIT_ITEMS") or 0) <= 20:
            settings.set("CRAWLER_STORE_COMMIT_ITEMS", 1, priority="project")


__all__ = [
    "REDIS_ERRORS",
    "Frontier",
    "FrontierError",
    "FrontierKeys",
    "FrontierState",
    "connect",
    "current_key",
    "frontier_url",
    "new_run_name",
    "rate_key",
]
