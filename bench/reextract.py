"""`crawler reextract` over a store of N pages, beside single-process trafilatura on the same stored pages.

    .venv/bin/python bench/reextract.py [--pages 2000] [--runs 3] [--workers 0]

The store is built once from the benchmark site's pages (bench/sitegen.py) as a crawl stores them: each
article with its raw page (zlib) under its canonical URL. Each run copies it and, in a fresh subprocess,
either re-extracts it with `python -m crawler reextract --store COPY` (every core; results written back in
batched transactions) or reads the same pages and calls plain `trafilatura.extract(html)` on each in one
process (the baseline; it writes nothing). Sides alternate; figures are medians. pages/s is over the
subprocess's wall time, start-up included; CPU is the whole process tree's.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import zlib
from pathlib import Path

import sitegen
from proctree import Measured, run_measured

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024


def build_store(path: Path, pages: int) -> int:
    """A store holding the first `pages` site pages as a crawl leaves them; returns how many were stored."""
    from crawler.core.page import Page
    from crawler.pool.extraction import extract_page
    from crawler.store.sqlite import SQLiteStore

    stored = 0
    with SQLiteStore(str(path), commit_items=500) as store:
        for page in sitegen.iter_pages(pages):
            result = extract_page(page.html, page.url, "www.presstv.ir", "presstv")
            if result.article is None:
                continue
            store.save_article(
                result.article,
                Page(url=page.url, html=page.html, status=200, encoding="utf-8", mirror="www.presstv.ir"),
                None,
            )
            stored += 1
    return stored


def baseline(store_path: str) -> int:
    """The single-process baseline: every stored page through plain trafilatura (run in a subprocess)."""
    import trafilatura

    from crawler.store import ExportFilter
    from crawler.store.sqlite import SQLiteStore

    n = 0
    with SQLiteStore(store_path, readonly=True) as store:
        for _aid, _pid, url, _enc, blob in store.iter_reextract(ExportFilter()):
            trafilatura.extract(zlib.decompress(blob).decode("utf-8", "replace"), url=url)
            n += 1
    print(n)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/reextract.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pages", type=int, default=sitegen.DEFAULT_PAGES)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0, help="reextract --workers (0: its default, every core)")
    ap.add_argument("--baseline-worker", metavar="STORE", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.baseline_worker:
        return baseline(args.baseline_worker)
    if args.pages < 1 or args.runs < 1:
        print("reextract.py: --pages and --runs must be at least 1", file=sys.stderr)
        return 2
    load = os.getloadavg()
    print(
        f"# Re-extraction benchmark\n\n{os.cpu_count()} cores, load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
    )
    results: dict[str, list[Measured]] = {"crawler reextract": [], "trafilatura, one process": []}
    with tempfile.TemporaryDirectory(prefix="bench-reextract-") as tmp:
        master = Path(tmp) / "store.sqlite"
        stored = build_store(master, args.pages)
        print(f"store: {stored} articles with raw pages ({master.stat().st_size // MB} MB)\n", flush=True)
        copy = Path(tmp) / "run.sqlite"
        for r in range(args.runs):
            sides = list(results) if r % 2 == 0 else list(reversed(results))
            for side in sides:
                for suffix in ("", "-wal", "-shm", ".lock"):
                    Path(str(copy) + suffix).unlink(missing_ok=True)
                shutil.copyfile(master, copy)
                if side == "crawler reextract":
                    cmd = [sys.executable, "-m", "crawler", "reextract", "--store", str(copy)]
                    if args.workers:
                        cmd += ["--workers", str(args.workers)]
                else:
                    cmd = [sys.executable, str(Path(__file__)), "--baseline-worker", str(copy)]
                log = Path(tmp) / "log.txt"
                m = run_measured(cmd, cwd=ROOT, log=log)
                if m.returncode != 0:
                    print(
                        f"  ! {side} exited {m.returncode}: {log.read_text(errors='replace')[-800:]}", file=sys.stderr
                    )
                results[side].append(m)
                print(
                    f"  run {r + 1} {side}: {stored / m.wall:.1f} pages/s, CPU {m.cpu:.1f} s "
                    f"({log.read_text(errors='replace').strip().splitlines()[-1][:90]})",
                    flush=True,
                )
    rows = [
        f"\n## {stored} stored pages, medians of {args.runs} runs\n",
        "| side | pages/s | CPU ms/page | peak RSS of tree (MB) |",
        "|---|---:|---:|---:|",
    ]
    med: dict[str, float] = {}
    for side, ms in results.items():
        med[side] = statistics.median(stored / m.wall for m in ms)
        rows.append(
            f"| {side} | {med[side]:.1f} | {statistics.median(m.cpu for m in ms) / stored * 1000:.1f} | "
            f"{statistics.median(m.peak_rss for m in ms) / MB:.0f} |"
        )
    ratio = med["crawler reextract"] / med["trafilatura, one process"]
    rows.append(f"| reextract / trafilatura | **{ratio:.2f}x** | | |")
    print("\n".join(rows))
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
