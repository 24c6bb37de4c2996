"""The presstv spider's discovery: sources, date ranges, listing depth, safe sitemap parsing, arguments."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from support.crawlkit import REPO_ROOT, CrawlResult, make_corpus

from crawler.outlet import load_outlet
from crawler.testing.site import RunningSite, SiteArticle, SiteCorpus, SiteRequest, faults, serve_site
from crawler.testing.site.corpus import _in_section
from crawler.testing.site.server import closed_port

pytestmark = pytest.mark.integration

OUTLET = load_outlet("presstv")


def _ids(result: CrawlResult) -> set[str]:
    ids = [item["article_id"] for item in result.items]
    assert len(ids) == len(set(ids)), "one item per article id"
    return set(ids)


def _sitemap_requests(log: list[tuple[str, str, int | str]]) -> list[str]:
    return sorted({path for _, path, _ in log if "sitemap" in path.lower()})


def _monthly_corpus(**options: object) -> SiteCorpus:
    """Eight articles 15 days apart, 2026-06-07 to 2026-09-20 (ids 780001-780008)."""
    corpus = SiteCorpus(now=datetime(2026, 9, 25), **options)  # type: ignore[arg-type]
    corpus.generate(8, start=datetime(2026, 9, 20, 12), interval=timedelta(days=15))
    return corpus


def test_since_until_reads_only_the_monthly_sitemaps_in_range(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = _monthly_corpus(gzip_sitemaps=True)
    with serve_site(corpus) as site:
        result = run_crawl(site.mirrors_arg, "sources=sitemap", "since=2026-07-01", "until=2026-08-31")
        assert result.returncode == 0, result.stderr[-3000:]
        in_range = {
            a.article_id for a in corpus.articles() if date(2026, 7, 1) <= a.published.date() <= date(2026, 8, 31)
        }
        assert len(in_range) == 4 and _ids(result) == in_range
        assert _sitemap_requests(site.log) == [
            "/SiteMap/2026-07/sitemap-news-2026-07.xml.gz",
            "/SiteMap/2026-08/sitemap-news-2026-08.xml.gz",
            "/sitemap.xml",
        ]
        assert result.stats["discovery/sitemap/offsite_ignored"] == 1
        assert not any(path.startswith("/rss") or path.startswith("/Section") for _, path, _ in site.log)


def test_sitemaps_are_parsed_without_entities_dtds_or_oversized_gzip(
    tmp_path: Path, run_crawl: Callable[..., CrawlResult]
) -> None:
    corpus = _monthly_corpus()
    hidden = corpus.generate(1, start_id=790001, start=datetime(2026, 7, 10, 9))[0]
    corpus.add_article(SiteArticle(**{**hidden.__dict__, "in_feeds": False}))
    secret = tmp_path / "secret.txt"
    secret.write_text("https://www.presstv.ir" + hidden.path, encoding="utf-8")
    july = [a for a in corpus.articles() if a.published.month == 7 and a.in_feeds]
    # "Billion laughs": each entity ten of the one before; expanded, &l8; is 10^8 "lol"s.
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 9))
    evil = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE urlset [<!ENTITY ext SYSTEM "file://{secret}"><!ENTITY l0 "lol">{laughs}]>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        + "".join(f"<url><loc>https://www.presstv.ir{a.path}</loc></url>" for a in july)
        + "<url><loc>&ext;</loc></url>"
        # libxml2 stops at the expansion limit even without resolving; whatever came before is kept.
        "<url><loc>https://www.presstv.ir/Detail/2026/07/30/790002/x</loc><news:news><news:title>&l8;</news:title>"
        "</news:news></url></urlset>"
    ).encode()
    bomb = gzip.compress(b"<" * 3_000_000)
    with serve_site(corpus) as site:
        site.override(OUTLET.monthly_sitemap_path(2026, 7), faults.body(evil, "application/xml"))
        site.override(OUTLET.monthly_sitemap_path(2026, 8), faults.body(bomb, "application/x-gzip"))
        result = run_crawl(
            site.mirrors_arg, "sources=sitemap", "since=2026-06-01", settings={"CRAWLER_SITEMAP_MAX_BYTES": 1_000_000}
        )
        assert result.returncode == 0, result.stderr[-3000:]
        ids = _ids(result)
        assert {a.article_id for a in july} <= ids, "the sitemap's plain entries are read"
        assert hidden.article_id not in ids, "an external entity was not expanded"
        assert not {a.article_id for a in corpus.articles() if a.published.month == 8} & ids
        assert result.stats["discovery/sitemap/bad_gzip"] == 1, "the oversized gzip was refused, not inflated"
        assert {a.article_id for a in corpus.articles() if a.published.month in (6, 9)} <= ids


def _this_and_last_month() -> list[str]:
    """The two monthly sitemaps a default run reads: Tehran's current month and the one before."""
    today = datetime.now(OUTLET.timezone).date()
    prev = today.replace(day=1) - timedelta(days=1)
    return sorted(OUTLET.monthly_sitemap_path(d.year, d.month) for d in (today, prev))


def test_default_run_reads_feeds_this_and_last_months_sitemaps_and_first_listing_pages(
    site: RunningSite, run_crawl: Callable[..., CrawlResult]
) -> None:
    # The spider reads the clock itself: a crawl that straddles a month boundary may use either month.
    months_before = _this_and_last_month()
    result = run_crawl(site.mirrors_arg)
    months_after = _this_and_last_month()
    assert result.returncode == 0, result.stderr[-3000:]
    assert _ids(result) == site.corpus.article_ids()
    requested = [p for p in _sitemap_requests(site.log) if p != "/sitemap.xml"]
    assert requested in (months_before, months_after), requested
    listing_pages = {path for _, path, _ in site.log if path.startswith("/Section/")}
    assert listing_pages and all(path.rsplit("/", 1)[1] in ("1", "2") for path in listing_pages)
    assert "/rss.xml" in {path for _, path, _ in site.log}
    assert result.stats["dupefilter/filtered"] > 0, "repeated and cross-host links were fetched once"


def test_sections_only_with_max_pages(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=0)
    corpus.listing_page_size = 3
    corpus.generate(12, sections=["102", "103"])
    with serve_site(corpus) as site:
        result = run_crawl(site.mirrors_arg, "sources=sections", "max_pages=2")
        assert result.returncode == 0, result.stderr[-3000:]
        expected: set[str] = set()
        for section in OUTLET.discovery.listing_sections:
            listed = [a for a in corpus.articles() if _in_section(a, section)][:6]
            expected |= {a.article_id for a in listed if a.is_article}
        assert _ids(result) == expected
        assert len(expected) < len(corpus.article_ids()), "deeper listing pages were left alone"
        assert not any(path.endswith("/3") for _, path, _ in site.log)
        assert not any(path.startswith("/rss") or "sitemap" in path.lower() for _, path, _ in site.log)


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("sources=rss,atom", "argument sources='rss,atom'"),
        ("since=15/08/2026", "argument since='15/08/2026' is not a date"),
        ("max_pages=0", "argument max_pages='0' must be at least 1"),
        ("mirrors=ftp://mirror.example", "argument mirrors: 'ftp://mirror.example' is not a base URL"),
        ("sources=wayback,archive.org", "argument sources='wayback,archive.org'"),
        ("archive_fallback=maybe", "argument archive_fallback='maybe': use 1 or 0"),
        ("-s CRAWLER_WAYBACK_CDX_RATE=0", "setting CRAWLER_WAYBACK_CDX_RATE=0 must be above 0"),
        ("-s CRAWLER_CC_DATA_RATE=fast", "setting CRAWLER_CC_DATA_RATE='fast' is not a number"),
    ],
)
def test_bad_arguments_get_one_line_and_status_2(argument: str, message: str, tmp_path: Path) -> None:
    # Loopback mirrors and a temporary store, so a spider that failed to reject the argument still stays
    # off the real site and out of the repository (the bad mirrors argument comes last and replaces them).
    given = argument.split(" ", 1) if argument.startswith("-s ") else ["-a", argument]
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "presstv",
        "-a",
        f"mirrors=http://127.0.0.1:{closed_port()}",
        *given,
        "-s",
        f"CRAWLER_STORE={tmp_path / 'store.sqlite'}",
        "-s",
        "FEEDS={}",
    ]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("scrapy crawl: error: ") and message in last
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "store.sqlite").exists(), "rejected before anything was opened"


def test_robots_txt_is_obeyed_and_the_user_agent_names_the_project(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=3)
    corpus.robots_txt = "User-agent: *\nDisallow: /Section/\n"
    agents: list[str] = []

    def record_agent(req: SiteRequest) -> None:
        agents.append(req.headers.get("User-Agent", ""))
        return None  # fall through to the normal page

    with serve_site(corpus) as site:
        site.override("*", record_agent)
        result = run_crawl(site.mirrors_arg, "sources=rss,sections")
        assert result.returncode == 0, result.stderr[-3000:]
        assert ("healthy", "/robots.txt", 200) in site.log
        assert not any(path.startswith("/Section/") for _, path, _ in site.log)
        assert _ids(result) == corpus.article_ids()
        assert agents and all(a.startswith("crawler/") and "Press TV" in a for a in agents)


def test_a_forbidden_first_feed_does_not_stall_discovery(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=3)
    corpus.robots_txt = "User-agent: *\nDisallow: /rss.xml\n"
    with serve_site(corpus) as site:
        result = run_crawl(site.mirrors_arg, "sources=rss", timeout=60)
        assert result.returncode == 0, result.stderr[-3000:]
        assert ("healthy", "/rss.xml", 200) not in site.log
        assert _ids(result) == corpus.article_ids(), "the section feeds were still read"
