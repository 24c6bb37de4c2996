"""`crawler runs`: a table of recent crawl runs from the store (start, duration, counts, mirrors, status)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from crawler.cli.commands.argtypes import whole
from crawler.core.redact import mask_url
from crawler.core.status import CommandError
from crawler.core.terminal import json_line, safe
from crawler.store import RunRow, StoreError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="show recent crawl runs: start, duration, new, updated, failed, mirrors, status")
    p.add_argument("-n", "--limit", type=whole(1, 1_000_000), default=20, help="how many recent runs (default 20)")
    p.add_argument("--json", action="store_true", help="one JSON object per run instead of a table")
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run)


def _duration(row: RunRow) -> str:
    if not row.finished_at:
        return "-"
    seconds = int((datetime.fromisoformat(row.finished_at) - datetime.fromisoformat(row.started_at)).total_seconds())
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _status(row: RunRow) -> str:
    if row.exit_status:
        return f"{row.status} ({row.exit_status})"
    return row.status


def format_table(rows: list[RunRow]) -> str:
    """The runs as an aligned text table, oldest first, with the latest run's warnings under it."""
    header = (
        "run",
        "start (UTC)",
        "duration",
        "new",
        "updated",
        "skipped",
        "refused",
        "failed",
        "mirrors used",
        "status",
    )
    lines = [header]
    for r in rows:
        lines.append(
            (
                str(r.id),
                r.started_at.replace("T", " "),
                _duration(r),
                str(r.new),
                str(r.updated),
                str(r.skipped),
                str(r.refused),
                str(r.failed),
                safe(",".join(r.mirrors) or "-", newlines=False),
                _status(r),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 6, 7}
    text = []
    for line in lines:
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(line)]
        text.append("  ".join(cells).rstrip())
    if rows and rows[-1].warnings:
        text.append("")
        text.append(f"run {rows[-1].id} warnings:")
        text.extend(f"  - {safe(w, newlines=False)}" for w in rows[-1].warnings)
    return "\n".join(text)


def run(args: argparse.Namespace) -> int:
    from crawler.cli.commands.common import open_reader, store_path

    path = store_path(args)
    try:
        store = open_reader(path)
        try:
            rows = store.runs(max(1, args.limit))
        finally:
            store.close()
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        for r in rows:
            data = dict(vars(r))
            data.pop("stats", None)
            print(json_line(data))
        return 0
    if not rows:
        print(f"no runs recorded in {mask_url(path)} yet", file=sys.stderr)
        return 0
    print(format_table(rows))
    return 0
