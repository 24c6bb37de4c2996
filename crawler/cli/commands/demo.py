"""`crawler demo`: crawl the bundled look-alike Press TV site behind four mirrors and summarise the run."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from crawler.core.status import CommandError
from crawler.crawl import statkeys
from crawler.services.launch import child, crawl_argv

DEMO_MIRRORS = ("seized", "refuse", "503", "healthy")
"""Priority order of the demo's mirrors: a seized domain, a dead host, an overloaded one, a healthy one."""

_FAILOVER_LABELS = {
    "seizure": "seizure notices",
    "challenge": "challenge pages",
    "connection_refused": "connections refused",
    "robots_connection_refused": "connections refused (robots.txt)",
    "robots_http_503": "HTTP 503 (robots.txt)",
    "http_503": "HTTP 503 after retries",
    "timeout": "timeouts",
    "dns": "DNS failures",
    "tls": "TLS errors",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="crawl the offline look-alike Press TV site (4 mirrors) and show what happened")
    p.add_argument(
        "--output",
        "-o",
        default="demo-items.jsonl",
        type=Path,
        help="JSON Lines file for the items (default: demo-items.jsonl)",
    )
    p.add_argument(
        "--store",
        default="data/demo.sqlite",
        help="embedded store for the demo, recreated each run (default: data/demo.sqlite; '' for none)",
    )
    p.add_argument(
        "--generate", type=int, default=20, help="generated articles served beside the fixture pages (default: 20)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from crawler.testing.site import FIXTURES_ROOT, SiteCorpus, serve_site

    corpus = SiteCorpus()
    fixtures = corpus.add_fixtures(FIXTURES_ROOT) if FIXTURES_ROOT.is_dir() else 0
    if args.generate:
        corpus.generate(args.generate)
    if not corpus.articles():
        raise CommandError("nothing to serve: no fixture pages found and --generate 0", 2)
    store = str(args.store or "")
    if store:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(store + suffix).unlink(missing_ok=True)  # a fresh store, or the demo would skip everything
        Path(store).parent.mkdir(parents=True, exist_ok=True)
    output: Path = args.output
    with tempfile.TemporaryDirectory(prefix="crawler-demo-") as tmp, serve_site(corpus, DEMO_MIRRORS) as site:
        others = len(corpus.article_ids(only_articles=False)) - len(corpus.article_ids())
        print(
            f"Look-alike Press TV site: {len(corpus.article_ids())} articles and {others} non-article pages "
            f"at article URLs ({fixtures} fixture pages, {args.generate} generated articles), "
            "served by 4 mirrors in priority order:"
        )
        for m in site.mirrors:
            print(f"  {m.name:<8} {m.base_url}")
        stats_file = Path(tmp) / "stats.json"
        settings = {
            "AUTOTHROTTLE_ENABLED": "False",
            "DOWNLOAD_DELAY": "0",
            "DOWNLOAD_TIMEOUT": "10",
            "RETRY_TIMES": "1",
            "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
            "LOG_LEVEL": "ERROR",
            "FEEDS": "{}",
            "CRAWLER_STORE": store,
            "CRAWLER_STATS_FILE": str(stats_file),
        }
        crawl = child(
            crawl_argv(
                "presstv",
                [f"mirrors={site.mirrors_arg}"],
                [f"{key}={value}" for key, value in settings.items()],
                ["-O", str(output)],
            )
        )
        started = time.monotonic()
        proc = subprocess.run(crawl.argv, env=crawl.env, capture_output=True, text=True)
        elapsed = time.monotonic() - started
        stats: dict[str, Any] = json.loads(stats_file.read_text(encoding="utf-8")) if stats_file.exists() else {}
        names = {m.netloc: m.name for m in site.mirrors}
    if proc.returncode != 0 or not stats:
        tail = "; ".join(proc.stderr.strip().splitlines()[-3:])
        raise CommandError(f"the demo crawl failed (exit {proc.returncode}): {tail}", proc.returncode or 1)
    print(summary(stats, names, output, store, elapsed))
    print(next_steps(store))
    return 0


def next_steps(store: str) -> str:
    """What to try next: commands that read the demo's own store (not the default one), and how to go on."""
    lines = ["", "Try next (activate the virtualenv first: source .venv/bin/activate):"]
    if store:
        q = shlex.quote(store)
        lines += [
            f"  crawler runs --store {q}                         # the run just made",
            f"  crawler search sanctions --store {q}             # full-text search of the stored articles",
            f"  crawler export --section Politics --store {q}    # stored articles as JSON Lines",
            f"  crawler coverage --store {q}                     # stored and missing ids per month",
            f"  crawler serve --store {q}                        # the archive in a browser",
        ]
    lines += [
        "  crawler site                  # keep the look-alike site and a Wayback stand-in running to crawl yourself",
        "  crawler crawl                 # the real site (needs network), into data/crawler.sqlite",
    ]
    return "\n".join(lines)


def summary(stats: dict[str, Any], names: dict[str, str], output: Path, store: str, elapsed: float) -> str:
    """The run in a few lines: articles, mirrors used and failed over, refusals, boilerplate removed."""
    articles = int(stats.get("item_scraped_count", 0))
    used = {k.removeprefix("mirror/responses/"): v for k, v in stats.items() if k.startswith("mirror/responses/")}
    used_text = ", ".join(f"{names.get(netloc, netloc)} ({count} responses)" for netloc, count in used.items())
    failovers = {
        k.removeprefix("failover/"): v
        for k, v in stats.items()
        if k.startswith("failover/") and k != "failover/exhausted" and k != "failover/rerouted"
    }
    failover_text = ", ".join(f"{v} {_FAILOVER_LABELS.get(k, k)}" for k, v in sorted(failovers.items())) or "none"
    refused = {k.removeprefix("extract/refused/"): v for k, v in stats.items() if k.startswith("extract/refused/")}
    refused_text = ", ".join(f"{v} {k}" for k, v in sorted(refused.items()))
    lines = [
        f"Crawled in {elapsed:.1f}s: {articles} articles written to {output}" + (f" (store: {store})" if store else ""),
        f"Mirrors used: {used_text or 'none'}; set aside: {int(stats.get(statkeys.MIRROR_SET_ASIDE, 0))}",
        f"Failed over: {failover_text}",
        f"Refused as non-articles: {int(stats.get(statkeys.EXTRACT_REFUSED, 0))}"
        + (f" ({refused_text})" if refused else ""),
        f"Failed on every mirror or gone (404): {int(stats.get(statkeys.PAGE_FAILED_COUNT, 0))}",
        f"Boilerplate lines removed by the last guard: {int(stats.get(statkeys.EXTRACT_GUARD_REMOVED, 0))}",
    ]
    return "\n".join(lines)
