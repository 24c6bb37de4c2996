"""Crawl the benchmark site end to end with the project and with the naive baseline, and print the figures.

    .venv/bin/python bench/crawl.py [--pages 2000] [--runs 3] [--concurrency 32] [--workers 0]
    .venv/bin/python bench/crawl.py --memory 1000,10000 [--runs 1]

The site (bench/sitegen.py, N pages of 40-120 KB, both layouts) is served by its own process on 127.0.0.1.
Each run crawls it in a fresh subprocess: the project's real `presstv` spider (`scrapy crawl presstv`, with
the SQLite store, raw HTML kept, article-id dedupe and the JSONL export; extraction in its process pool) and
bench/naive_spider.py (trafilatura in a plain pipeline). Politeness is off on both sides through the same
settings (no AutoThrottle, no delay, the same concurrency); robots.txt is still obeyed. The sides alternate
(project first in even runs, naive first in odd ones) so machine load hits both alike; figures are medians.

pages/s counts exported items over the process's wall time (start-up included); CPU s/page is user+system
time of the whole process tree (pool workers included) per item; peak RSS is the largest sum over the tree.
`--memory` crawls sites of each size with the project only and prints the peak RSS growth.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import sitegen
from proctree import Measured, run_measured

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


@dataclass
class Side:
    """One crawler under test and what its runs measured."""

    name: str
    runs: list[tuple[Measured, int]] = field(default_factory=list)
    """(measurement, items exported) per run."""

    def median(self, what: str) -> float:
        values = []
        for m, items in self.runs:
            n = max(items, 1)
            values.append(
                {
                    "pages/s": items / m.wall,
                    "cpu/page": m.cpu / n,
                    "main/page": m.main_cpu / n,
                    "rss": m.peak_rss / MB,
                    "wall": m.wall,
                    "items": items,
                }[what]
            )
        return statistics.median(values)


class Site:
    """The benchmark site served by `bench/sitegen.py serve` in its own process (for the `with` block)."""

    def __init__(self, pages: int) -> None:
        self.pages = pages
        self.proc: subprocess.Popen[str] | None = None
        self.base = ""

    def __enter__(self) -> Site:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "sitegen.py"), "serve", "--pages", str(self.pages)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("mirrors="):
            self.proc.kill()
            raise SystemExit(f"crawl.py: the benchmark site did not start (got {line!r})")
        self.base = line.split("=", 1)[1]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def _count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def politeness_off(concurrency: int) -> list[str]:
    """The benchmark's settings, the same on both sides (as -s options)."""
    return [
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        f"CONCURRENT_REQUESTS={concurrency}",
        "-s",
        f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}",
        "-s",
        "LOG_LEVEL=INFO",
    ]


def project_cmd(base: str, work: Path, concurrency: int, workers: int) -> list[str]:
    """The real `presstv` spider: store (raw HTML kept), dedupe, extraction pool, JSONL export."""
    # FEEDS given whole (not -O, which Scrapy adds beside the project's default per-run feed): one JSONL file.
    feeds = json.dumps({str(work / "project.jsonl"): {"format": "jsonlines", "encoding": "utf8"}})
    return [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "presstv",
        "-a",
        f"mirrors={base}",
        "-a",
        "sources=sitemap",
        "-a",
        f"since={sitegen.since_date()}",
        "-s",
        f"FEEDS={feeds}",
        "-s",
        f"CRAWLER_STORE={work / 'store.sqlite'}",
        "-s",
        f"CRAWLER_EXTRACT_WORKERS={workers}",
        *politeness_off(concurrency),
    ]


def naive_cmd(base: str, work: Path, concurrency: int) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "bench" / "naive_spider.py"),
        "--base",
        base,
        "--out",
        str(work / "naive.jsonl"),
        "--concurrency",
        str(concurrency),
    ]


def run_side(name: str, base: str, concurrency: int, workers: int, keep: Path | None) -> tuple[Measured, int]:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        work = Path(tmp)
        cmd = project_cmd(base, work, concurrency, workers) if name == "project" else naive_cmd(base, work, concurrency)
        log = work / "crawl.log"
        measured = run_measured(cmd, cwd=ROOT, log=log)
        items = _count_lines(work / f"{name}.jsonl")
        if measured.returncode != 0:
            tail = log.read_text(errors="replace").splitlines()[-15:]
            print(f"  ! {name} exited {measured.returncode}; log tail:\n    " + "\n    ".join(tail), file=sys.stderr)
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            os.replace(log, keep / f"{name}-{int(time.time())}.log")
        return measured, items


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def crawl_table(sides: list[Side], pages: int) -> str:
    rows = [
        "| side | runs | items (median) | pages/s | CPU per page, whole tree | of which the crawl process "
        "| peak RSS of tree (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in sides:
        rows.append(
            f"| {s.name} | {len(s.runs)} | {s.median('items'):.0f} | {s.median('pages/s'):.1f} | "
            f"{s.median('cpu/page') * 1000:.1f} ms | {s.median('main/page') * 1000:.1f} ms | "
            f"{s.median('rss'):.0f} |"
        )
    by = {s.name: s for s in sides}
    if "project" in by and "naive" in by:
        p, n = by["project"], by["naive"]
        rows.append(
            f"| project/naive | | | **{p.median('pages/s') / n.median('pages/s'):.2f}x** | "
            f"{p.median('cpu/page') / n.median('cpu/page'):.2f}x | | "
            f"{p.median('rss') / n.median('rss'):.2f}x |"
        )
    return "\n".join(rows)


def per_run(sides: list[Side]) -> str:
    lines = []
    for s in sides:
        for i, (m, items) in enumerate(s.runs):
            lines.append(
                f"  {s.name} run {i + 1}: {items} items in {m.wall:.1f} s = {items / m.wall:.1f} pages/s, "
                f"CPU {m.cpu:.1f} s (crawl process {m.main_cpu:.1f} s), "
                f"peak RSS {m.peak_rss / MB:.0f} MB, exit {m.returncode}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/crawl.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pages", type=int, default=sitegen.DEFAULT_PAGES, help="article pages on the site")
    ap.add_argument("--runs", type=int, default=3, help="runs of each side (alternating)")
    ap.add_argument("--concurrency", type=int, default=32, help="CONCURRENT_REQUESTS on both sides")
    ap.add_argument("--workers", type=int, default=0, help="project extraction workers (0: one per core)")
    ap.add_argument("--sides", default="project,naive", help="comma-separated: project, naive")
    ap.add_argument("--memory", metavar="N,M", help="project only: peak RSS at site sizes N and M pages")
    ap.add_argument("--keep-logs", type=Path, help="keep each crawl's log in this folder")
    args = ap.parse_args(argv)
    if args.pages < 1 or args.runs < 1:
        print("crawl.py: --pages and --runs must be at least 1", file=sys.stderr)
        return 2
    print(f"# Crawl benchmark\n\n{machine()}\n")
    if args.memory:
        sizes = [int(x) for x in args.memory.split(",") if x.strip()]
        results: list[tuple[int, Side]] = []
        for size in sizes:
            side = Side("project")
            with Site(size) as site:
                for _ in range(args.runs):
                    side.runs.append(run_side("project", site.base, args.concurrency, args.workers, args.keep_logs))
            results.append((size, side))
            print(per_run([side]), flush=True)
        rows = ["| site pages | items | pages/s | peak RSS of tree (MB) |", "|---:|---:|---:|---:|"]
        for size, side in results:
            rows.append(
                f"| {size} | {side.median('items'):.0f} | {side.median('pages/s'):.1f} | {side.median('rss'):.0f} |"
            )
        growth = results[-1][1].median("rss") - results[0][1].median("rss")
        print("\n" + "\n".join(rows))
        print(f"\npeak RSS growth {sizes[0]} -> {sizes[-1]} pages: {growth:+.0f} MB (target < 50 MB)")
        return 0
    names = [n.strip() for n in args.sides.split(",") if n.strip()]
    sides = [Side(n) for n in names]
    with Site(args.pages) as site:
        print(
            f"site: {args.pages} pages on {site.base}; concurrency {args.concurrency}; "
            f"project workers {args.workers or os.cpu_count()}\n",
            flush=True,
        )
        for r in range(args.runs):
            order = sides if r % 2 == 0 else list(reversed(sides))
            for side in order:
                side.runs.append(run_side(side.name, site.base, args.concurrency, args.workers, args.keep_logs))
                m, items = side.runs[-1]
                print(f"  run {r + 1} {side.name}: {items} items, {items / m.wall:.1f} pages/s", flush=True)
    print(f"\n{per_run(sides)}\n\n## {args.pages} pages, medians of {args.runs} runs\n")
    print(crawl_table(sides, args.pages))
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
