"""The layout-drift alarm on the look-alike site: layout changes, leaking furniture and dead sources end a run
non-zero with a warning naming the likely cause; a run that finds only stored articles stays healthy."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.site.corpus import SiteCorpus
from crawler.site.server import RunningSite, serve_site, status

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
FAST = ["-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-s", "CRAWLER_EXTRACT_WORKERS=1",
        "-s", "LOG_LEVEL=INFO", "-s", "FEEDS={}"]
ALARM_EXIT = 4


def crawl(site: RunningSite, store: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "presstv", "-a", f"mirrors={site.mirrors_arg}",
           "-s", f"CRAWLER_STORE={store}", *FAST, *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def alarms(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line.split("LAYOUT DRIFT ALARM: ", 1)[1] for line in proc.stderr.splitlines()
            if "LAYOUT DRIFT ALARM: " in line]


def rewrite_pages(corpus: SiteCorpus, old: str, new: str) -> None:
    for art in corpus.articles():
        corpus.update_article(art.article_id, html=art.html.replace(old.encode(), new.encode()))


@pytest.fixture
def corpus() -> SiteCorpus:
    c = SiteCorpus()
    c.generate(10)
    return c


@pytest.fixture
def site(corpus: SiteCorpus) -> Iterator[RunningSite]:
    with serve_site(corpus, ("healthy",)) as running:
        yield running


def test_layout_change_raises_the_alarm(corpus: SiteCorpus, site: RunningSite, tmp_path: Path) -> None:
    # The site renames its breadcrumb container: articles still come out, without their section.
    rewrite_pages(corpus, "news-section-container", "story-crumbs")
    proc = crawl(site, tmp_path / "store.sqlite")
    assert proc.returncode == ALARM_EXIT, proc.stderr[-3000:]
    found = alarms(proc)
    assert any(a.startswith("section coverage 0% of 10 items") and "layout probably changed" in a for a in found)
    assert not any(a.startswith(("date coverage", "image coverage")) for a in found)
    db = sqlite3.connect(tmp_path / "store.sqlite")
    row = db.execute("SELECT status, exit_status, new, warnings FROM runs").fetchone()
    assert row[:3] == ("alarm", ALARM_EXIT, 10) and "section coverage" in row[3]
    table = subprocess.run([sys.executable, "-m", "crawler", "runs", "--store", str(tmp_path / "store.sqlite")],
                           cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert "alarm (4)" in table.stdout and "section coverage 0%" in table.stdout


def test_furniture_leaking_past_pruning_raises_the_alarm(corpus: SiteCorpus, site: RunningSite,
                                                        tmp_path: Path) -> None:
    # A new share line inside the article body, in markup the pruning rules do not know.
    rewrite_pages(corpus, '<div class="news-body-container">\n',
                  '<div class="news-body-container">\n<p>SHARE THIS ARTICLE</p>\n')
    proc = crawl(site, tmp_path / "store.sqlite")
    assert proc.returncode == ALARM_EXIT, proc.stderr[-3000:]
    (alarm,) = alarms(proc)
    assert alarm.startswith("the boilerplate guard removed 10 lines (more than 5)")


def test_dead_source_raises_the_alarm(site: RunningSite, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    first = crawl(site, store)
    assert first.returncode == 0 and alarms(first) == []
    site.override("/sitemap.xml", status(404))  # the sitemaps go away
    for month in site.corpus.months():
        site.override(site.corpus.monthly_sitemap_path(month), status(404))
    proc = crawl(site, store)
    assert proc.returncode == ALARM_EXIT, proc.stderr[-3000:]
    (alarm,) = alarms(proc)
    assert alarm.startswith("source 'sitemap' found no article links (the last run found ")
    assert "mirror is down or the sitemap layout changed" in alarm
    # Reading only the other sources is not a dead sitemap.
    assert crawl(site, store, "-a", "sources=rss,sections").returncode == 0
