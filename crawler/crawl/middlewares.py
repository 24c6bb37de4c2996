"""Mirror failover, Retry-After and the own-host guard: the downloader-side rules that keep one article per id.

`MirrorRoutingMiddleware` (90, before robots.txt) keeps requests on trusted mirrors; `MirrorFailoverMiddleware`
(555, just inside Scrapy's RetryMiddleware, which keeps handling every other request) decides for requests on a
mirror; both are on unless CRAWLER_FAILOVER_ENABLED is off, whatever RETRY_ENABLED says:
- connection refused, DNS failure, timeout, TLS error, reset: the same path goes to the next mirror at once;
- a RETRY_HTTP_CODES status (after RETRY_TIMES retries on the same mirror, with RETRY_ENABLED): next mirror;
- a 200 (or 403/429) seizure, challenge or block page, or any 403/451: next mirror;
- 429 with Retry-After: retried on the same mirror after that many seconds (capped);
- a redirect to a host that is neither a mirror nor an outlet host is not followed: next mirror;
- a page over DOWNLOAD_MAXSIZE: `page_failed` ("page too large") at once, no other mirror is asked;
- 404/410 or every mirror exhausted: `crawler.crawl.signals.page_failed` and the request is dropped (PageGivenUp).
A mirror failing CRAWLER_MIRROR_FAIL_THRESHOLD times in a row is set aside for CRAWLER_MIRROR_COOLDOWN
seconds; requests then start on the next one, and it is tried again after the cooldown.
Stats: failover/<reason>, failover/exhausted, mirror/set_aside, mirror/restored, mirror/responses/<netloc>,
page_failed/count, page_failed/<reason>.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from OpenSSL import SSL
from scrapy import Request
from scrapy import exceptions as scrapy_exceptions
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Response
from twisted.internet import error as twisted_error

from crawler.core.status import ExitStatus
from crawler.crawl import settings as defaults
from crawler.crawl import statkeys
from crawler.crawl.control import close_spider_soon, report_page_failed, set_exit_status
from crawler.crawl.frontier import frontier_url
from crawler.crawl.mirrors import MirrorPool, count_failure, on_next_mirror, pool_for
from crawler.outlet import Outlet, load_outlet

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

BLOCK_STATUSES = frozenset({200, 403, 429, 451})
"""Statuses whose body is checked for seizure, challenge and block notices."""

BLOCK_SCAN_BYTES = 64 * 1024
"""Only the head of a body is scanned for notice phrases: notices are short, articles are not notices."""

NOTICE_MAX_WORDS = 400
"""A page with a notice phrase but more visible words than this is an article that quotes the phrase."""


class PageGivenUp(IgnoreRequest):
    """The request is dropped and `page_failed` was sent for it already: errbacks need not record it again."""


_TAGS = re.compile(rb"<script.*?</script>|<style.*?</style>|<[^>]*>", re.IGNORECASE | re.DOTALL)


def notice_kind(response: Response, outlet: Outlet) -> str | None:
    """ "seizure" or "challenge" when the response is such a notice page, else None.

    Only HTML is checked: notices are HTML pages (even where a feed was asked for), while a short feed or
    sitemap may quote a phrase like "Access denied" in a headline.
    """
    if response.status not in BLOCK_STATUSES or not isinstance(response, HtmlResponse):
        return None
    head = response.body[:BLOCK_SCAN_BYTES]
    lowered = head.lower()
    for kind in ("seizure", "challenge"):
        if any(p in lowered for p in outlet.notice_phrases.get(kind, ())):
            words = len(_TAGS.sub(b" ", head).split())
            if words <= NOTICE_MAX_WORDS:
                return kind
    return None


_TLS_ERRORS: tuple[type[BaseException], ...] = (
    SSL.Error,
    ssl.SSLError,
    twisted_error.SSLError,
    twisted_error.CertificateError,
)


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (`__cause__`/`__context__`) and the failures Twisted's web client collects
    in `.reasons`, depth first, each once."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        for failure in getattr(current, "reasons", None) or []:
            value = getattr(failure, "value", None)
            if isinstance(value, BaseException):
                todo.append(value)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)
    return seen


def exception_reason(exc: BaseException) -> str:
    """A short stats-friendly name for a download failure, from the exception's type (and what it wraps)."""
    causes = _causes(exc)

    def any_of(*types: type[BaseException]) -> bool:
        return any(isinstance(c, types) for c in causes)

    if any_of(scrapy_exceptions.DownloadConnectionRefusedError, twisted_error.ConnectionRefusedError):
        return "connection_refused"
    if any_of(scrapy_exceptions.CannotResolveHostError, twisted_error.DNSLookupError):
        return "dns"
    if any_of(*_TLS_ERRORS):
        return "tls"
    if any_of(
        scrapy_exceptions.DownloadTimeoutError, twisted_error.TimeoutError, twisted_error.TCPTimedOutError, TimeoutError
    ):
        return "timeout"
    if any_of(scrapy_exceptions.ResponseDataLossError):
        return "data_loss"
    if any_of(twisted_error.ConnectError):
        return "connect_error"
    return "connection_lost"


class _MirrorDecisions:
    """What both mirror middlewares share: the pool, stats, failover to the next mirror, page_failed."""

    crawler: Crawler

    def _setup(self, crawler: Crawler) -> None:
        if not crawler.settings.getbool("CRAWLER_FAILOVER_ENABLED", defaults.CRAWLER_FAILOVER_ENABLED):
            raise NotConfigured("CRAWLER_FAILOVER_ENABLED is off")
        self.crawler = crawler
        self.stats = crawler.stats
        self.outlet = load_outlet(str(crawler.settings.get("CRAWLER_OUTLET")))
        self.shared_frontier = bool(frontier_url(crawler.settings))

    # ---- shared steps ------------------------------------------------------------------------------

    def _pool(self) -> MirrorPool | None:
        return pool_for(self.crawler.spider)

    def _inc(self, key: str) -> None:
        assert self.stats is not None
        self.stats.inc_value(key)

    def _failover(self, request: Request, reason: str, status: int | None) -> Request:
        """The same path on the next untried mirror; raises IgnoreRequest (after page_failed) if none is left."""
        pool = self._pool()
        assert pool is not None
        netloc = urlsplit(request.url).netloc
        tried = [*request.meta.get("mirrors_tried", []), netloc]
        count_failure(pool, netloc, reason, self.stats)
        if self._maybe_give_up(pool):
            self._page_failed(request, f"no mirror could be reached ({reason} on {netloc})", status, key=reason)
            raise PageGivenUp("no mirror could be reached")
        retry = on_next_mirror(request, pool)
        if retry is None:
            self._inc("failover/exhausted")
            self._page_failed(
                request, f"no mirror answered ({reason} on {netloc}; tried {', '.join(tried)})", status, key=reason
            )
            raise PageGivenUp(f"all mirrors failed for {request.meta.get('mirror_path', request.url)}")
        logger.info("failover: %s on %s -> %s", reason, netloc, retry.url)
        return retry

    def _page_failed(self, request: Request, reason: str, status: int | None, key: str | None = None) -> None:
        pool = self._pool()
        if pool is not None and not pool._settled:
            pool.settle()
        report_page_failed(self.crawler, request, reason, status, key)

    def _maybe_give_up(self, pool: MirrorPool) -> bool:
        """No mirror ever answered and all are set aside: stop the run now instead of failing every URL."""
        if pool.reached or not pool.all_failed():
            return False
        if self.shared_frontier and any(m.answers for m in pool.mirrors):
            # A worker on a shared frontier takes no probe of its own: its first pages may be the few notice or
            # error pages of a mirror that serves the others well. A mirror that answered HTTP is reachable.
            return False
        pool.gave_up = True
        tried = ", ".join(m.base for m in pool.mirrors)
        assert self.stats is not None
        if not self.stats.get_value(statkeys.NO_MIRROR_REACHABLE):
            message = f"no {self.outlet.display_name} mirror could be reached (tried: {tried})"
            self.stats.set_value(statkeys.NO_MIRROR_REACHABLE, message)
            set_exit_status(self.crawler, ExitStatus.NO_MIRROR_REACHABLE)
            logger.error(message)
            close_spider_soon(self.crawler, "no_mirror_reachable")
        pool.settle()
        return True

    # ---- Scrapy hooks -------------------------------------------------------------------------------


class MirrorRoutingMiddleware(_MirrorDecisions):
    """Before robots.txt (100): keep requests on trusted mirrors (redirects, mirrors set aside since queued)."""

    def __init__(self, crawler: Crawler) -> None:
        self._setup(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_request(self, request: Request) -> Request | None:
        pool = self._pool()
        if pool is None or "mirror_path" not in request.meta:
            return None
        parts = urlsplit(request.url)
        if request.meta.get("redirect_urls") and not pool.is_mirror(parts.netloc):
            # A redirect left the configured mirrors. Not followed: to another outlet host (as one of the
            # outlet's domains may send everyone to another) the same path goes to the next mirror; anywhere
            # else it is also a failure of the mirror that redirected.
            origin = request.replace(url=request.meta["redirect_urls"][-1])
            if self.outlet.is_outlet_host(parts.hostname or ""):
                return self._failover(origin, "redirect_to_outlet_host", None)
            logger.warning("not following off-site redirect to %s", request.url)
            return self._failover(origin, "offsite_redirect", None)
        if pool.is_set_aside(parts.netloc) and not request.meta.get("mirrors_tried"):
            # Queued for a mirror that was set aside since: start it on the healthiest one instead.
            healthiest = pool.best()
            if (
                healthiest is not None
                and urlsplit(healthiest).netloc != parts.netloc
                and not pool.is_set_aside(urlsplit(healthiest).netloc)
            ):
                self._inc("failover/rerouted")
                logger.debug("rerouting %s from set-aside %s to %s", request.url, parts.netloc, healthiest)
                return request.replace(url=pool.url_on(healthiest, request.meta["mirror_path"]), dont_filter=True)
        return None


class MirrorFailoverMiddleware(_MirrorDecisions):
    """Retry on the same mirror where that helps, otherwise send the same path to the next mirror.

    Only requests on a mirror (`meta["mirror_path"]`) and mirrors' robots.txt are decided here; everything
    else passes on to Scrapy's RetryMiddleware untouched. Same-mirror retries use Scrapy's
    `get_retry_request` with the RETRY_* settings, and only when RETRY_ENABLED is on; failover to the next
    mirror, notice pages and 404/410 recording do not depend on it.
    """

    def __init__(self, crawler: Crawler) -> None:
        self._setup(crawler)
        settings = crawler.settings
        self.retry_enabled = settings.getbool("RETRY_ENABLED")
        self.retry_http_codes = {int(x) for x in settings.getlist("RETRY_HTTP_CODES")}
        self.retry_after_max = settings.getfloat("CRAWLER_RETRY_AFTER_MAX", defaults.CRAWLER_RETRY_AFTER_MAX)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        pool = self._pool()
        netloc = urlsplit(response.url).netloc
        if pool is not None and _is_robots_request(request) and pool.is_mirror(netloc):
            if response.status >= 500:
                # No retries for a failing mirror's robots.txt (RetryMiddleware, next, honours dont_retry): the
                # failure counts, the robots middleware allows.
                request.meta["dont_retry"] = True
                pool.record_failure(netloc)
                self._inc(f"failover/robots_http_{response.status}")
            return response
        if pool is None or "mirror_path" not in request.meta:
            return response
        pool.note_answer(netloc)
        kind = notice_kind(response, self.outlet)
        if kind is not None:
            return self._failover(request, kind, response.status)
        if response.status == 429 and not request.meta.get("dont_retry"):
            wait = retry_after(response.headers.get(b"Retry-After"))
            if wait is not None:
                wait = min(wait, self.retry_after_max)
                self._inc("retry_after/waited")
                logger.info("429 from %s: waiting %.1fs as Retry-After asks", netloc, wait)
                await asyncio.sleep(wait)
        if response.status in self.retry_http_codes and not request.meta.get("dont_retry"):
            spider = self.crawler.spider
            if self.retry_enabled and spider is not None:
                # Giving up on one mirror is not an error here (INFO): the next mirror gets the request.
                retried = get_retry_request(
                    request, spider=spider, reason=f"{response.status}", logger=logger, give_up_log_level=logging.INFO
                )
                if retried is not None:
                    return retried
            return self._failover(request, f"http_{response.status}", response.status)
        if response.status in (403, 451):
            # Blocked on this mirror (geo-block, firewall) without a recognisable notice: another may serve it.
            return self._failover(request, f"http_{response.status}", response.status)
        if response.status in (404, 410):
            pool.record_success(netloc)  # the mirror answers; the page is gone
            self._page_failed(request, f"HTTP {response.status}", response.status)
            raise PageGivenUp(f"HTTP {response.status}: {request.url}")
        if 500 <= response.status < 600:
            return self._failover(request, f"http_{response.status}", response.status)
        if 300 <= response.status < 400:
            return response  # the redirect middleware (outer) decides; process_request checks where it leads
        if pool.record_success(netloc):
            self._inc(statkeys.MIRROR_RESTORED)
            logger.info("mirror %s answers again", netloc)
        self._inc(statkeys.MIRROR_RESPONSES.format(netloc))
        return response

    def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:
        pool = self._pool()
        if pool is not None and _is_robots_request(request) and pool.is_mirror(urlsplit(request.url).netloc):
            # An unreachable mirror's robots.txt: count the failure once, and answer "no robots.txt" so the
            # robots middleware allows (as it would) without retries and a traceback per mirror.
            reason = exception_reason(exception)
            self._inc(f"failover/robots_{reason}")
            pool.record_failure(urlsplit(request.url).netloc)
            logger.info("robots.txt of %s unreachable (%s)", urlsplit(request.url).netloc, reason)
            return Response(request.url, status=404, request=request)
        if pool is None or "mirror_path" not in request.meta or isinstance(exception, IgnoreRequest):
            return None  # Scrapy's RetryMiddleware (or nobody) decides
        if isinstance(exception, DownloadCancelledError):
            # Scrapy cancels a download only when it outgrows DOWNLOAD_MAXSIZE (announced or while streaming;
            # the streamed case carries no message). Too big here is too big on every mirror (the same page):
            # refuse it by size and ask no other mirror.
            limit = request.meta.get("download_maxsize") or self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            self._page_failed(
                request, f"page too large: over DOWNLOAD_MAXSIZE ({limit / 1048576:g} MB)", None, key="too_large"
            )
            raise PageGivenUp(f"page too large: {request.url}")
        return self._failover(request, exception_reason(exception), None)


def _is_robots_request(request: Request) -> bool:
    return urlsplit(request.url).path == "/robots.txt" and bool(request.meta.get("dont_obey_robotstxt"))


def retry_after(value: bytes | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def throttled_wait(response: Response, backoff: float, max_wait: float) -> float:
    """How long an archive that answered 429/503 is left alone: its Retry-After, else `backoff`, at most
    `max_wait` seconds (CRAWLER_ARCHIVE_BACKOFF, CRAWLER_RETRY_AFTER_MAX)."""
    asked = retry_after(response.headers.get(b"Retry-After"))
    return min(backoff if asked is None else asked, max_wait)


class ArchivePolitenessMiddleware:
    """Web archives' 429 and 503 answers: the archive's whole download slot waits (Retry-After, else
    CRAWLER_ARCHIVE_BACKOFF seconds) and slows down (its delay doubles); the request is sent again. More than
    CRAWLER_ARCHIVE_MAX_THROTTLES such answers in a row stop that archive source for the rest of the run, with
    one ERROR line and exit status 6, rather than hammering a service that asks us to stop.

    Only requests carrying `meta["archive_source"]` are handled; it sits just inside RetryMiddleware so their
    429/503 answers never reach Scrapy's own retries.
    """

    THROTTLE_STATUSES = (429, 503)

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.backoff = settings.getfloat("CRAWLER_ARCHIVE_BACKOFF", defaults.CRAWLER_ARCHIVE_BACKOFF)
        self.max_wait = settings.getfloat("CRAWLER_RETRY_AFTER_MAX", defaults.CRAWLER_RETRY_AFTER_MAX)
        self.max_throttles = settings.getint("CRAWLER_ARCHIVE_MAX_THROTTLES", defaults.CRAWLER_ARCHIVE_MAX_THROTTLES)
        self.max_delay = settings.getfloat("AUTOTHROTTLE_MAX_DELAY", 30.0)
        self.in_a_row: dict[str, int] = {}
        self.stopped: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _inc(self, key: str) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)

    def process_request(self, request: Request) -> None:
        source = request.meta.get("archive_source")
        if source in self.stopped:
            request.meta["archive_dropped"] = True
            raise IgnoreRequest(self.stopped[source])
        return None

    def process_response(self, request: Request, response: Response) -> Request | Response:
        source = request.meta.get("archive_source")
        if not source:
            return response
        if response.status not in self.THROTTLE_STATUSES:
            self.in_a_row[source] = 0
            return response
        count = self.in_a_row[source] = self.in_a_row.get(source, 0) + 1
        self._inc(f"archive/{source}/throttled_{response.status}")
        if count > self.max_throttles:
            self._stop(source, response.status, count)
            request.meta["archive_dropped"] = True
            raise IgnoreRequest(self.stopped[source])
        wait = throttled_wait(response, self.backoff, self.max_wait)
        slot_key = str(request.meta.get("download_slot", ""))
        engine = self.crawler.engine
        slot = engine.downloader.slots.get(slot_key) if engine is not None else None
        if slot is not None:
            # The slot's next request goes out `wait` seconds from now (Scrapy waits `delay` after `lastseen`),
            # and every later one at half the rate it had.
            slot.delay = min(max(slot.delay * 2, 0.1), max(self.max_delay, slot.delay))
            slot.lastseen = time.monotonic() + wait - slot.delay
        logger.info(
            "%s answered %d: waiting %.1fs, then %.2fs between requests (%d in a row)",
            source,
            response.status,
            wait,
            slot.delay if slot else 0.0,
            count,
        )
        return request.replace(dont_filter=True)

    UNREACHABLE = ("connection_refused", "dns", "connect_error")
    """Download failures that mean the archive cannot be reached at all (offline, blocked, no DNS)."""

    def process_exception(self, request: Request, exception: Exception) -> None:
        # An archive that cannot be reached would otherwise cost every CDX query and capture its full retries
        # at the archive's slow rate: minutes of a backfill that cannot work. Counted with the 429/503 answers.
        source = request.meta.get("archive_source")
        if not source or source in self.stopped:
            return None
        reason = exception_reason(exception)
        if reason not in self.UNREACHABLE:
            return None
        count = self.in_a_row[source] = self.in_a_row.get(source, 0) + 1
        if count > self.max_throttles:
            self._stop(source, reason.replace("_", " "), count, unreachable=True)
            request.meta["archive_dropped"] = True
            raise IgnoreRequest(self.stopped[source])
        return None

    def _stop(self, source: str, status: int | str, count: int, *, unreachable: bool = False) -> None:
        if source in self.stopped:
            return
        if unreachable:
            message = (
                f"{source}: the archive could not be reached {count} times in a row ({status}); stopped "
                "reading it for this run (the backfill is incomplete: run it again when it can be reached)"
            )
        else:
            message = (
                f"{source}: the archive answered {status} {count} times in a row; stopped reading it for "
                f"this run (the backfill is incomplete: run it again later, or lower its rate setting)"
            )
        self.stopped[source] = message
        logger.error(message)
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(statkeys.ARCHIVE_STOPPED.format(source), message)
        set_exit_status(self.crawler, ExitStatus.ARCHIVE_STOPPED)
        stop = getattr(self.crawler.spider, "stop_archive_source", None)
        if stop is not None:
            stop(source)
        engine = self.crawler.engine
        if engine is None:
            return
        # Requests already waiting in this source's download slots passed process_request before the stop:
        # drop them there too, or they would still go out one by one.
        for key, slot in engine.downloader.slots.items():
            if not key.startswith("archive:"):
                continue
            kept = []
            while slot.queue:
                queued, waiting = slot.queue.popleft()
                if queued.meta.get("archive_source") == source:
                    queued.meta["archive_dropped"] = True
                    waiting.errback(IgnoreRequest(message))
                else:
                    kept.append((queued, waiting))
            slot.queue.extend(kept)


def _host_port(url: str) -> tuple[str, int | None]:
    """A URL's host and port, the scheme's default port as None (http->https on one host is the same host)."""
    parts = urlsplit(url)
    port = parts.port
    if (parts.scheme, port) in (("http", 80), ("https", 443)):
        port = None
    return (parts.hostname or "").lower().rstrip("."), port


class OwnHostGuardMiddleware:
    """robots.txt requests and web-archive requests stay on their own host, and robots.txt stays small.

    - A redirect of a robots.txt request, or of an archive request (Wayback CDX or replay, Common Crawl index or
      data), to another host is refused (IgnoreRequest): stats `redirects/refused/<robots|archive source>`, one
      warning line per kind and run. robots.txt then counts as absent; an archive capture fails over to the
      next older one. The same host over https, or another path on it, is followed as usual.
    - A robots.txt is read up to CRAWLER_ROBOTSTXT_MAX_BYTES (cut at its last whole line there, like Google's
      500 KiB), so a huge one costs neither the parse time on the reactor thread nor its memory: stat
      `limits/robotstxt_size`; one past eight times the limit is not even downloaded (then absent).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.robots_max = max(
            1024, crawler.settings.getint("CRAWLER_ROBOTSTXT_MAX_BYTES", defaults.CRAWLER_ROBOTSTXT_MAX_BYTES)
        )
        self._said: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _once(self, key: str, message: str, *args: Any) -> None:
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(key)
        if key not in self._said:
            self._said.add(key)
            logger.warning(message, *args)
        else:
            logger.info(message, *args)

    def _kind(self, request: Request) -> str | None:
        first = (request.meta.get("redirect_urls") or [request.url])[0]
        if request.meta.get("dont_obey_robotstxt") and urlsplit(first).path == "/robots.txt":
            return "robots"
        source = request.meta.get("archive_source")
        return str(source) if source else None

    def process_request(self, request: Request) -> None:
        kind = self._kind(request)
        if kind is None:
            return None
        if kind == "robots":
            request.meta.setdefault("download_maxsize", self.robots_max * 8)
        chain = request.meta.get("redirect_urls")
        if chain and _host_port(chain[0]) != _host_port(request.url):
            what = "robots.txt" if kind == "robots" else f"{kind} request"
            self._once(
                f"redirects/refused/{kind}",
                "not following the redirect of %s %s to another host: %s",
                what,
                chain[0],
                request.url,
            )
            if kind != "robots":
                request.meta["offsite_redirect"] = request.url
            raise IgnoreRequest(f"redirect to another host refused: {request.url}")
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        if not _is_robots_request(request) or len(response.body) <= self.robots_max:
            return response
        head = response.body[: self.robots_max]
        cut = max(head.rfind(b"\n"), head.rfind(b"\r"))
        self._once(
            "limits/robotstxt_size",
            "robots.txt %s is %d bytes: only its first %d are read (CRAWLER_ROBOTSTXT_MAX_BYTES)",
            response.url,
            len(response.body),
            self.robots_max,
        )
        return response.replace(body=head[: cut + 1] if cut >= 0 else b"")
