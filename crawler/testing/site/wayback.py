"""A loopback stand-in for the Wayback Machine: the CDX server's JSON answers and raw `id_` replay of captures.

It speaks the Internet Archive's formats as documented for wayback-cdx-server: prefix matching on a SURT-like key
(scheme, `www.` and case ignored), `from`/`to` on 1-14 digit timestamps, repeated `filter=[!]field:regex` that
must match the whole field, `fl=`, `output=json` (an array of arrays whose first row is the header), a line cap
per query, `showResumeKey=true` (an empty row, then the key) and `resumeKey=`; `/web/<timestamp>id_/<url>` answers
the capture's bytes unchanged. Faults for tests: 429 with or without Retry-After for the first N CDX requests or
every Nth one, a resume key repeated forever, replays redirected to another host.
Loopback only, like the rest of the look-alike site.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from crawler.testing.site.server import check_loopback, send_simple

FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
_REPLAY = re.compile(r"^/web/(\d{1,14})id_/(.+)$")


def url_key(url: str) -> str:
    """The key captures are matched on: no scheme, no `www.`, lower case (what SURT matching ignores)."""
    rest = url.split("://", 1)[-1].lower()
    return rest[4:] if rest.startswith("www.") else rest


@dataclass
class ArchivedCapture:
    """One capture the stand-in holds."""

    original: str
    timestamp: str
    body: bytes
    statuscode: int = 200
    mimetype: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)

    def row(self) -> dict[str, str]:
        return {
            "urlkey": url_key(self.original),
            "timestamp": self.timestamp,
            "original": self.original,
            "mimetype": self.mimetype,
            "statuscode": str(self.statuscode),
            "digest": base64.b32encode(hashlib.sha1(self.body).digest()).decode(),
            "length": str(len(self.body)),
        }


@dataclass
class WaybackFaults:
    """Misbehaviour on demand."""

    throttle_first: int = 0
    """Answer this many CDX requests with 429 before serving."""
    retry_after: str | None = "1"
    """The Retry-After header of those 429s (None: none)."""
    throttle_every: int = 0
    """Answer every Nth CDX request with 429 (and `retry_after`), whatever came before (0: never)."""
    resume_key_loop: str | None = None
    """End every JSON CDX answer with this resume key, whatever was asked: a server paging forever."""
    replay_redirect: str | None = None
    """Answer every replay with a 302 to this URL followed by the replay's own path (another host)."""


class WaybackArchive:
    """The captures, and the server's limits."""

    def __init__(self, captures: Iterable[ArchivedCapture] = (), *, line_cap: int = 150_000) -> None:
        self.captures: list[ArchivedCapture] = sorted(captures, key=lambda c: (url_key(c.original), c.timestamp))
        self.line_cap = line_cap
        self.faults = WaybackFaults()
        self.requests: list[str] = []
        """Every request path and query, in order (what the crawler asked)."""
        self.request_times: list[tuple[float, str]] = []
        """(time.monotonic(), path) of every request: what rate the crawler kept to."""
        self._lock = threading.Lock()

    def add(self, capture: ArchivedCapture) -> None:
        with self._lock:
            self.captures.append(capture)
            self.captures.sort(key=lambda c: (url_key(c.original), c.timestamp))

    # ---- CDX -----------------------------------------------------------------------------------------

    def cdx(self, query: str) -> tuple[int, dict[str, str], bytes]:
        params = parse_qsl(query, keep_blank_values=True)
        one = {k: v for k, v in params}
        url = one.get("url", "")
        if not url:
            return 400, {}, b"url parameter is required"
        prefix = url.endswith("*") or one.get("matchType") == "prefix"
        key = url_key(url.rstrip("*"))
        since, until = one.get("from", ""), one.get("to", "")
        filters = []
        for k, v in params:
            if k == "filter":
                negate = v.startswith("!")
                name, _, rx = v.lstrip("!").partition(":")
                filters.append((negate, name, re.compile(rx)))
        fl = [f for f in one.get("fl", ",".join(FIELDS)).split(",") if f in FIELDS] or list(FIELDS)
        resume = one.get("resumeKey", "")
        rows: list[dict[str, str]] = []
        with self._lock:
            captures = list(self.captures)
        for cap in captures:
            row = cap.row()
            ck = row["urlkey"]
            if not (ck.startswith(key) if prefix else ck == key):
                continue
            if since and row["timestamp"] < _pad(since, "0"):
                continue
            if until and row["timestamp"] > _pad(until, "9"):
                continue
            if any(bool(rx.fullmatch(row.get(name, ""))) == negate for negate, name, rx in filters):
                continue
            position = f"{ck} {row['timestamp']}"
            if resume and position <= resume:
                continue
            rows.append(row)
        more = len(rows) > self.line_cap
        rows = rows[: self.line_cap]
        if one.get("output") != "json":
            text = "\n".join(" ".join(r[f] for f in fl) for r in rows)
            return 200, {"Content-Type": "text/plain"}, text.encode()
        if not rows:
            return 200, {"Content-Type": "application/json"}, b"[]"
        out: list[list[str]] = [fl, *[[r[f] for f in fl] for r in rows]]
        if more and one.get("showResumeKey") == "true":
            last = rows[-1]
            out += [[], [f"{last['urlkey']} {last['timestamp']}"]]
        return 200, {"Content-Type": "application/json"}, json.dumps(out).encode()

    # ---- replay ----------------------------------------------------------------------------------------

    def replay(self, timestamp: str, original: str) -> tuple[int, dict[str, str], bytes]:
        key = url_key(original)
        with self._lock:
            exact = [c for c in self.captures if url_key(c.original) == key]
        if not exact:
            return 404, {"Content-Type": "text/html"}, b"<html><body>Wayback Machine has not archived that URL."
        wanted = _pad(timestamp, "0")
        # The closest capture, as the Wayback Machine does; a different one is announced.
        best = min(exact, key=lambda c: abs(int(c.timestamp) - int(wanted)))
        headers = {"Content-Type": best.mimetype, "Memento-Datetime": best.timestamp, **best.headers}
        if best.timestamp != wanted:
            headers["X-Archive-Redirect-Reason"] = f"found capture at {best.timestamp}"
        return best.statuscode, headers, best.body


def _pad(ts: str, fill: str) -> str:
    return (ts + fill * 14)[:14]


class _Handler(BaseHTTPRequestHandler):
    server: _WaybackServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `archive.requests`
        return

    def do_GET(self) -> None:
        archive = self.server.archive
        parts = urlsplit(self.path)
        with archive._lock:
            archive.requests.append(self.path)
            archive.request_times.append((time.monotonic(), self.path))
            cdx_calls = sum(1 for r in archive.requests if r.startswith("/cdx/"))
        faults = archive.faults
        if parts.path == "/cdx/search/cdx":
            if cdx_calls <= faults.throttle_first or (faults.throttle_every and cdx_calls % faults.throttle_every == 0):
                headers = {"Retry-After": faults.retry_after} if faults.retry_after else {}
                self._send(429, headers, b"Too Many Requests")
                return
            status, headers, body = archive.cdx(parts.query)
            if faults.resume_key_loop is not None and status == 200 and body.startswith(b"["):
                rows = json.loads(body) or [["original", "timestamp"]]
                if len(rows) >= 3 and rows[-2] == []:
                    rows = rows[:-2]
                body = json.dumps([*rows, [], [faults.resume_key_loop]]).encode()
            self._send(status, headers, body)
            return
        match = _REPLAY.match(self.path)
        if match and faults.replay_redirect:
            self._send(302, {"Location": faults.replay_redirect.rstrip("/") + self.path}, b"")
            return
        if match:
            self._send(*archive.replay(match.group(1), match.group(2)))
            return
        self._send(404, {"Content-Type": "text/plain"}, b"not found")

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        send_simple(self, status, headers, body)


class _WaybackServer(ThreadingHTTPServer):
    daemon_threads = True
    archive: WaybackArchive


class RunningWayback:
    """A started stand-in: its base URL (pass as CRAWLER_WAYBACK_URL) and its archive."""

    def __init__(self, archive: WaybackArchive, host: str = "127.0.0.1", port: int = 0) -> None:
        check_loopback(host)
        self.archive = archive
        self._server = _WaybackServer((host, port), _Handler)
        self._server.archive = archive
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="wayback", daemon=True)

    def __enter__(self) -> RunningWayback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


__all__ = ["ArchivedCapture", "RunningWayback", "WaybackArchive", "WaybackFaults", "url_key"]
