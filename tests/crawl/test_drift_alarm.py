"""The layout-drift alarm on the look-alike site: layout changes, leaking furniture and dead sources end a run
non-zero with a warning naming the likely cause; a run that finds only stored articles stays healthy."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.crawl.extensions import health_warnings
from crawler.outlet import load_outlet
from crawler.testing.site.corpus import SiteCorpus
from crawler.testing.site.server import RunningSite, serve_site, status

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FAST = [
    "-s",
    "AUTOTHROTTLE_ENABLED=0",
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "CRAWLER_EXTRACT_WORKERS=1",
    "-s",
    "LOG_LEVEL=INFO",
    "-s",
    "FEEDS={}",
]
ALARM_EXIT = 4


def crawl(site: RunningSite, store: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "presstv",
        "-a",
        f"mirrors={site.mirrors_arg}",
        "-s",
        f"CRAWLER_STORE={store}",
        *FAST,
        *extra,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def alarms(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [
        line.split("LAYOUT DRIFT ALARM: ", 1)[1] for line in proc.stderr.splitlines() if "LAYOUT DRIFT ALARM: " in line
    ]


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
    # The site renames its breadcrumb container: the layout's breadcrumb rule finds nothing, the layout-independent
    # cues still read the section off the "News / Iran" line, and the run says the rule stopped matching.
    rewrite_pages(corpus, "news-section-container", "story-crumbs")
    proc = crawl(site, tmp_path / "store.sqlite")
    assert proc.returncode == ALARM_EXIT, proc.stderr[-3000:]
    found = alarms(proc)
    assert any(
        a.startswith("the layout's breadcrumb rule missed on 10 of 10 items") and "check the breadcrumb XPaths" in a
        for a in found
    ), found
    assert not any("coverage" in a or "date rule" in a for a in found), found
    db = sqlite3.connect(tmp_path / "store.sqlite")
    row = db.execute("SELECT status, exit_status, new, warnings FROM runs").fetchone()
    assert row[:3] == ("alarm", ALARM_EXIT, 10) and "breadcrumb rule missed" in row[3]
    sections = {json.loads(r[0])["section"] for r in db.execute("SELECT item FROM versions")}
    assert None not in sections and sections <= set(corpus.outlet.sections.values())
    table = subprocess.run(
        [sys.executable, "-m", "crawler", "runs", "--store", str(tmp_path / "store.sqlite")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "alarm (4)" in table.stdout and "breadcrumb rule missed" in table.stdout


def test_a_redesign_that_matches_no_layout_is_extracted_and_named(
    corpus: SiteCorpus, site: RunningSite, tmp_path: Path
) -> None:
    # Every class of three pages renamed (a redesign rolling out): they match no layout rule, come out clean
    # through the layout-independent rules, are marked layout "unknown" and the alarm names them.
    renamed = sorted(corpus.articles(), key=lambda a: a.article_id)[:3]
    for art in renamed:
        html = re.sub(rb'class="([^"]*)"', lambda m: b'class="x%x"' % zlib.crc32(m.group(1)), art.html)
        corpus.update_article(art.article_id, html=html)
    proc = crawl(site, tmp_path / "store.sqlite", "-O", str(tmp_path / "items.jsonl"))
    assert proc.returncode == ALARM_EXIT, proc.stderr[-3000:]
    items = {i["article_id"]: i for i in map(json.loads, (tmp_path / "items.jsonl").read_text().splitlines())}
    assert len(items) == 10
    for art in renamed:
        item = items[art.article_id]
        assert item["layout"] == "unknown" and item["title"] == art.title and item["published"]
        assert "SHARE THIS ARTICLE" not in item["body"] and "Read more" not in item["body"]
    assert {i["layout"] for k, i in items.items() if k not in {a.article_id for a in renamed}} == {"current"}
    (alarm,) = [a for a in alarms(proc) if "matched no layout" in a]
    assert alarm.startswith("3 page(s) matched no layout of the outlet profile")
    assert all(art.path in alarm for art in renamed)
    assert "'extract/layout/unknown': 3" in proc.stderr


def test_furniture_leaking_past_pruning_raises_the_alarm(corpus: SiteCorpus, site: RunningSite, tmp_path: Path) -> None:
    # A promo line inside the article body that only the profile's phrase list knows (no structure gives it away).
    rewrite_pages(
        corpus, '<div class="news-body-container">\n', '<div class="news-body-container">\n<p>Press TV News Roku</p>\n'
    )
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


def test_no_links_on_any_source_raises_the_alarm(tmp_path: Path) -> None:
    empty = SiteCorpus()  # the mirror answers, but its feeds, sitemaps and listings link to no article
    with serve_site(empty, ("healthy",)) as running:
        proc = crawl(running, tmp_path / "store.sqlite")
        asked = {path for _, path, _ in running.log}
    assert proc.returncode == ALARM_EXIT, proc.stderr[-3000:]
    assert alarms(proc) == ["no article links found on any source: every mirror is down or the site layout changed"]
    assert "/rss.xml" in asked and any(p.startswith("/Section/") for p in asked), "every source was read"
    db = sqlite3.connect(tmp_path / "store.sqlite")
    assert db.execute("SELECT status, exit_status, new FROM runs").fetchall() == [("alarm", ALARM_EXIT, 0)]


@pytest.mark.parametrize(("articles", "alarmed"), [(4, False), (5, True)])
def test_coverage_floors_are_judged_only_from_min_items_up(articles: int, alarmed: bool, tmp_path: Path) -> None:
    # A redesign that drops the breadcrumb altogether (no cue can stand in: the section is gone), on a run too
    # small to judge (4 < [health] min_items = 5), then one just big enough.
    small = SiteCorpus()
    small.generate(articles)
    for art in small.articles():
        small.update_article(
            art.article_id, html=re.sub(rb'<div class="news-section-container">.*?</div>', b"", art.html, flags=re.S)
        )
    with serve_site(small, ("healthy",)) as running:
        proc = crawl(running, tmp_path / "store.sqlite", "-a", "sources=rss")
    found = [a for a in alarms(proc) if a.startswith("section coverage")]
    if alarmed:
        assert proc.returncode == ALARM_EXIT, proc.stderr[-3000:]
        assert found == [
            f"section coverage 0% of {articles} items is below the floor 80%: the page layout probably "
            "changed (check the breadcrumb XPaths in the outlet profile)"
        ]
    else:
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert found == [] and alarms(proc) == []


FLOORS = load_outlet("presstv").health


@pytest.mark.parametrize(
    ("stat", "floor_key", "label"),
    [
        ("published", "min_date_coverage", "date"),
        ("lead", "min_lead_coverage", "lead"),
        ("section", "min_section_coverage", "section"),
        ("image", "min_image_coverage", "image"),
    ],
)
def test_each_coverage_floor_alarms_just_below_it_and_not_at_it(stat: str, floor_key: str, label: str) -> None:
    items = 20
    at_floor = math.ceil(FLOORS[floor_key] * items)
    full = {f"health/with_{s}": items for s in ("published", "lead", "section", "image")}
    healthy = {**full, "health/items": items, f"health/with_{stat}": at_floor, "discovery/rss/article_links": items}
    assert health_warnings(healthy, FLOORS, {}) == []
    below = {**healthy, f"health/with_{stat}": at_floor - 1}
    [warning] = health_warnings(below, FLOORS, {})
    assert warning.startswith(
        f"{label} coverage {(at_floor - 1) / items:.0%} of {items} items is below the floor {FLOORS[floor_key]:.0%}"
    )
