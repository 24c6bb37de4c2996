"""Throughput of `crawler crawl --workers N` on the shared Redis frontier, for 1, 2 and 3 workers, and print it.

    .venv/bin/python bench/workers.py [--pages 1000] [--workers 1,2,3] [--latency 0,0.3] [--redis URL]

For each latency (seconds the benchmark site waits before answering each page: 0 is CPU-bound crawling,
0.3 a network-bound one) and each worker count, the benchmark site (bench/sitegen.py) is served by its own
process on 127.0.0.1 and crawled from scratch into a fresh SQLite store, with the shared host rate off
(CRAWLER_HOST_RATE=0) and no other politeness (no AutoThrottle, no delay). Without --redis a redis-server of
its own is started on a free loopback port (Debian's `redis-server` must be installed).

pages/s counts articles stored over the wall time of the whole `crawler crawl --workers N` (start-up and the
CRAWLER_FRONTIER_IDLE_SECONDS idle wait at the end included, so the figure is what a user sees); the idle wait
is also shown taken out. A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sitegen

ROOT = Path(__file__).resolve().parents[1]
IDLE_SECONDS = 2.0
TOTAL = re.compile(r"^all \d+ workers: (\d+) articles extracted \((\d+) new", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("bench/workers.py: no redis-server on PATH: install Debian's redis-server or give --redis")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(work)],
        stdout=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    return proc, f"redis://127.0.0.1:{port}/0"


def serve_site(pages: int, latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "sitegen.py"), "serve", "--pages", str(pages), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("mirrors="):
        proc.kill()
        raise SystemExit(f"bench/workers.py: the site did not start ({line!r})")
    return proc, line.removeprefix("mirrors=")


def crawl(workers: int, base: str, redis_url: str, work: Path, concurrency: int) -> tuple[int, float]:
    """(articles stored, wall seconds) of one `crawler crawl --workers N` from scratch."""
    store = work / f"store-{workers}-{time.monotonic_ns()}.sqlite"
    cmd = [
        sys.executable,
        "-m",
        "crawler",
        "crawl",
        "--workers",
        str(workers),
        "--store",
        str(store),
        "-a",
        f"mirrors={base}",
        "-a",
        "sources=sitemap",
        "-a",
        f"since={sitegen.since_date()}",
        "-s",
        f"CRAWLER_FRONTIER={redis_url}",
        "-s",
        f"CRAWLER_FRONTIER_IDLE_SECONDS={IDLE_SECONDS}",
        "-s",
        "CRAWLER_HOST_RATE=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        f"CONCURRENT_REQUESTS={concurrency}",
        "-s",
        f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
        "-s",
        "CRAWLER_EXTRACT_WORKERS=1",
        "-s",
        "FEEDS={}",
        "-s",
        "LOG_LEVEL=WARNING",
    ]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env={**os.environ})
    wall = time.monotonic() - started
    m = TOTAL.search(proc.stdout)
    if proc.returncode != 0 or m is None:
        raise SystemExit(f"bench/workers.py: crawl failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    return int(m.group(2)), wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/workers.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--workers", default="1,2,3", help="worker counts, comma-separated")
    ap.add_argument("--latency", default="0,0.3", help="site answer delays in seconds, comma-separated")
    ap.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="CONCURRENT_REQUESTS of each worker (default 4: with latency, a worker waits on the network)",
    )
    ap.add_argument("--redis", default="", help="a Redis URL to use instead of starting one")
    args = ap.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",") if x.strip()]
    latencies = [float(x) for x in args.latency.split(",") if x.strip()]
    print(f"{os.cpu_count()} cores; {args.pages} pages; concurrency {args.concurrency} per worker; host rate off")
    print(f"{'latency':>8} {'workers':>8} {'stored':>7} {'wall s':>7} {'pages/s':>8} {'excl. idle':>11} {'vs 1':>6}")
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        work = Path(tmp)
        redis_proc, url = (None, args.redis) if args.redis else start_redis(work)
        try:
            for latency in latencies:
                site, base = serve_site(args.pages, latency)
                try:
                    first: float | None = None
                    for n in counts:
                        stored, wall = crawl(n, base, url, work, args.concurrency)
                        rate = stored / wall
                        busy = stored / max(0.001, wall - IDLE_SECONDS)
                        first = first or rate
                        print(
                            f"{latency:>8.1f} {n:>8} {stored:>7} {wall:>7.1f} {rate:>8.1f} {busy:>11.1f} "
                            f"{rate / first:>5.2f}x",
                            flush=True,
                        )
                finally:
                    site.terminate()
                    site.wait()
        finally:
            if redis_proc is not None:
                redis_proc.terminate()
                redis_proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
