"""Serve a SiteCorpus as Press TV on loopback: one HTTP server per mirror, mirror behaviours and fault hooks."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from crawler.testing.site import pages
from crawler.testing.site.corpus import SiteCorpus

BEHAVIOURS = ("healthy", "seized", "refuse", "503", "slow", "down-then-up")
"""What a mirror does: serve the site; answer every path 200 with the seizure notice; refuse connections
(a closed port); answer every path 503; serve the site after `delay` seconds per response; reset connections
for its first `down_requests` requests (or `down_seconds`), then serve the site."""


@dataclass
class Reply:
    """What the server sends for one request; the fields beyond status/headers/body are faults."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0
    """Seconds to wait before answering."""
    reset: bool = False
    """Close the connection with a TCP reset instead of answering."""
    truncate_to: int | None = None
    """Send only this many body bytes (Content-Length still announces all), then close."""
    drip: tuple[int, float] | None = None
    """(chunk bytes, seconds between chunks): send the body slowly."""
    raw: Callable[[BaseHTTPRequestHandler], None] | None = None
    """Full control: called with the request handler to write whatever it likes (anything else is ignored)."""


@dataclass
class SiteRequest:
    """One request as a handler or override sees it."""

    mirror: RunningMirror
    method: str
    path: str
    """Path without the query, as sent."""
    query: str
    headers: dict[str, str]
    hit: int
    """How many times this mirror has been asked for this path so far, this one included (1 = first)."""


Handler = Callable[[SiteRequest], "Reply | None"]
"""An override: returns the Reply to send, or None to fall through to the mirror's normal page."""


@dataclass
class MirrorSpec:
    """One mirror to start: its behaviour and the knobs of that behaviour."""

    behaviour: str = "healthy"
    name: str = ""
    delay: float = 2.0
    """For `slow`: seconds before each response."""
    down_requests: int = 3
    """For `down-then-up`: how many requests are reset before it comes up."""
    down_seconds: float | None = None
    """For `down-then-up`: reset requests for this long after start instead (overrides down_requests)."""
    port: int = 0
    """0 picks a free port."""

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown mirror behaviour {self.behaviour!r}: use one of {', '.join(BEHAVIOURS)}")
        self.name = self.name or self.behaviour


# ---- ready-made fault handlers (for overrides) --------------------------------------------------------


def status(code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    """Answer with this status (and body, headers)."""
    return lambda req: Reply(status=code, body=body, headers=dict(headers or {}))


def redirect(location: str, code: int = 301) -> Handler:
    """Redirect to `location` (absolute or a path)."""
    return lambda req: Reply(status=code, headers={"Location": location})


def delay(seconds: float, then: Handler | None = None) -> Handler:
    """Answer normally (or with `then`) after `seconds`."""

    def handle(req: SiteRequest) -> Reply | None:
        reply = (then(req) if then else None) or req.mirror.normal_reply(req)
        reply.delay = seconds
        return reply

    return handle


def reset() -> Handler:
    """Reset the connection without answering."""
    return lambda req: Reply(reset=True)


def truncated(keep: int = 200) -> Handler:
    """Send the normal page cut after `keep` bytes, announcing its full length."""

    def handle(req: SiteRequest) -> Reply | None:
        reply = req.mirror.normal_reply(req)
        reply.truncate_to = keep
        return reply

    return handle


def drip(chunk: int = 256, interval: float = 0.05) -> Handler:
    """Send the normal page `chunk` bytes at a time, `interval` seconds apart."""

    def handle(req: SiteRequest) -> Reply | None:
        reply = req.mirror.normal_reply(req)
        reply.drip = (chunk, interval)
        return reply

    return handle


def seizure() -> Handler:
    """Answer 200 with the presstv.com seizure notice."""
    return lambda req: Reply(body=pages.render_seizure_notice())


def challenge(code: int = 200) -> Handler:
    """Answer with a bot-check challenge page."""
    return lambda req: Reply(status=code, body=pages.render_challenge_page())


def body(data: bytes, content_type: str = "text/html; charset=utf-8", code: int = 200) -> Handler:
    """Answer with these bytes."""
    return lambda req: Reply(status=code, body=data, content_type=content_type)


def first(n: int, handler: Handler) -> Handler:
    """Apply `handler` to the first `n` hits of the path on a mirror, then fall through."""
    return lambda req: handler(req) if req.hit <= n else None


# ---- the server ---------------------------------------------------------------------------------------

_SECTION = re.compile(r"^/section/(\d+)(?:/(\d+))?/?$", re.IGNORECASE)
_SECTION_RSS = re.compile(r"^/rss/rss-(\d+)\.xml$", re.IGNORECASE)
_MONTHLY = re.compile(r"^/sitemap/(\d{4})-(\d{2})/sitemap-news-\d{4}-\d{2}\.xml(\.gz)?$", re.IGNORECASE)


def send_simple(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
    """Answer a request of one of the stand-in servers: status, headers, Content-Length and the body."""
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def check_loopback(host: str) -> None:
    """Refuse any address but loopback: the look-alike site must never be reachable from outside."""
    if host not in ("127.0.0.1", "::1"):
        raise ValueError(f"the look-alike site binds loopback only (127.0.0.1 or ::1), not {host!r}")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    mirror: RunningMirror


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read `site.log` instead of stderr noise

    def do_GET(self) -> None:
        self.server.mirror.handle(self)

    def do_HEAD(self) -> None:
        self.server.mirror.handle(self, head=True)


class RunningMirror:
    """One mirror being served: `base_url` to crawl, `hits` per path, overrides for its paths."""

    def __init__(self, site: RunningSite, spec: MirrorSpec, host: str) -> None:
        self.site = site
        self.spec = spec
        self.name = spec.name
        self.behaviour = spec.behaviour
        self.host = host
        self.server: _Server | None = None
        self.thread: threading.Thread | None = None
        self.started = time.monotonic()
        self.hits: dict[str, int] = {}
        self.overrides: dict[str, Handler] = {}
        self._lock = threading.Lock()
        if spec.behaviour == "refuse":
            self.port = spec.port or closed_port(host)
        else:
            server_cls = _V6Server if ":" in host else _Server
            self.server = server_cls((host, spec.port), _RequestHandler)
            self.server.mirror = self
            self.port = int(self.server.server_address[1])
        netloc = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        self.base_url = f"http://{netloc}"
        self.netloc = netloc

    def start(self) -> None:
        if self.server is not None:
            self.thread = threading.Thread(
                target=self.server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"site-{self.name}-{self.port}",
                daemon=True,
            )
            self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    @property
    def total_hits(self) -> int:
        """Requests this mirror answered (or reset)."""
        with self._lock:
            return sum(self.hits.values())

    def override(self, path: str, handler: Handler) -> None:
        """Answer `path` (exact, case-insensitive; "*" for every path) on this mirror with `handler`."""
        self.overrides[path.lower()] = handler

    # ---- answering ---------------------------------------------------------------------------------

    def handle(self, h: _RequestHandler, head: bool = False) -> None:
        parts = urlsplit(h.path)
        path = parts.path or "/"
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            hit = self.hits[path]
        req = SiteRequest(self, h.command, path, parts.query, {k: v for k, v in h.headers.items()}, hit)
        self.site.arrivals.append((str(h.headers.get("Host") or self.netloc), time.monotonic()))
        reply: Reply | None = None
        for handler in (
            self.overrides.get(path.lower()),
            self.overrides.get("*"),
            self.site.overrides.get(path.lower()),
            self.site.overrides.get("*"),
        ):
            if handler is not None:
                reply = handler(req)
                if reply is not None:
                    break
        if reply is None:
            reply = self.behaviour_reply(req)
        self.site.log.append((self.name, path, "reset" if reply.reset else reply.status))
        self._send(h, reply, head)

    def behaviour_reply(self, req: SiteRequest) -> Reply:
        b = self.behaviour
        if b == "seized":
            return Reply(body=pages.render_seizure_notice())
        if b == "503":
            return Reply(
                status=503,
                body=b"<html><body><h1>503 Service Unavailable</h1></body></html>",
                headers={"Retry-After": "0"},
            )
        if b == "down-then-up":
            if self.spec.down_seconds is not None:
                down = time.monotonic() - self.started < self.spec.down_seconds
            else:
                down = self.total_hits <= self.spec.down_requests
            if down:
                return Reply(reset=True)
        reply = self.normal_reply(req)
        if b == "slow":
            reply.delay = self.spec.delay
        return reply

    def normal_reply(self, req: SiteRequest) -> Reply:
        """What a healthy mirror answers for this request."""
        corpus = self.site.corpus
        path, low = req.path, req.path.lower()
        if low == "/robots.txt":
            if corpus.robots_txt is None:
                return Reply(status=404, body=pages.render_not_found())
            return Reply(body=corpus.robots_txt.encode("utf-8"), content_type="text/plain")
        if low == corpus.outlet.discovery.rss.lower():
            return Reply(body=corpus.rss(), content_type="application/rss+xml; charset=utf-8")
        m = _SECTION_RSS.match(path)
        if m:
            if corpus.outlet.section_name(m.group(1)) is None:
                return Reply(status=404, body=pages.render_not_found())
            return Reply(body=corpus.rss(m.group(1)), content_type="application/rss+xml; charset=utf-8")
        if low == corpus.outlet.discovery.sitemap_index.lower():
            return Reply(body=corpus.sitemap_index(self.base_url), content_type="application/xml; charset=utf-8")
        m = _MONTHLY.match(path)
        if m and bool(m.group(3)) == corpus.gzip_sitemaps:
            data = corpus.monthly_sitemap(int(m.group(1)), int(m.group(2)))
            if data is not None:
                ctype = "application/x-gzip" if corpus.gzip_sitemaps else "application/xml; charset=utf-8"
                return Reply(body=data, content_type=ctype)
            return Reply(status=404, body=pages.render_not_found())
        m = _SECTION.match(path)
        if m:
            listing = corpus.listing(m.group(1), int(m.group(2) or 1))
            if listing is None:
                return Reply(status=404, body=pages.render_not_found())
            return Reply(body=listing)
        article = corpus.article_for_path(f"{path}?{req.query}" if req.query else path)
        if article is not None:
            return Reply(body=article.html, content_type=article.content_type)
        if low in corpus.extra_pages:
            code, ctype, data = corpus.extra_pages[low]
            return Reply(status=code, body=data, content_type=ctype)
        if low in ("/", "/default", "/default/"):
            return Reply(body=corpus.homepage())
        return Reply(status=404, body=pages.render_not_found())

    def _send(self, h: _RequestHandler, reply: Reply, head: bool) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.raw is not None:
            reply.raw(h)
            return
        if reply.reset:
            # SO_LINGER 0 turns close() into a TCP reset, as a crashed or filtering server does.
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.close_connection = True
            h.connection.close()
            return
        try:
            h.send_response(reply.status)
            given = {k.lower() for k in reply.headers}
            if "content-type" not in given:
                h.send_header("Content-Type", reply.content_type)
            if "content-length" not in given:  # a fault may announce a length of its own
                h.send_header("Content-Length", str(len(reply.body)))
            for key, value in reply.headers.items():
                h.send_header(key, value)
            if reply.truncate_to is not None:
                h.send_header("Connection", "close")
            h.end_headers()
            if head:
                return
            data = reply.body if reply.truncate_to is None else reply.body[: reply.truncate_to]
            if reply.drip:
                size, interval = reply.drip
                for i in range(0, len(data), max(1, size)):
                    h.wfile.write(data[i : i + size])
                    h.wfile.flush()
                    time.sleep(interval)
            else:
                h.wfile.write(data)
            if reply.truncate_to is not None:
                h.wfile.flush()
                h.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True  # the client gave up (a timeout test): nothing to do


class RunningSite:
    """The served mirrors of one look-alike site, in priority order."""

    def __init__(self, corpus: SiteCorpus, specs: Sequence[MirrorSpec], host: str) -> None:
        self.corpus = corpus
        self.overrides: dict[str, Handler] = {}
        self.log: list[tuple[str, str, int | str]] = []
        """(mirror name, path, status or "reset") for every request answered, in order."""
        self.arrivals: list[tuple[str, float]] = []
        """(Host header, time.monotonic()) of every request as it arrived: what per-host rates are measured on."""
        self.mirrors: list[RunningMirror] = []
        for spec in specs:
            self.mirrors.append(RunningMirror(self, spec, host))

    @property
    def urls(self) -> list[str]:
        """Base URLs of the mirrors, in priority order."""
        return [m.base_url for m in self.mirrors]

    @property
    def mirrors_arg(self) -> str:
        """The spider argument: `-a mirrors=<this>`."""
        return ",".join(self.urls)

    def mirror(self, name: str) -> RunningMirror:
        """The mirror with this name (its behaviour unless named otherwise)."""
        for m in self.mirrors:
            if m.name == name:
                return m
        raise KeyError(f"no mirror named {name!r}; have {', '.join(m.name for m in self.mirrors)}")

    def override(self, path: str, handler: Handler, mirror: str | None = None) -> None:
        """Answer `path` (exact, case-insensitive; "*" for all) with `handler` on every mirror, or one."""
        if mirror is None:
            self.overrides[path.lower()] = handler
        else:
            self.mirror(mirror).override(path, handler)

    def clear_overrides(self) -> None:
        """Drop every override."""
        self.overrides.clear()
        for m in self.mirrors:
            m.overrides.clear()

    def peak_rates(self, window: float = 2.0) -> dict[str, float]:
        """Per Host header, the most requests that arrived within any `window` seconds, per second."""
        times: dict[str, list[float]] = {}
        for host, at in list(self.arrivals):
            times.setdefault(host, []).append(at)
        peaks: dict[str, float] = {}
        for host, stamps in times.items():
            stamps.sort()
            most, first = 0, 0
            for last, at in enumerate(stamps):
                while at - stamps[first] >= window:
                    first += 1
                most = max(most, last - first + 1)
            peaks[host] = most / window
        return peaks

    def requests_for(self, mirror: str) -> list[tuple[str, int | str]]:
        """(path, status) of requests a mirror answered."""
        return [(p, s) for n, p, s in list(self.log) if n == mirror]

    def start(self) -> None:
        for m in self.mirrors:
            m.start()

    def stop(self) -> None:
        for m in self.mirrors:
            m.stop()


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on: bound then closed at once (connections to it are refused; a server may take it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _spec(m: str | MirrorSpec) -> MirrorSpec:
    return m if isinstance(m, MirrorSpec) else MirrorSpec(behaviour=m)


@contextlib.contextmanager
def serve_site(
    corpus: SiteCorpus, mirrors: Sequence[str | MirrorSpec] = ("healthy",), host: str = "127.0.0.1"
) -> Iterator[RunningSite]:
    """Serve `corpus` on one loopback port per mirror (in threads) for the `with` block.

    `mirrors` are behaviours ("healthy", "seized", "refuse", "503", "slow", "down-then-up") or MirrorSpecs,
    in priority order. Two mirrors with the same behaviour get names "healthy", "healthy-2", ...
    """
    check_loopback(host)
    ipaddress.ip_address(host)
    specs = [_spec(m) for m in mirrors]
    seen: dict[str, int] = {}
    for s in specs:
        seen[s.name] = seen.get(s.name, 0) + 1
        if seen[s.name] > 1:
            s.name = f"{s.name}-{seen[s.name]}"
    site = RunningSite(corpus, specs, host)
    site.start()
    try:
        yield site
    finally:
        site.stop()
