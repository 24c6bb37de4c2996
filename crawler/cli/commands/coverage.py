"""`crawler coverage`: per period, how many articles are stored, refused, failed and missing (a table, JSON,
or a self-contained HTML page with charts)."""

from __future__ import annotations

import argparse
import os
import sys

from crawler.cli.commands.common import build_filter, open_reader, store_path
from crawler.core.extras import missing
from crawler.core.outputs import output_file
from crawler.core.status import CommandError
from crawler.core.terminal import json_line, safe
from crawler.services.coverage import as_json, compute, format_table, render_html
from crawler.store import StoreError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "coverage",
        help="how complete the store is: stored, refused, failed and missing article ids per month/week/day",
        description="Article ids are one increasing sequence, so the ids between the lowest and highest stored id "
        "of a period that have no stored article are missing: either never seen by any discovery source, or seen "
        "and not stored (refused as not an article, or failed). Periods are by publication date (UTC); edits "
        "count new versions by the time they were stored. The total row covers the whole id range.",
    )
    p.add_argument("--by", choices=("month", "week", "day"), default="month", help="period (default: month)")
    p.add_argument("--since", metavar="DATE", help="published at or after DATE")
    p.add_argument("--until", metavar="DATE", help="published before DATE")
    p.add_argument("--html", metavar="FILE", help="also write one self-contained HTML page with charts and the table")
    p.add_argument("--json", action="store_true", help="one JSON object per period (the total last)")
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    flt = build_filter(args)
    path = store_path(args)
    store = open_reader(path)
    try:
        rows, total = compute(store, args.by, flt)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.close()
    if args.html and (needs := missing("charts", "crawler coverage --html")):
        raise CommandError(needs)
    if args.html:
        note = (
            f"Store {os.path.basename(path)}, by {args.by} of publication (UTC). Missing ids lie between the "
            "lowest and highest stored id of a period and have no stored article."
        )
        page = render_html(rows, total, title="Corpus coverage", note=note)
        try:
            with output_file(args.html) as out:
                out.write(page.encode("utf-8"))
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise CommandError(f"cannot write {args.html}: {exc.strerror or exc}") from None
        print(f"wrote {args.html}", file=sys.stderr)
    if args.json:
        for row in [*rows, total]:
            print(json_line(as_json(row)))
        return 0
    if not rows:
        print(f"no articles in {path} match", file=sys.stderr)
        return 0
    print(safe(format_table(rows, total)))  # section names come from pages
    return 0
