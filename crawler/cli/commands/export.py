"""`crawler export`: stored articles as JSON Lines (file, .gz file or stdout), or stored raw pages as WARC/1.1."""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO

from tqdm import tqdm

from crawler import __version__
from crawler.cli.commands.common import build_filter, open_reader, store_path
from crawler.core.items import ARTICLE_FIELDS, Article
from crawler.core.outputs import output_file
from crawler.core.status import CommandError
from crawler.core.terminal import json_line
from crawler.store import ArticleStore, ExportFilter, StoredPage, StoreError
from crawler.store.when import parse_when


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write stored articles as JSON Lines (one article per line; .gz when the name ends so), or stored "
        "raw pages as WARC",
        description="Stream the current version of every stored article matching the filters as JSON Lines, or "
        "with --format warc every stored raw page (of the matching articles) as a WARC/1.1 response record. "
        "Dates are YYYY-MM-DD (midnight UTC), ISO 8601 times, or ages such as 7d.",
    )
    p.add_argument(
        "--format",
        choices=("jsonl", "warc"),
        default="jsonl",
        help="jsonl (the default): one article per line; warc: every stored raw page as a gzipped "
        "WARC/1.1 response record, with a warcinfo record first (needs -o FILE.warc.gz)",
    )
    p.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="FILE",
        help="output file (- for stdout, the default; FILE.gz is gzip-compressed)",
    )
    p.add_argument("--since", metavar="DATE", help="published at or after DATE")
    p.add_argument("--until", metavar="DATE", help="published before DATE")
    p.add_argument("--section", metavar="NAME", help='only this section, e.g. "Politics" (case-insensitive)')
    p.add_argument("--changed-since", metavar="DATE", help="new or changed in the store at or after DATE")
    p.add_argument(
        "--edited-since",
        metavar="DATE",
        help="only articles that got a new version at or after DATE, each with the version before it "
        "in a `previous` object (title, lead, body, version, stored_at)",
    )
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run)


def _jsonl_stream(raw: BinaryIO, name: str) -> IO[str]:
    """The text stream the JSON Lines go into: gzip-compressed when the name ends in .gz."""
    binary: BinaryIO = gzip.GzipFile(fileobj=raw, mode="wb") if name.endswith(".gz") else raw  # type: ignore[assignment]
    return io.TextIOWrapper(binary, encoding="utf-8", newline="\n")


def run(args: argparse.Namespace) -> int:

    flt = build_filter(args)
    edited_since = None
    if args.edited_since is not None:
        try:
            edited_since = parse_when(args.edited_since)
        except ValueError as exc:
            raise CommandError(f"--edited-since: {exc}") from None
    path = store_path(args)
    if args.format == "warc" and args.output == "-":
        raise CommandError("--format warc writes a file: give -o FILE.warc.gz")
    if args.format == "warc" and edited_since is not None:
        raise CommandError("--edited-since goes with JSON Lines; for WARC use --changed-since")
    store = open_reader(path)
    if args.format == "warc":
        return _export_warc(store, flt, args.output)
    written = 0
    items: Iterator[dict[str, Any]] | None = None
    try:
        total = store.count_export(flt) if edited_since is None else store.count_edited(edited_since, flt)
        with ExitStack() as stack:
            if args.output == "-":
                out: IO[str] = sys.stdout
            else:
                raw = stack.enter_context(output_file(args.output))
                out = _jsonl_stream(raw, args.output)
                stack.callback(out.close)  # before output_file commits: flushes the gzip trailer
            bar = stack.enter_context(
                tqdm(total=total, unit="article", file=sys.stderr, disable=not sys.stderr.isatty(), desc="export")
            )
            items = store.iter_export(flt) if edited_since is None else store.iter_edited(edited_since, flt)
            for item in items:
                # Items stored by an older version lack newer fields: give them the schema's defaults.
                if any(name not in item for name in ARTICLE_FIELDS):
                    previous = item.get("previous")
                    item = Article.from_dict(item).to_dict()
                    if previous is not None:
                        item["previous"] = previous
                out.write(json_line(item))
                out.write("\n")
                written += 1
                bar.update()
            out.flush()
    except BrokenPipeError:
        raise  # `crawler export | head`: the reader left; the command line ends quietly
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    finally:
        # The row generator first: left open, it would touch the closed store when collected (a reader that
        # left early stops the loop mid-way).
        close = getattr(items, "close", None)
        if close is not None:
            close()
        store.close()
    where = "stdout" if args.output == "-" else args.output
    print(f"exported {written} articles to {where}", file=sys.stderr)
    return 0


def _when(page: StoredPage) -> datetime:
    """The record's WARC-Date: the archive's capture time for a page from a web archive, else the fetch time."""
    when = datetime.fromisoformat(page.archived_at or page.fetched_at)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _export_warc(store: ArticleStore, flt: ExportFilter, output: str) -> int:
    """Every stored raw page as a WARC/1.1 response record in `output` (written under a temporary name)."""
    from crawler.archives.warc import PageRecord, write_warc

    written = 0
    try:
        total = store.count_pages(flt)
        with (
            tqdm(total=total, unit="page", file=sys.stderr, disable=not sys.stderr.isatty(), desc="export") as bar,
            output_file(output) as out,
        ):

            def records() -> Iterator[PageRecord]:
                nonlocal written
                for page in store.iter_pages(flt):
                    yield PageRecord(
                        url=page.url,
                        fetched_at=_when(page),
                        body=page.html,
                        status=page.status or 200,
                        headers=list(page.headers),
                    )
                    written += 1
                    bar.update()

            write_warc(out, records(), software=f"crawler/{__version__}", filename=os.path.basename(output))
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from None
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.close()
    print(f"exported {written} pages to {output}", file=sys.stderr)
    return 0
