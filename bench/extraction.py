"""Extraction CPU per page: crawler.extract beside plain `trafilatura.extract(html)` on the benchmark site's pages.

    .venv/bin/python bench/extraction.py [--pages 2000] [--runs 3] [--profile]

One process, one core: both extractors get the same generated pages (bench/sitegen.py: 40-120 KB, both
layouts) as the crawl receives them (bytes for the project; the decoded text for trafilatura, which is what a
user's pipeline hands it), alternating page by page and which goes first, so machine load hits both alike.
CPU time is the process's (time.process_time). Figures are medians over runs. `--profile` adds the
per-stage table (decode, parse, classify, metadata and pruning, trafilatura, guard; then the store's write).
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import statistics
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sitegen
import trafilatura
from quality import warm_stop_lists

from crawler.extract import NotAnArticle, extract_full


def _project(page: sitegen.BenchPage) -> None:
    with suppress(NotAnArticle):
        extract_full(page.html, page.url)


def _plain(page: sitegen.BenchPage) -> None:
    trafilatura.extract(page.html.decode("utf-8"), url=page.url)


def timed_runs(pages: list[sitegen.BenchPage], runs: int) -> dict[str, list[float]]:
    """CPU seconds per page for each extractor, one figure per run."""
    sides: dict[str, Callable[[sitegen.BenchPage], None]] = {"crawler.extract": _project, "trafilatura.extract": _plain}
    out: dict[str, list[float]] = {name: [] for name in sides}
    for page in pages[:5]:  # warm-up: imports, compiled XPaths, trafilatura's lazy setup
        for fn in sides.values():
            fn(page)
    warm_stop_lists()
    for r in range(runs):
        total = dict.fromkeys(sides, 0.0)
        for i, page in enumerate(pages):
            order = list(sides.items())
            if (i + r) % 2:
                order.reverse()
            for name, fn in order:
                t = time.process_time()
                fn(page)
                total[name] += time.process_time() - t
        for name in sides:
            out[name].append(total[name] / len(pages))
    return out


# ---- per-stage profile --------------------------------------------------------------------------------


class _Stages:
    """Accumulates CPU time per stage by wrapping the extraction core's own functions."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.stack: list[str] = []

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            self.stack.append(name)
            try:
                return fn(*args, **kwargs)
            finally:
                self.stack.pop()
                spent = time.process_time() - t
                self.cpu[name] += spent
                if self.stack:  # time of a nested stage is not its caller's
                    self.cpu[self.stack[-1]] -= spent

        return wrapped


@contextmanager
def _patched(stages: _Stages) -> Iterator[None]:
    import crawler.extract.core as core

    class _Traf:
        extract = staticmethod(stages.wrap("trafilatura (on the pruned region)", trafilatura.extract))

    names = {
        "decode_page": "decode (bytes to text)",
        "parse_html": "parse (lxml, once)",
        "classify_non_article": "classify (non-article checks)",
        "_detect_layout": "classify (non-article checks)",
        "_extract_outlet": "metadata fields and region pruning",
        "_prune_read_more": "read-more pruning",
        "_block_paragraphs": "region paragraphs (trafilatura cross-check)",
        "guard_paragraphs": "boilerplate guard",
    }
    saved: dict[str, Any] = {"trafilatura": core.trafilatura}
    for attr, label in names.items():
        saved[attr] = getattr(core, attr)
        setattr(core, attr, stages.wrap(label, saved[attr]))
    core.trafilatura = _Traf  # type: ignore[assignment]
    try:
        yield
    finally:
        for attr, value in saved.items():
            setattr(core, attr, value)


def stage_profile(pages: list[sitegen.BenchPage]) -> list[tuple[str, float]]:
    """(stage, CPU ms per page) for the project's extraction, the pool transfer and the store write."""
    from crawler.core.page import Page
    from crawler.pool.extraction import extract_page
    from crawler.store.sql import ZLIB_LEVEL
    from crawler.store.sqlite import SQLiteStore

    stages = _Stages()
    results = []
    with _patched(stages):
        whole = stages.wrap("extract_full (rest)", extract_full)
        for page in pages:
            t = time.process_time()
            with suppress(NotAnArticle):
                whole(page.html, page.url)
            stages.cpu["_total_extract"] += time.process_time() - t
    # What crosses the process boundary: the page's bytes in, the ExtractOutcome out.
    for page in pages:
        results.append((page, extract_page(page.html, page.url, "127.0.0.1", "presstv")))
    t = time.process_time()
    for _page, res in results:
        pickle.loads(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
    pickle_out = time.process_time() - t
    t = time.process_time()
    for page in pages:
        pickle.loads(pickle.dumps((page.html, page.url, "127.0.0.1", "presstv"), protocol=pickle.HIGHEST_PROTOCOL))
    pickle_in = time.process_time() - t
    t = time.process_time()
    for page in pages:
        zlib.compress(page.html, ZLIB_LEVEL)
        hashlib.sha256(page.html).hexdigest()
    blob_cpu = time.process_time() - t
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(os.path.join(tmp, "s.sqlite"), commit_items=100)
        t = time.process_time()
        for page, res in results:
            if res.article is None:
                continue
            store.save_article(
                res.article,
                Page(
                    url=page.url,
                    status=200,
                    html=page.html,
                    encoding="utf-8",
                    fetched_at="2026-01-01T00:00:00",
                    mirror="127.0.0.1",
                    compressed=res.compressed,
                    sha256=res.sha256,
                ),
                None,
            )
        store.commit()
        store_cpu = time.process_time() - t
        store.close()
    n = len(pages)
    rows = [
        (name, cpu * 1000 / n)
        for name, cpu in sorted(stages.cpu.items(), key=lambda kv: -kv[1])
        if not name.startswith("_")
    ]
    rows.append(("raw page zlib + SHA-256 for the store (worker)", blob_cpu * 1000 / n))
    rows.append(("pickling to and from the pool worker", (pickle_in + pickle_out) * 1000 / n))
    rows.append(("store write (SQLite, batched; crawl process)", store_cpu * 1000 / n))
    rows.append(("= extraction total (crawler.extract)", stages.cpu["_total_extract"] * 1000 / n))
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/extraction.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pages", type=int, default=sitegen.DEFAULT_PAGES)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="also print the per-stage profile")
    ap.add_argument("--cache", type=Path, default=sitegen.CACHE_DIR, help="rendered page cache")
    args = ap.parse_args(argv)
    if args.pages < 1 or args.runs < 1:
        print("extraction.py: --pages and --runs must be at least 1", file=sys.stderr)
        return 2
    pages = list(sitegen.iter_pages(args.pages, args.cache))
    mean_kb = sum(len(p.html) for p in pages) / len(pages) / 1000
    print(
        f"# Extraction CPU per page\n\n{args.pages} pages (mean {mean_kb:.0f} KB, both layouts), {args.runs} runs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    res = timed_runs(pages, args.runs)
    proj, plain = statistics.median(res["crawler.extract"]), statistics.median(res["trafilatura.extract"])
    print("| extractor | CPU ms/page (median) | runs |\n|---|---:|---|")
    for name, vals in res.items():
        print(f"| {name} | {statistics.median(vals) * 1000:.1f} | {', '.join(f'{v * 1000:.1f}' for v in vals)} |")
    print(f"| ratio crawler/trafilatura | **{proj / plain:.2f}x** | target <= 0.6x |")
    if args.profile:
        print("\n## Where the project's time goes per page (single process, CPU ms/page)\n")
        print("| stage | CPU ms/page |\n|---|---:|")
        for name, ms in stage_profile(pages):
            print(f"| {name} | {ms:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
