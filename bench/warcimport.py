"""`crawler import-warc` throughput on a WARC file of N generated records, beside a naive loop in the same run.

    .venv/bin/python bench/warcimport.py [--records 10000] [--runs 1] [--workers 0]

The WARC file (gzipped, one member per record, as crawlers write them) holds N response records of the
benchmark site's article pages (bench/sitegen.py: both layouts, 40-120 KB each), every one an outlet article
URL, so every record is extracted: the import's worst case. Each run, in a fresh subprocess, either imports it
with `python -m crawler import-warc --store NEW_STORE FILE` (every core; pages extracted and stored with
their raw HTML in batched transactions) or runs the naive loop: warcio's ArchiveIterator over the file and
`trafilatura.extract` on each response record, in one process, storing nothing. Sides alternate; figures are
medians. records/s is over the subprocess's wall time, start-up included; CPU is the whole process tree's.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
from pathlib import Path

import sitegen
from proctree import Measured, run_measured

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
IMPORT = "crawler import-warc"
NAIVE = "ArchiveIterator + trafilatura, one process"


def build_warc(path: Path, records: int) -> int:
    """Write `records` response records of benchmark pages to `path`; returns the file's size."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="1.1")
        for i, page in enumerate(sitegen.iter_pages(records)):
            http = StatusAndHeaders(
                "200 OK",
                [
                    ("Content-Type", "text/html; charset=utf-8"),
                    ("Server", "nginx"),
                    ("Content-Length", str(len(page.html))),
                ],
                protocol="HTTP/1.1",
            )
            when = f"2015-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
            writer.write_record(
                writer.create_warc_record(
                    page.url,
                    "response",
                    payload=io.BytesIO(page.html),
                    http_headers=http,
                    warc_headers_dict={"WARC-Date": when},
                )
            )
    return path.stat().st_size


def naive(warc: str) -> int:
    """The naive loop (run in a subprocess): every response record through plain trafilatura, one process."""
    import trafilatura
    from warcio.archiveiterator import ArchiveIterator

    n = 0
    with open(warc, "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                continue
            html = record.content_stream().read().decode("utf-8", "replace")
            trafilatura.extract(html, url=record.rec_headers.get_header("WARC-Target-URI"))
            n += 1
    print(f"{n} records extracted")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/warcimport.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=0, help="import-warc --workers (0: its default, every core)")
    ap.add_argument("--naive-worker", metavar="WARC", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.naive_worker:
        return naive(args.naive_worker)
    if args.records < 1 or args.runs < 1:
        print("warcimport.py: --records and --runs must be at least 1", file=sys.stderr)
        return 2
    load = os.getloadavg()
    print(
        f"# WARC import benchmark\n\n{os.cpu_count()} cores, load average at start "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
    )
    results: dict[str, list[Measured]] = {IMPORT: [], NAIVE: []}
    with tempfile.TemporaryDirectory(prefix="bench-warcimport-") as tmp:
        warc = Path(tmp) / "pages.warc.gz"
        size = build_warc(warc, args.records)
        print(f"WARC: {args.records} response records, {size / MB:.0f} MB gzipped\n", flush=True)
        for r in range(args.runs):
            sides = list(results) if r % 2 == 0 else list(reversed(results))
            for side in sides:
                store = Path(tmp) / f"store-{r}.sqlite"
                if side == IMPORT:
                    cmd = [sys.executable, "-m", "crawler", "import-warc", "--store", str(store), str(warc)]
                    if args.workers:
                        cmd += ["--workers", str(args.workers)]
                else:
                    cmd = [sys.executable, str(Path(__file__)), "--naive-worker", str(warc)]
                log = Path(tmp) / "log.txt"
                m = run_measured(cmd, cwd=ROOT, log=log)
                text = log.read_text(errors="replace").strip()
                if m.returncode != 0:
                    print(f"  ! {side} exited {m.returncode}: {text[-800:]}", file=sys.stderr)
                results[side].append(m)
                print(
                    f"  run {r + 1} {side}: {args.records / m.wall:.1f} records/s, CPU {m.cpu:.1f} s "
                    f"({text.splitlines()[-1][:160] if text else ''})",
                    flush=True,
                )
    rows = [
        f"\n## {args.records} records, medians of {args.runs} run(s)\n",
        "| side | records/s | MB/s | CPU ms/record | peak RSS of tree (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    med: dict[str, float] = {}
    for side, ms in results.items():
        wall = statistics.median(m.wall for m in ms)
        med[side] = args.records / wall
        rows.append(
            f"| {side} | {med[side]:.1f} | {size / MB / wall:.2f} | "
            f"{statistics.median(m.cpu for m in ms) / args.records * 1000:.1f} | "
            f"{statistics.median(m.peak_rss for m in ms) / MB:.0f} |"
        )
    rows.append(f"| import-warc / naive | **{med[IMPORT] / med[NAIVE]:.2f}x** | | | |")
    print("\n".join(rows))
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
