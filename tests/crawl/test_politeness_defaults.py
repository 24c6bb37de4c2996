"""The politeness a user gets without asking: a crawl with the project's own settings (no test overrides of
robots.txt, delays or AutoThrottle) reads robots.txt first, never asks for a disallowed page, and spaces its
requests to a host by the default download delay."""

from __future__ import annotations

import itertools
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from support.crawlkit import REPO_ROOT

from crawler.crawl import settings as project
from crawler.testing.site import SiteCorpus
from crawler.testing.site.server import serve_site

pytestmark = pytest.mark.integration


def test_a_crawl_with_the_default_settings_obeys_robots_txt_and_the_download_delay(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    articles = corpus.generate(4, start_id=781001)
    forbidden = articles[1]
    corpus.robots_txt = f"User-agent: *\nDisallow: {forbidden.path}\n"
    out, stats_file = tmp_path / "out.jsonl", tmp_path / "stats.json"
    with serve_site(corpus) as site:
        # Only where the output goes: the store in the test's folder, the stats for the assertions.
        cmd = [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "presstv",
            "-O",
            str(out),
            "-a",
            f"mirrors={site.mirrors_arg}",
            "-a",
            "sources=rss",
            "-s",
            f"CRAWLER_STORE={tmp_path / 'store.sqlite'}",
            "-s",
            f"CRAWLER_STATS_FILE={stats_file}",
        ]
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        paths = [path for _, path, _ in site.log]
        stamps = sorted(at for _, at in site.arrivals)
    assert paths[0] == "/robots.txt", "robots.txt is read before anything else"
    assert forbidden.path not in paths, "a page robots.txt disallows is never requested"
    stats = json.loads(stats_file.read_text(encoding="utf-8"))
    assert stats.get("robotstxt/forbidden", 0) >= 1
    got = {json.loads(line)["article_id"] for line in out.read_text(encoding="utf-8").splitlines() if line.strip()}
    assert got == corpus.article_ids() - {forbidden.article_id}
    # DOWNLOAD_DELAY (0.5 s, randomised to 0.25-0.75 s; AutoThrottle never goes below it) between any two
    # requests to the host: the median gap stays well above what a crawl without a delay shows (AutoThrottle
    # alone halves its 1 s start delay on every fast answer, down to a few milliseconds). Load only widens gaps.
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(gaps) >= 10, paths
    assert statistics.median(gaps) >= 0.3, [round(g, 3) for g in gaps]
    assert sum(gaps) >= 0.25 * len(gaps), "the whole crawl took at least the smallest delay per request"
    assert project.DOWNLOAD_DELAY == 0.5 and project.ROBOTSTXT_OBEY is True  # the defaults measured above
