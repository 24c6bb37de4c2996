"""A loopback stand-in for Common Crawl's data server: files of one folder served with HTTP Range requests.

data.commoncrawl.org answers `GET /<filename>` with `Range: bytes=<first>-<last>` by 206 Partial Content holding
exactly those bytes (one gzip member: one WARC record). This server does the same for the files under a folder,
records every request (path, Range, time) and can answer the first N requests 503 (the service's "slow down").
Loopback only, like the rest of the look-alike site.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.testing.site.server import check_loopback, send_simple

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class DataRequest:
    """One request the data server answered."""

    path: str
    range: str | None
    status: int
    at: float = field(default_factory=time.monotonic)


class _Handler(BaseHTTPRequestHandler):
    server: _DataServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read `requests`
        return

    def do_GET(self) -> None:
        served = self.server.served
        path = unquote(urlsplit(self.path).path).lstrip("/")
        wanted = self.headers.get("Range")
        with served.lock:
            number = sum(1 for r in served.requests if r.range is not None) + 1
        if wanted is not None and number <= served.slow_down_first:
            self._reply(503, b"Slow Down", wanted, {"Retry-After": "1"})
            return
        target = (served.root / path).resolve()
        if served.root not in target.parents or not target.is_file():
            self._reply(404, b"not found", wanted)
            return
        data = target.read_bytes()
        if wanted is None:
            self._reply(200, data, wanted)
            return
        match = _RANGE.match(wanted.strip())
        if not match or int(match.group(1)) >= len(data):
            self._reply(416, b"", wanted, {"Content-Range": f"bytes */{len(data)}"})
            return
        first = int(match.group(1))
        last = min(int(match.group(2)) if match.group(2) else len(data) - 1, len(data) - 1)
        self._reply(206, data[first : last + 1], wanted, {"Content-Range": f"bytes {first}-{last}/{len(data)}"})

    def _reply(self, status: int, body: bytes, wanted: str | None, headers: dict[str, str] | None = None) -> None:
        with self.server.served.lock:
            self.server.served.requests.append(DataRequest(self.path, wanted, status))
        send_simple(self, status, {"Content-Type": "application/octet-stream", **(headers or {})}, body)


class _DataServer(ThreadingHTTPServer):
    daemon_threads = True
    served: RangedFiles


class RangedFiles:
    """The files under `root`, served with Range support on a loopback port inside a `with` block."""

    def __init__(self, root: str | Path, host: str = "127.0.0.1", port: int = 0) -> None:
        check_loopback(host)
        self.root = Path(root).resolve()
        self.requests: list[DataRequest] = []
        self.slow_down_first = 0
        """Answer this many Range requests 503 with Retry-After: 1 before serving them."""
        self.lock = threading.Lock()
        self._server = _DataServer((host, port), _Handler)
        self._server.served = self
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ranged-files", daemon=True)

    def __enter__(self) -> RangedFiles:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


__all__ = ["DataRequest", "RangedFiles"]
