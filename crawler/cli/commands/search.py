"""`crawler search`: full-text search of the stored articles, best matches first, with a highlighted snippet."""

from __future__ import annotations

import argparse
import sys

from crawler.cli.commands.argtypes import whole
from crawler.cli.commands.common import build_filter, open_reader, store_path
from crawler.core.status import CommandError
from crawler.core.terminal import json_line, safe
from crawler.store import HIT_END, HIT_START, SearchHit, SearchQueryError, StoreError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "search",
        help="full-text search of stored articles (title, lead, body), best matches first",
        description="Search the current version of every stored article. On a SQLite store QUERY uses FTS5 "
        'syntax: words (all must occur), "an exact phrase", OR, NOT, prefix*, NEAR(a b, 5), title:word; ranked by '
        'bm25. On a PostgreSQL store it uses web-search syntax: words, "an exact phrase", OR, -word or NOT word '
        "(English stemming and stop words); ranked by ts_rank_cd. A title match ranks above a lead match, which "
        "ranks above a body match. Dates as for `crawler export`.",
    )
    p.add_argument("query", metavar="QUERY", help="what to find, e.g. '\"talks would resume\"' or 'sanctions NOT oil'")
    p.add_argument("--section", metavar="NAME", help='only this section, e.g. "Politics" (case-insensitive)')
    p.add_argument("--since", metavar="DATE", help="published at or after DATE")
    p.add_argument("--until", metavar="DATE", help="published before DATE")
    p.add_argument("--limit", type=whole(1, 10_000), default=20, metavar="N", help="at most N hits (default 20)")
    p.add_argument("--json", action="store_true", help="print the matching articles as JSON Lines items")
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run)


def format_hit(rank: int, hit: SearchHit, *, color: bool) -> str:
    """One hit as three lines: date, section and title; its URL; the snippet with matches marked."""
    start, end = ("\x1b[1;33m", "\x1b[0m") if color else ("[", "]")
    # Page text is made inert before the highlight's own escape codes go in.
    snippet = " ".join(hit.snippet.split())
    snippet = start.join(
        end.join(safe(piece, newlines=False) for piece in part.split(HIT_END)) for part in snippet.split(HIT_START)
    )
    date = safe((hit.published or "")[:10] or "no date")
    title, section, url = (safe(v, newlines=False) for v in (hit.title, hit.section or "-", hit.url))
    return f"{rank:>3}. {date}  {section}  {title}\n     {url}\n     {snippet}"


def run(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CommandError("--limit must be at least 1")
    if not args.query.strip():
        raise CommandError("give a QUERY: words, or a phrase in double quotes")
    flt = build_filter(args)
    store = open_reader(store_path(args))
    try:
        hits = store.search(args.query, flt, args.limit)
    except SearchQueryError as exc:
        raise CommandError(f"{exc} (put a phrase in double quotes; see `crawler search --help`)") from None
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.close()
    if args.json:
        for hit in hits:
            print(json_line(hit.item))
        return 0
    if not hits:
        print(f"no stored article matches {safe(args.query)}", file=sys.stderr)
        return 0
    color = sys.stdout.isatty()
    print("\n\n".join(format_hit(n, hit, color=color) for n, hit in enumerate(hits, 1)))
    return 0
