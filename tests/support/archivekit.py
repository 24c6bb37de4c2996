"""Shared test code for web archives: WARC files written with warcio, and a real pywb serving them on loopback.

Writing WARC files:
- `Rec(kind, url, body=..., date=..., status=..., headers=[...], warc_headers={...}, gzip_body=False,
  revisit_of=None)` describes one record: kind "response", "request", "revisit" or "metadata". `gzip_body`
  sends the body gzipped with `Content-Encoding: gzip`, as a server would; a revisit names the payload bytes of
  the response it revisits in `revisit_of` (its digest is computed from them).
- `write_warc_file(path, records, gzip=True) -> list[int]` writes them as WARC/1.1 (one gzip member per record
  when `gzip`) and returns each record's offset in the file.
- `payload_digest(payload) -> str`: the `sha1:<base32>` digest warcio writes for a payload.
- `write_arc_file(path, [(url, "YYYYMMDDhhmmss", html), ...], gzip=True)` writes the older ARC v1 format
  (warcio reads but does not write it): a `filedesc://` header record, then one 200 text/html response each.

Serving WARC files with pywb (the real one: pywb 2.x pins old redis/fakeredis, so it lives in a virtualenv of its
own that `.ci/run` makes, and runs as a separate process):
- `PYWB_ENV` ("CRAWLER_TEST_PYWB") names that virtualenv's bin folder (holding `wb-manager` and `wayback`);
  `pywb_bin()` returns it or None, and `requires_pywb` skips a test, saying pywb is absent, when it is not set.
- `serve_pywb(collections, root, config=None) -> RunningPywb` (a context manager): `config` (a dict) becomes
  pywb's `root/config.yaml`; for each {name: [WARC paths]} it runs
  `wb-manager init NAME` and `wb-manager add NAME FILES...` in `root` (which copies and indexes the files), then
  starts `wayback -b 127.0.0.1 -p PORT -d root` on a free loopback port, waits until it answers, and stops it
  (SIGTERM, then SIGKILL) on exit. Its log is `root/pywb.log`.
- `RunningPywb.url` is `http://127.0.0.1:PORT`; `replay_url(coll, timestamp, url)` is the raw, unrewritten
  replay `/<coll>/<timestamp>id_/<url>`; `cdx_url(coll, **params)` is the collection's CDX API
  (`/<coll>/cdx?url=...&output=json` answers one JSON object per line, like the Common Crawl index server;
  with config {"cdx_api_endpoint": "-index"} it is `/<coll>-index`, and `cdx_url` follows the config).
"""

from __future__ import annotations

import base64
import contextlib
import gzip as gzip_module
import hashlib
import io
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PYWB_ENV = "CRAWLER_TEST_PYWB"
"""Environment variable naming the bin folder of a virtualenv with pywb 2.x installed."""


def pywb_bin() -> Path | None:
    """The bin folder of the pywb virtualenv named by CRAWLER_TEST_PYWB, when it holds `wayback`."""
    value = os.environ.get(PYWB_ENV, "").strip()
    if not value:
        return None
    folder = Path(value)
    return folder if (folder / "wayback").is_file() and (folder / "wb-manager").is_file() else None


requires_pywb = pytest.mark.skipif(
    pywb_bin() is None,
    reason=f"pywb is absent: set {PYWB_ENV} to the bin folder of a virtualenv with pywb 2.x (.ci/run makes one "
    "in .ci/pywb-venv)",
)


# ---- writing WARC files ------------------------------------------------------------------------------------


def payload_digest(payload: bytes) -> str:
    """The WARC-Payload-Digest warcio writes for these payload bytes."""
    return "sha1:" + base64.b32encode(hashlib.sha1(payload).digest()).decode("ascii")


@dataclass
class Rec:
    """One WARC record to write (see the module docstring)."""

    kind: str
    url: str
    body: bytes = b""
    date: str = "2013-11-04T12:49:01Z"
    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "text/html; charset=utf-8")])
    warc_headers: dict[str, str] = field(default_factory=dict)
    gzip_body: bool = False
    revisit_of: bytes | None = None
    """For a revisit: the payload bytes (as written) of the response it revisits."""

    def payload(self) -> bytes:
        """The bytes as they go into the record (gzipped when `gzip_body`)."""
        return gzip_module.compress(self.body, mtime=0) if self.gzip_body else self.body


def write_warc_file(path: Path, records: Sequence[Rec], gzip: bool = True) -> list[int]:
    """Write the records as WARC/1.1 to `path`; returns the offset each record starts at."""
    offsets: list[int] = []
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip, warc_version="1.1")
        for rec in records:
            offsets.append(fh.tell())
            warc_headers = {"WARC-Date": rec.date, **rec.warc_headers}
            if rec.kind == "request":
                http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "example")], is_http_request=True)
                record = writer.create_warc_record(
                    rec.url, "request", payload=io.BytesIO(b""), http_headers=http, warc_headers_dict=warc_headers
                )
            elif rec.kind == "revisit":
                http = StatusAndHeaders(rec.status, list(rec.headers), protocol="HTTP/1.1")
                record = writer.create_revisit_record(
                    rec.url,
                    digest=payload_digest(rec.revisit_of or b""),
                    refers_to_uri=rec.url,
                    refers_to_date="2013-11-04T12:49:01Z",
                    http_headers=http,
                    warc_headers_dict=warc_headers,
                )
            elif rec.kind == "metadata":
                record = writer.create_warc_record(
                    rec.url,
                    "metadata",
                    payload=io.BytesIO(rec.body),
                    warc_content_type="text/plain",
                    warc_headers_dict=warc_headers,
                )
            else:
                headers = list(rec.headers)
                payload = rec.payload()
                if rec.gzip_body:
                    headers.append(("Content-Encoding", "gzip"))
                http = StatusAndHeaders(rec.status, headers, protocol="HTTP/1.1")
                record = writer.create_warc_record(
                    rec.url, "response", payload=io.BytesIO(payload), http_headers=http, warc_headers_dict=warc_headers
                )
            writer.write_record(record)
    return offsets


def write_arc_file(path: Path, pages: Sequence[tuple[str, str, bytes]], gzip: bool = True) -> None:
    """Write an ARC v1 file of 200 text/html responses (one gzip member per record when `gzip`)."""
    desc = b"1 0 crawler-tests\nURL IP-address Archive-date Content-type Archive-length\n"
    first = pages[0][1] if pages else "20000101000000"
    records = [f"filedesc://{path.name} 127.0.0.1 {first} text/plain {len(desc)}\n".encode() + desc + b"\n"]
    for url, stamp, body in pages:
        http = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        records.append(f"{url} 127.0.0.1 {stamp} text/html {len(http)}\n".encode() + http + b"\n")
    with open(path, "wb") as fh:
        for record in records:
            fh.write(gzip_module.compress(record, mtime=0) if gzip else record)


# ---- pywb ---------------------------------------------------------------------------------------------------


@dataclass
class RunningPywb:
    """A pywb server started by `serve_pywb`."""

    url: str
    port: int
    root: Path
    process: subprocess.Popen[bytes]
    cdx_endpoint: str = "/cdx"
    """pywb's `cdx_api_endpoint`: what follows the collection name in the CDX API's path."""

    def replay_url(self, coll: str, timestamp: str, url: str) -> str:
        """The raw replay of a capture: `/<coll>/<timestamp>id_/<url>` (the bytes as archived, not rewritten)."""
        return f"{self.url}/{coll}/{timestamp}id_/{url}"

    def cdx_url(self, coll: str, **params: str) -> str:
        """The collection's CDX API with these query parameters (e.g. url=..., output="json")."""
        return f"{self.url}/{coll}{self.cdx_endpoint}?{urlencode(params)}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve_pywb(
    collections: Mapping[str, Sequence[Path]],
    root: Path,
    *,
    config: Mapping[str, Any] | None = None,
    bin_dir: Path | None = None,
    timeout: float = 90,
) -> Iterator[RunningPywb]:
    """Build a pywb collection per {name: [WARC files]} under `root` and serve them on a free loopback port
    until the block ends (see the module docstring); `config` is written as pywb's config.yaml (e.g.
    {"cdx_api_endpoint": "-index"} serves the CDX API at `/<coll>-index`, as the Common Crawl index server
    does). Fails the test with pywb's log when it does not start."""
    folder = bin_dir or pywb_bin()
    if folder is None:
        pytest.skip(f"pywb is absent: set {PYWB_ENV} to the bin folder of a virtualenv with pywb 2.x")
    root.mkdir(parents=True, exist_ok=True)
    if config:
        # JSON is YAML: no YAML writer needed in the project's own virtualenv.
        (root / "config.yaml").write_text(json.dumps(dict(config)), encoding="utf-8")
    log_path = root / "pywb.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(log_path, "ab") as log:
        for name, files in collections.items():
            for cmd in (
                [str(folder / "wb-manager"), "init", name],
                [str(folder / "wb-manager"), "add", name, *map(str, files)],
            ):
                done = subprocess.run(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=timeout)
                if done.returncode != 0:
                    pytest.fail(
                        f"{' '.join(cmd[:3])} exited {done.returncode}:\n{log_path.read_text(errors='replace')[-2000:]}"
                    )
        port = _free_port()
        process = subprocess.Popen(
            [str(folder / "wayback"), "-b", "127.0.0.1", "-p", str(port), "-d", str(root)],
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    running = RunningPywb(
        f"http://127.0.0.1:{port}", port, root, process, str((config or {}).get("cdx_api_endpoint", "/cdx"))
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                pytest.fail(f"pywb exited {process.returncode}:\n{log_path.read_text(errors='replace')[-2000:]}")
            try:
                with urllib.request.urlopen(running.url + "/", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"pywb did not answer within {timeout:.0f} s:\n{log_path.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.2)
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
