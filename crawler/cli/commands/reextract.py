"""`crawler reextract`: re-run the current extraction rules over the stored raw pages, on every core."""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from crawler.cli.commands.argtypes import whole
from crawler.core.status import CommandError
from crawler.store import StoreError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "reextract",
        help="re-extract stored raw pages with the current rules (a new version only when the text changes)",
        description="Re-run extraction on the raw HTML kept in the store, after the extraction rules changed. "
        "A new version is stored only when an article's text (content hash) changes; other field changes "
        "update the current version in place. Not while a crawl writes to the same SQLite store (a PostgreSQL "
        "store may be crawled meanwhile).",
    )
    p.add_argument("--since", metavar="DATE", help="only articles published at or after DATE")
    p.add_argument("--until", metavar="DATE", help="only articles published before DATE")
    p.add_argument("--section", metavar="NAME", help="only this section")
    p.add_argument(
        "--workers", type=whole(1, 1024), default=None, metavar="N", help="extraction processes (default: every core)"
    )
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run, changed_since=None)


def run(args: argparse.Namespace) -> int:
    from crawler.cli.commands.common import build_filter, store_path
    from crawler.services.reextract import reextract

    if args.workers is not None and args.workers < 1:
        raise CommandError("--workers must be at least 1")
    flt = build_filter(args)
    path = store_path(args)
    bar = tqdm(unit="page", file=sys.stderr, disable=not sys.stderr.isatty(), desc="reextract")

    def on_total(total: int) -> None:
        bar.total = total
        bar.refresh()

    try:
        counts = reextract(path, flt, args.workers, progress=bar.update, on_total=on_total)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    finally:
        bar.close()
    print(counts.line())
    return 0
