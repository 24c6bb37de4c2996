"""Fault-injection helpers for the fault suite: socket-level faults for the look-alike site, an off-site
loopback host that records contacts, odd pages, and read-only views of a crawl's store.

Everything here plugs into crawler.testing.site's override mechanism (`site.override(path, handler)`): a handler
takes the SiteRequest and returns a `Reply`; faults the Reply fields cannot express use `Reply.raw`, which
writes to the request's socket directly.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import socket
import sqlite3
import struct
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from crawler.testing.site import ArticleSpec, Reply, SiteCorpus, SiteRequest, pages
from crawler.testing.site.server import Handler

# ---- socket-level faults (Reply.raw) -----------------------------------------------------------------


def _head(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    h.send_response(status)
    for key, value in headers.items():
        h.send_header(key, value)
    h.end_headers()


def _hard_reset(h: BaseHTTPRequestHandler) -> None:
    # SO_LINGER 0 turns close() into a TCP RST, as a crashing server or a middlebox does.
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True
    h.connection.close()


def reset_mid_body(keep: int = 1500) -> Handler:
    """Send the headers and the first `keep` bytes of the normal page, then reset the connection."""

    def handle(req: SiteRequest) -> Reply:
        data = req.mirror.normal_reply(req).body

        def raw(h: BaseHTTPRequestHandler) -> None:
            _head(h, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(data))})
            h.wfile.write(data[:keep])
            h.wfile.flush()
            time.sleep(0.05)
            _hard_reset(h)

        return Reply(raw=raw)

    return handle


def stall_mid_body(seconds: float, keep: int = 1500) -> Handler:
    """Send the headers and `keep` body bytes, then go silent for `seconds` (past the client's timeout)."""

    def handle(req: SiteRequest) -> Reply:
        data = req.mirror.normal_reply(req).body

        def raw(h: BaseHTTPRequestHandler) -> None:
            _head(h, 200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(data))})
            h.wfile.write(data[:keep])
            h.wfile.flush()
            time.sleep(seconds)
            h.close_connection = True

        return Reply(raw=raw)

    return handle


def garbage_response(data: bytes = b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n") -> Handler:
    """Answer with bytes that are not HTTP at all (another service on the port, a broken proxy), then close."""

    def handle(req: SiteRequest) -> Reply:
        def raw(h: BaseHTTPRequestHandler) -> None:
            with contextlib.suppress(OSError):
                h.wfile.write(data)
                h.wfile.flush()
            h.close_connection = True

        return Reply(raw=raw)

    return handle


def stream_unannounced(data: bytes, chunk: int = 1 << 20) -> Handler:
    """Send `data` with no Content-Length (the body ends when the connection closes), as a streamed page."""

    def handle(req: SiteRequest) -> Reply:
        def raw(h: BaseHTTPRequestHandler) -> None:
            _head(h, 200, {"Content-Type": "text/html; charset=utf-8", "Connection": "close"})
            try:
                for i in range(0, len(data), chunk):
                    h.wfile.write(data[i : i + chunk])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on it, as it should
            h.close_connection = True

        return Reply(raw=raw)

    return handle


def gzip_encoded(data: bytes, content_type: str = "text/html; charset=utf-8") -> Handler:
    """Answer with `data` gzipped and sent with `Content-Encoding: gzip` (the client inflates it)."""
    compressed = gzip.compress(data, compresslevel=9, mtime=0)
    return lambda req: Reply(body=compressed, content_type=content_type, headers={"Content-Encoding": "gzip"})


def gzip_bomb(inflated_mb: int = 200) -> bytes:
    """A gzip stream of zeros that inflates to `inflated_mb` MB (about 1/1000 of that compressed)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [comp.compress(block) for _ in range(inflated_mb)]
    parts.append(comp.flush())
    return b"".join(parts)


def record_times(handler: Handler, times: list[float]) -> Handler:
    """Wrap `handler`, noting the monotonic time of every request it sees."""

    def handle(req: SiteRequest) -> Reply | None:
        times.append(time.monotonic())
        return handler(req)

    return handle


def on_hits(hits: dict[int, Handler]) -> Handler:
    """Per-hit faults on one mirror: `{1: status(500), 2: reset()}`; other hits fall through to the page."""
    return lambda req: hits[req.hit](req) if req.hit in hits else None


# ---- an off-site host on loopback ---------------------------------------------------------------------


class OffsiteHost:
    """A host outside the outlet, on another loopback address (127.0.0.2): answers anything with a small
    page and records every connection, so a test can prove the crawler never contacted it."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        if not host.startswith("127."):
            raise ValueError("the off-site stand-in must be a loopback address")
        self.host = host
        self.contacts: list[str] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self.port = int(self._sock.getsockname()[1])
        self.base_url = f"http://{host}:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="offsite-host", daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    first = conn.recv(4096).split(b"\r\n", 1)[0].decode("latin-1")
                except OSError:
                    first = ""
                self.contacts.append(first or "(connection)")
                body = b"<html><body><p>Off-site page: the crawler must never read this.</p></body></html>"
                with contextlib.suppress(OSError):
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                    )

    def __enter__(self) -> OffsiteHost:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


# ---- pages ---------------------------------------------------------------------------------------------


def add_article(
    corpus: SiteCorpus,
    article_id: str,
    title: str,
    paragraphs: list[str] | None = None,
    *,
    in_feeds: bool = True,
    published: datetime | None = None,
) -> str:
    """Add a generated-style article with this id and text; returns its path."""
    when = published or corpus.now.replace(microsecond=0, second=0, minute=0)
    spec = ArticleSpec(
        article_id=article_id,
        published=when,
        section_id="102",
        section_name="West Asia",
        title=title,
        lead=f"{title}: officials gave details on Monday.",
        paragraphs=paragraphs or pages.filler_paragraphs(6, int(article_id)),
    )
    art = corpus.add_spec(spec)
    if not in_feeds:
        corpus.add_article(replace(art, in_feeds=False))
    return art.path


# ---- the store a fault crawl wrote ----------------------------------------------------------------------


@dataclass
class StoreCheck:
    """A store a fault crawl wrote, and the articles it must hold exactly once after every test read it."""

    label: str
    path: Path
    expected_ids: set[str]


def store_problems(check: StoreCheck) -> list[str]:
    """What is wrong with a store: a failed integrity check, articles extra, missing or stored twice."""
    view = StoreView(check.path)
    problems = []
    integrity = view.integrity()
    if integrity != "ok":
        problems.append(f"{check.label}: PRAGMA integrity_check says {integrity}")
    stored = view.article_ids()  # one entry per stored version: a duplicate shows twice
    if stored != sorted(check.expected_ids):
        extra = sorted(set(stored) - check.expected_ids)
        missing = sorted(check.expected_ids - set(stored))
        twice = sorted({a for a in stored if stored.count(a) > 1})
        problems.append(f"{check.label}: extra {extra}, missing {missing}, stored twice {twice}")
    return problems


def assert_stores_intact(checks: list[StoreCheck]) -> None:
    """Fail with every problem of these stores (called by fixture finalizers, after the tests that read them)."""
    problems = [p for check in checks for p in store_problems(check)]
    assert not problems, "\n".join(problems)


@dataclass
class StoreView:
    """Read-only queries on a crawl's SQLite store (a fresh connection per call, so it sees every commit)."""

    path: Path
    _cache: dict[str, Any] = field(default_factory=dict)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return list(db.execute(sql, params).fetchall())
        finally:
            db.close()

    def article_ids(self) -> list[str]:
        """Stored article ids, one entry per version (so a duplicate shows up twice)."""
        return sorted(r[0] for r in self.query("SELECT article_id FROM versions"))

    def item(self, article_id: str) -> dict[str, Any] | None:
        rows = self.query(
            "SELECT v.item FROM articles a JOIN versions v ON v.article_id = a.article_id "
            "AND v.version = a.version WHERE a.article_id = ?",
            (article_id,),
        )
        return json.loads(rows[0][0]) if rows else None

    def failures(self, article_id: str) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT kind, url, status, reason FROM failures WHERE article_id = ? ORDER BY id", (article_id,)
        )
        return [{"kind": k, "url": u, "status": s, "reason": r} for k, u, s, r in rows]

    def runs(self) -> list[dict[str, Any]]:
        rows = self.query("SELECT id, status, exit_status, finish_reason, new, failed, refused FROM runs ORDER BY id")
        keys = ("id", "status", "exit_status", "finish_reason", "new", "failed", "refused")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def integrity(self) -> str:
        return str(self.query("PRAGMA integrity_check")[0][0])


def summary_lines(stderr: str) -> list[str]:
    """The run's one-line summaries ("Run summary: ...") in the crawl's log."""
    return [line.split("Run summary: ", 1)[1] for line in stderr.splitlines() if "Run summary: " in line]


def one_summary(stderr: str) -> str:
    """The run's single summary line; fails when the crawl printed a traceback or not exactly one summary."""
    if "Traceback" in stderr:
        raise AssertionError("the crawl printed a traceback:\n" + stderr[stderr.index("Traceback") - 500 :][:4000])
    lines = summary_lines(stderr)
    if len(lines) != 1:
        raise AssertionError(f"expected one 'Run summary:' line, got {len(lines)}:\n{stderr[-3000:]}")
    return lines[0]


def all_bytes_under(folder: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file below `folder` with its bytes (for "this secret appears nowhere" checks)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            yield path, path.read_bytes()


# ---- the process and the disk --------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, size_kb: int) -> Iterator[bool]:
    """Mount a `size_kb` tmpfs on `folder` when this process may (root with CAP_SYS_ADMIN): a real disk that
    fills up. Yields False (nothing mounted) where it may not; the caller then caps the store's size instead
    (CRAWLER_STORE_MAX_MB), which fails the same way: SQLite's "database or disk is full"."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = False
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k,mode=0755", "tmpfs", str(folder)],
            capture_output=True,
            check=False,
        )
        mounted = proc.returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make a file unwritable for this machine's user, root included (root ignores modes: use the immutable
    attribute there), and writable again afterwards."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True, capture_output=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=False, capture_output=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(mode)


@contextlib.contextmanager
def store_lock_held(store: Path) -> Iterator[None]:
    """Hold the store's run lock (`<store>.lock`, flock) the way a running crawl does, for the `with` block:
    a crawl started inside it meets a store in use, without racing a second crawl for it."""
    import fcntl

    with open(f"{store}.lock", "a+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
