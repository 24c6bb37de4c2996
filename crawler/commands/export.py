"""`crawler export`: stored articles as JSON Lines (file, .gz file or stdout), or stored raw pages as WARC/1.1."""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from tqdm import tqdm

from crawler import __version__
from crawler.commands.common import build_filter, open_reader, store_path
from crawler.items import ARTICLE_FIELDS, Article
from crawler.status import CommandError
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
    p.add_argument("--format", choices=("jsonl", "warc"), default="jsonl",
                   help="jsonl (the default): one article per line; warc: every stored raw page as a gzipped "
                   "WARC/1.1 response record, with a warcinfo record first (needs -o FILE.warc.gz)")
    p.add_argument("-o", "--output", default="-", metavar="FILE",
                   help="output file (- for stdout, the default; FILE.gz is gzip-compressed)")
    p.add_argument("--since", metavar="DATE", help="published at or after DATE")
    p.add_argument("--until", metavar="DATE", help="published before DATE")
    p.add_argument("--section", metavar="NAME", help='only this section, e.g. "Politics" (case-insensitive)')
    p.add_argument("--changed-since", metavar="DATE", help="new or changed in the store at or after DATE")
    p.add_argument("--edited-since", metavar="DATE",
                   help="only articles that got a new version at or after DATE, each with the version before it "
                   "in a `previous` object (title, lead, body, version, stored_at)")
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run)


def _open_output(name: str) -> tuple[IO[str], str | None]:
    """The stream to write and, for files, the temporary name renamed into place once complete."""
    if name == "-":
        return sys.stdout, None
    tmp = f"{name}.part"
    folder = os.path.dirname(os.path.abspath(name))
    os.makedirs(folder, exist_ok=True)
    if name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(tmp, "wb"), encoding="utf-8", newline="\n"), tmp
    return open(tmp, "w", encoding="utf-8", newline="\n"), tmp  # closed in run()


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
    tmp: str | None = None
    out: IO[str] | None = None
    try:
        total = store.count_export(flt) if edited_since is None else store.count_edited(edited_since, flt)
        try:
            out, tmp = _open_output(args.output)
        except OSError as exc:
            raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        with tqdm(total=total, unit="article", file=sys.stderr, disable=not sys.stderr.isatty(),
                  desc="export") as bar:
            items = store.iter_export(flt) if edited_since is None else store.iter_edited(edited_since, flt)
            for item in items:
                # Items stored by an older version lack newer fields: give them the schema's defaults.
                if any(name not in item for name in ARTICLE_FIELDS):
                    previous = item.get("previous")
                    item = Article.from_dict(item).to_dict()
                    if previous is not None:
                        item["previous"] = previous
                out.write(json.dumps(item, ensure_ascii=False))
                out.write("\n")
                written += 1
                bar.update()
        if tmp is not None:
            out.close()
            os.replace(tmp, args.output)
            tmp = None
        else:
            out.flush()
    except BrokenPipeError:
        # `crawler export | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    finally:
        store.close()
        if tmp is not None:
            # A failed export leaves no half-written file behind.
            if out is not None:
                out.close()
            if os.path.exists(tmp):
                os.remove(tmp)
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

    tmp = f"{output}.part"
    written = 0
    try:
        total = store.count_pages(flt)
        os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
        with tqdm(total=total, unit="page", file=sys.stderr, disable=not sys.stderr.isatty(),
                  desc="export") as bar, open(tmp, "wb") as out:

            def records() -> Iterator[PageRecord]:
                nonlocal written
                for page in store.iter_pages(flt):
                    yield PageRecord(url=page.url, fetched_at=_when(page), body=page.html,
                                     status=page.status or 200, headers=list(page.headers))
                    written += 1
                    bar.update()

            write_warc(out, records(), software=f"crawler/{__version__}", filename=os.path.basename(output))
        os.replace(tmp, output)
    except OSError as exc:
        raise CommandError(f"cannot write {output}: {exc.strerror or exc}") from None
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.close()
        if os.path.exists(tmp):
            os.remove(tmp)
    print(f"exported {written} pages to {output}", file=sys.stderr)
    return 0
