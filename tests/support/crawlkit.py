"""Shared test code for running the crawler: a real `scrapy crawl presstv` subprocess, `crawler` in-process,
and the standard look-alike corpus. Test modules import from here, never from conftest.py.

- `crawl(tmp_path, mirrors_arg, *spider_args, settings={...}, timeout=...) -> CrawlResult` runs the real
  `scrapy crawl presstv -O <tmp>/out.jsonl` in a subprocess with fast test settings (FAST_SETTINGS: no
  AutoThrottle, no delay, one extraction worker, no store unless given, robots obeyed) and returns its exit
  status, stderr, parsed items and final stats. Mirrors must be given: the spider's default is the real site.
- `crawl_command(...)`: the same command line, for tests that start it with Popen.
- `cli(*args)`: `crawler ARGS` run in this process, output captured.
- `make_corpus(generated)`: every fixture page plus `generated` current-layout articles.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.cli import main
from crawler.testing.site import FIXTURES_ROOT, SiteCorpus

REPO_ROOT = Path(__file__).resolve().parents[2]

FAST_SETTINGS: dict[str, Any] = {
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    # Generous: on a loaded machine a healthy loopback answer can take seconds. A test that needs a request
    # to time out gives that one request a short timeout (PATH_TIMEOUTS) instead of shortening them all.
    "DOWNLOAD_TIMEOUT": 30,
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


def _command_settings(settings: dict[str, Any] | None, path_timeouts: dict[str, float] | None) -> dict[str, Any]:
    merged = {**FAST_SETTINGS, **(settings or {})}
    if path_timeouts:
        from crawler.crawl import settings as project

        # The project's middlewares plus the test one that gives only these paths their short timeout.
        merged["DOWNLOADER_MIDDLEWARES"] = json.dumps(
            {**project.DOWNLOADER_MIDDLEWARES, "pathtimeouts.PathTimeouts": 40}
        )
        merged["TEST_PATH_TIMEOUTS"] = json.dumps({p.lower(): t for p, t in path_timeouts.items()})
    return merged


def crawl_command(
    out_file: Path,
    mirrors: str,
    *spider_args: str,
    settings: dict[str, Any] | None = None,
    path_timeouts: dict[str, float] | None = None,
    overwrite: bool = True,
) -> list[str]:
    """The `scrapy crawl presstv` command line `crawl` runs (for tests that start it with Popen)."""
    if not mirrors.strip():
        raise ValueError("a test crawl needs mirrors: without them the spider crawls the real site")
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "presstv",
        "-O" if overwrite else "-o",
        str(out_file),
        "-a",
        f"mirrors={mirrors}",
    ]
    for arg in spider_args:
        cmd += ["-a", arg]
    for key, value in _command_settings(settings, path_timeouts).items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


@dataclass
class CrawlResult:
    """What one `scrapy crawl presstv` subprocess did."""

    returncode: int
    stderr: str
    items: list[dict[str, Any]]
    raw_lines: list[bytes]
    stats: dict[str, Any]
    output: Path


def crawl(
    tmp_path: Path,
    mirrors: str,
    *spider_args: str,
    settings: dict[str, Any] | None = None,
    timeout: float = 180,
    output_name: str = "out.jsonl",
    path_timeouts: dict[str, float] | None = None,
) -> CrawlResult:
    """Run `scrapy crawl presstv -a mirrors=... -O out.jsonl` in a subprocess from the repository root.

    `path_timeouts` ({path: seconds}) gives those paths a download timeout of their own."""
    out = tmp_path / output_name
    stats_file = tmp_path / f"{output_name}.stats.json"
    merged = {**(settings or {}), "CRAWLER_STATS_FILE": str(stats_file)}
    cmd = crawl_command(out, mirrors, *spider_args, settings=merged, path_timeouts=path_timeouts)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, timeout=timeout, env=env)
    raw = out.read_bytes().splitlines() if out.exists() else []
    items = [json.loads(line) for line in raw if line.strip()]
    stats = json.loads(stats_file.read_text(encoding="utf-8")) if stats_file.exists() else {}
    return CrawlResult(proc.returncode, proc.stderr.decode("utf-8", "replace"), items, raw, stats, out)


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
