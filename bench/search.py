"""Full-text search and coverage on a store of N articles, SQLite and PostgreSQL side by side.

    .venv/bin/python bench/search.py [--articles 5000] [--queries 20] [--postgres URL]

Each store gets the same N articles (bodies of ~400 words drawn from a fixed vocabulary, seeded): written in
batches as a crawl writes them (search index kept in step by the backend's triggers), then taken back to the
schema before search and opened writable once, which builds the index as an upgrade does for an existing store.
Then it times searches (a frequent word, a rare word, a phrase, an OR, all with --limit 20) and a coverage by
month over the whole store. PostgreSQL needs --postgres (or CRAWLER_TEST_POSTGRES_URL); a schema of its own is
made and dropped. Figures are medians; a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = (
    "minister",
    "talks",
    "treaty",
    "harbour",
    "sanctions",
    "oil",
    "council",
    "election",
    "protest",
    "border",
    "envoy",
    "court",
    "ruling",
    "parliament",
    "budget",
    "strike",
    "drone",
    "missile",
    "embassy",
    "summit",
    "ceasefire",
    "convoy",
    "refugees",
    "grain",
    "tariff",
    "pipeline",
    "reactor",
    "inspectors",
    "delegation",
    "spokesman",
    "resolution",
)
FILLER = (
    "the",
    "a",
    "of",
    "in",
    "on",
    "and",
    "to",
    "said",
    "was",
    "were",
    "had",
    "has",
    "for",
    "with",
    "by",
    "from",
    "at",
    "as",
    "it",
    "that",
    "this",
)


def _item(n: int, rng: random.Random) -> dict[str, Any]:
    body = " ".join(rng.choice(WORDS) if rng.random() < 0.3 else rng.choice(FILLER) for _ in range(400))
    day = 1 + n % 28
    month = 1 + (n // 28) % 12
    return {
        "article_id": str(700000 + n),
        "url": f"https://www.presstv.ir/Detail/2025/{month:02d}/{day:02d}/{n}/x",
        "title": f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} {n}",
        "lead": " ".join(rng.sample(WORDS, 8)),
        "body": body + (" talks would resume in Geneva" if n % 97 == 0 else ""),
        "content_hash": f"h{n}",
        "published": f"2025-{month:02d}-{day:02d}T12:00:00+00:00",
        "section": rng.choice(["Politics", "Economy", "World"]),
    }


def _median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _drop_search(location: str) -> None:
    """The store as it was before the search index existed."""
    from crawler.store import is_postgres_url

    if is_postgres_url(location):
        import psycopg

        with psycopg.connect(location, autocommit=True) as pg:
            pg.execute(
                "DROP TRIGGER versions_archive ON versions; DROP FUNCTION archive_follow_versions();"
                "DROP TABLE archive; DROP INDEX failures_article; DROP INDEX failures_article_number;"
                "UPDATE schema_version SET version = 2"
            )
        return
    db = sqlite3.connect(location)
    db.executescript(
        "DROP TRIGGER versions_archive_insert; DROP TRIGGER versions_archive_update;"
        "DROP TABLE archive_fts; DROP TABLE archive; DROP INDEX failures_article;"
        "DROP INDEX failures_article_number; PRAGMA user_version = 2;"
    )
    db.close()


def measure(name: str, location: str, articles: int, queries: int) -> None:
    from crawler.store import ExportFilter, open_store

    rng = random.Random(7)
    items = [_item(n, rng) for n in range(articles)]
    start = time.perf_counter()
    with open_store(location, commit_items=500) as store:
        for item in items:
            store.save_article(item, None, None)
    write = time.perf_counter() - start
    _drop_search(location)
    start = time.perf_counter()
    open_store(location).close()
    build = time.perf_counter() - start
    print(
        f"{name}: {articles} articles written in {write:.1f} s ({articles / write:.0f}/s, index kept by trigger); "
        f"index built on upgrade in {build:.1f} s"
    )
    with open_store(location, readonly=True) as store:
        for query in ("minister", "reactor", '"talks would resume"', "drone OR convoy"):
            found = len(store.search(query, ExportFilter(), 20))
            ms = _median_ms(functools.partial(store.search, query, ExportFilter(), 20), queries)
            print(f"  search {query!r:24} {found:2d} hits  {ms:7.1f} ms")
        ms = _median_ms(lambda: store.period_counts("month", ExportFilter()), max(3, queries // 4))
        print(f"  period counts by month          {ms:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=20, help="runs per query (median)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("CRAWLER_TEST_POSTGRES_URL", ""),
        help="a PostgreSQL server URL (default: CRAWLER_TEST_POSTGRES_URL)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", str(Path(tmp) / "bench.sqlite"), args.articles, args.queries)
    if not args.postgres:
        print("PostgreSQL: skipped (give --postgres URL)")
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(args.postgres, autocommit=True) as pg:
        pg.execute(f"CREATE SCHEMA {schema}")
    try:
        sep = "&" if "?" in args.postgres else "?"
        measure(
            "PostgreSQL",
            f"{args.postgres}{sep}options={quote(f'-csearch_path={schema}', safe='')}",
            args.articles,
            args.queries,
        )
    finally:
        with psycopg.connect(args.postgres, autocommit=True) as pg:
            pg.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


if __name__ == "__main__":
    main()
