"""`crawler site`: serve the offline look-alike Press TV site and a Wayback Machine stand-in until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import FrameType

from crawler.cli.commands.argtypes import whole
from crawler.core.status import CommandError

"""The seized domain whose captures the Wayback stand-in holds: its pages exist only in web archives."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "site",
        help="serve the offline look-alike Press TV site and a Wayback Machine stand-in, to crawl them yourself",
        description="Serve the look-alike Press TV site (fixture pages plus generated articles) on loopback "
        "mirrors, and a Wayback Machine stand-in holding a capture of every article, until Ctrl-C (or SIGTERM). "
        "Prints the crawl commands that read them.",
    )
    p.add_argument(
        "--mirrors",
        default="healthy",
        help="comma-separated mirror behaviours in priority order, e.g. seized,refuse,503,healthy (default: healthy)",
    )
    p.add_argument(
        "--generate",
        type=whole(0, 100_000),
        default=20,
        help="generated articles served beside the fixture pages (default: 20)",
    )
    p.add_argument(
        "--port", type=whole(0, 65535), default=0, help="port of the first mirror, the next ones follow (0: free)"
    )
    p.add_argument(
        "--store", default="data/site.sqlite", help="store the printed crawl commands name (default: data/site.sqlite)"
    )
    p.set_defaults(func=run)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C (SIGINT) or SIGTERM while the block runs. The handlers are set here rather than
    inherited: a shell script that starts the site in the background starts it with SIGINT ignored, and `kill`
    sends SIGTERM; either way the servers stop cleanly. They are set before the site says it is ready, so a
    signal sent as soon as it has said so is never lost."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(args: argparse.Namespace) -> int:
    from crawler.testing.site import BEHAVIOURS, FIXTURES_ROOT, MirrorSpec, SiteCorpus, serve_site
    from crawler.testing.site.wayback import ArchivedCapture, RunningWayback, WaybackArchive

    behaviours = [b.strip() for b in str(args.mirrors).split(",") if b.strip()]
    unknown = [b for b in behaviours if b not in BEHAVIOURS]
    if not behaviours or unknown:
        raise CommandError(f"--mirrors {args.mirrors!r}: use behaviours among {', '.join(BEHAVIOURS)}")
    if args.generate < 0:
        raise CommandError(f"--generate {args.generate}: give 0 or more")
    corpus = SiteCorpus()
    if FIXTURES_ROOT.is_dir():
        corpus.add_fixtures(FIXTURES_ROOT)
    if args.generate:
        corpus.generate(args.generate)
    # The seized domain's captures are what a Wayback backfill of the outlet finds (the profile names it).
    archived_host = f"www.{corpus.outlet.seized_domains[0]}"
    captures = []
    for article in corpus.articles():
        # One capture per article on the seized domain, a day after publication (the site's Tehran time).
        published = article.published.replace(tzinfo=corpus.outlet.timezone).astimezone(UTC)
        captured = min(published + timedelta(days=1), datetime.now(UTC))
        captures.append(
            ArchivedCapture(f"http://{archived_host}{article.path}", captured.strftime("%Y%m%d%H%M%S"), article.html)
        )
    if args.port and args.port + len(behaviours) - 1 > 65535:
        raise CommandError(
            f"--port {args.port}: the {len(behaviours)} mirrors need ports up to "
            f"{args.port + len(behaviours) - 1}; give one of at most {65536 - len(behaviours)}"
        )
    specs = [MirrorSpec(behaviour=b, port=args.port + i if args.port else 0) for i, b in enumerate(behaviours)]
    try:
        with (
            _stop_on_signals() as stop,
            serve_site(corpus, specs) as site,
            RunningWayback(WaybackArchive(captures)) as wayback,
        ):
            years = sorted({a.published.year for a in corpus.articles() if a.is_article})
            store = shlex.quote(str(args.store))
            oldest = years[0] if years else datetime.now(UTC).year
            print(
                f"Look-alike Press TV site: {len(corpus.article_ids())} articles on "
                f"{len(site.mirrors)} mirror(s): {site.mirrors_arg}"
            )
            print(f"Wayback Machine stand-in: {wayback.url} ({len(captures)} captures on {archived_host})")
            print("Crawl them from another terminal (virtualenv active):")
            print(f"  crawler crawl --store {store} -a mirrors={site.mirrors_arg}")
            print(
                f"  crawler crawl --store {store} -a mirrors={site.mirrors_arg} -a sources=wayback"
                f" -a since={oldest}-01-01 -a until={oldest}-12-31 -s CRAWLER_WAYBACK_URL={wayback.url}"
                " -s CRAWLER_WAYBACK_CDX_RATE=500 -s CRAWLER_WAYBACK_FETCH_RATE=500"
            )
            print("then read what they stored:")
            print(f"  crawler runs --store {store}")
            print(f"  crawler search sanctions --store {store}")
            print("Ctrl-C stops the servers.", flush=True)
            while not stop.wait(1.0):
                pass
    except (ValueError, OSError) as exc:
        raise CommandError(f"cannot serve the site: {exc}") from None
    print("crawler site: stopped", file=sys.stderr)
    return 0
