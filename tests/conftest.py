"""Pytest fixtures shared by the test modules (the code behind them is in support/crawlkit.py; import from there).

- `site_corpus`: a fresh SiteCorpus per test (fixture pages + 12 generated current-layout articles).
- `site`: that corpus served by one healthy mirror (RunningSite; `site.mirrors_arg` for the spider).
- `four_mirrors`: the same corpus behind seized, refuse, 503, healthy mirrors, in that priority order.
- `redis_url` / `redis_server_binary`: the test Redis (CRAWLER_TEST_REDIS_URL) / the redis-server binary;
  tests needing them skip, saying Redis is absent, without one.
- `run_crawl`: `run_crawl(mirrors_arg, *spider_args, settings={...}, timeout=...) -> CrawlResult`, crawlkit.crawl
  writing into the test's tmp_path.
- `store_location`: a new empty store, once per backend (a SQLite file; a schema of its own on the PostgreSQL
  server `.ci/run` starts, skipped when it is absent). Helpers in storekit.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.crawlkit import CrawlResult, crawl, make_corpus
from support.faultkit import StoreCheck, assert_stores_intact
from support.storekit import BACKENDS, new_store_location

from crawler.testing.site import RunningSite, SiteCorpus, serve_site


@pytest.fixture
def site_corpus() -> SiteCorpus:
    return make_corpus()


@pytest.fixture
def site(site_corpus: SiteCorpus) -> Iterator[RunningSite]:
    with serve_site(site_corpus, ["healthy"]) as running:
        yield running


@pytest.fixture
def four_mirrors(site_corpus: SiteCorpus) -> Iterator[RunningSite]:
    with serve_site(site_corpus, ["seized", "refuse", "503", "healthy"]) as running:
        yield running


@pytest.fixture
def run_crawl(tmp_path: Path) -> Callable[..., CrawlResult]:
    def run(mirrors: str, *spider_args: str, **kwargs: Any) -> CrawlResult:
        return crawl(tmp_path, mirrors, *spider_args, **kwargs)

    return run


@pytest.fixture
def final_stores() -> Iterator[list[StoreCheck]]:
    """Stores the test filled: each is checked (sound, every expected article exactly once) when it ends."""
    checks: list[StoreCheck] = []
    yield checks
    assert_stores_intact(checks)


@pytest.fixture
def redis_url() -> str:
    """The Redis the shared-frontier tests use (CRAWLER_TEST_REDIS_URL, started by .ci/run); skipped without one."""
    import os

    url = os.environ.get("CRAWLER_TEST_REDIS_URL", "")
    if not url:
        pytest.skip(
            "Redis is absent: set CRAWLER_TEST_REDIS_URL=redis://127.0.0.1:PORT/0 to a running "
            "redis-server (bash .ci/run starts one)"
        )
    return url


@pytest.fixture
def redis_server_binary() -> str:
    """Path of redis-server, for tests that start and restart a Redis of their own; skipped without one."""
    import shutil

    found = shutil.which("redis-server")
    if found is None:
        pytest.skip("Redis is absent: no redis-server on PATH (bash .ci/run installs Debian's)")
    return found


@pytest.fixture(params=[pytest.param(b, marks=[pytest.mark.postgres] if b == "postgresql" else []) for b in BACKENDS])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty store on each backend: its path or URL (given to open_store or -s CRAWLER_STORE=)."""
    with new_store_location(request.param, tmp_path) as location:
        yield location
