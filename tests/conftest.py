"""Shared pytest fixtures: the look-alike site on loopback and a real `scrapy crawl presstv` run against it.

Fixtures:
- `site_corpus`: a fresh SiteCorpus per test (fixture pages + 12 generated current-layout articles).
- `site`: that corpus served by one healthy mirror (RunningSite; `site.mirrors_arg` for the spider).
- `four_mirrors`: the same corpus behind seized, refuse, 503, healthy mirrors, in that priority order.
- `run_crawl`: `run_crawl(mirrors_arg, *spider_args, settings={...}, timeout=...) -> CrawlResult` runs the
  real `scrapy crawl presstv -O <tmp>/out.jsonl` in a subprocess with fast test settings (FAST_SETTINGS:
  no AutoThrottle, no delay, short timeouts, one extraction worker, no store unless given, robots obeyed)
  and returns its exit status, stderr, parsed items and final stats.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.cli import main
from crawler.site import FIXTURES_ROOT, RunningSite, SiteCorpus, serve_site

REPO_ROOT = Path(__file__).resolve().parents[1]

FAST_SETTINGS: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "DOWNLOAD_TIMEOUT": 5,
    "RETRY_TIMES": 1,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
    "CRAWLER_EXTRACT_WORKERS": 1,
    "CRAWLER_MIRROR_COOLDOWN": 60,
    "CRAWLER_STORE": "",
    "FEEDS": "{}",
    "LOG_LEVEL": "INFO",
    "ROBOTSTXT_OBEY": True,
}
"""Settings that keep a test crawl fast without changing what it does."""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`crawler ARGS` run in this process (what the console script runs), its output captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return subprocess.CompletedProcess(["crawler", *args], status, out.getvalue(), err.getvalue())


def make_corpus(generated: int = 12) -> SiteCorpus:
    """The standard test corpus: every fixture page plus `generated` articles."""
    corpus = SiteCorpus.from_fixtures(FIXTURES_ROOT)
    if generated:
        corpus.generate(generated)
    return corpus


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


@dataclass
class CrawlResult:
    """What one `scrapy crawl presstv` subprocess did."""

    returncode: int
    stderr: str
    items: list[dict[str, Any]]
    raw_lines: list[bytes]
    stats: dict[str, Any]
    output: Path


def crawl(tmp_path: Path, mirrors: str, *spider_args: str, settings: dict[str, Any] | None = None,
          timeout: float = 120, output_name: str = "out.jsonl") -> CrawlResult:
    """Run `scrapy crawl presstv -a mirrors=... -O out.jsonl` in a subprocess from the repository root."""
    out = tmp_path / output_name
    stats_file = tmp_path / f"{output_name}.stats.json"
    merged = {**FAST_SETTINGS, **(settings or {}), "CRAWLER_STATS_FILE": str(stats_file)}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "presstv", "-O", str(out)]
    if mirrors:
        cmd += ["-a", f"mirrors={mirrors}"]
    for arg in spider_args:
        cmd += ["-a", arg]
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, timeout=timeout, env=env)
    raw = out.read_bytes().splitlines() if out.exists() else []
    items = [json.loads(line) for line in raw if line.strip()]
    stats = json.loads(stats_file.read_text(encoding="utf-8")) if stats_file.exists() else {}
    return CrawlResult(proc.returncode, proc.stderr.decode("utf-8", "replace"), items, raw, stats, out)


@pytest.fixture
def run_crawl(tmp_path: Path) -> Callable[..., CrawlResult]:
    def run(mirrors: str, *spider_args: str, **kwargs: Any) -> CrawlResult:
        return crawl(tmp_path, mirrors, *spider_args, **kwargs)
    return run
