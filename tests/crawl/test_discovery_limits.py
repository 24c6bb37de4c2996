"""Discovery against the look-alike site on loopback: every URL form and feed kind brings its articles, and every
hostile loop or size ends by itself with one warning line (sitemap indexes, CDX resume keys, robots.txt), redirects
of robots.txt and archive requests to another host are refused and counted, and an archive's Retry-After holds."""

from __future__ import annotations

import gzip
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from support.crawlkit import CrawlResult, crawl
from support.faultkit import OffsiteHost

from crawler.testing.site import Reply, SiteCorpus, SiteRequest, faults, pages, serve_site
from crawler.testing.site.corpus import SiteArticle
from crawler.testing.site.server import closed_port
from crawler.testing.site.wayback import ArchivedCapture, RunningWayback, WaybackArchive

pytestmark = pytest.mark.integration

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
NO_MIRROR = f"http://127.0.0.1:{closed_port()}"
"""Backfills here read only the archive: a mirror that refuses connections stands in for the live site."""


def warnings_with(result: CrawlResult, text: str) -> list[str]:
    return [line for line in result.stderr.splitlines() if "WARNING" in line and text in line]


def _hidden(corpus: SiteCorpus, count: int, start_id: int) -> list[SiteArticle]:
    """Articles no feed, listing or sitemap of the corpus links: only what a test serves brings them in."""
    return [corpus.add_article(replace(a, in_feeds=False)) for a in corpus.generate(count, start_id=start_id)]


# ---- URL forms and feed kinds ----------------------------------------------------------------------------------


def _atom_feed(links: list[str]) -> bytes:
    """The real Atom feed (feedparser's tests) with only its entries' rel="alternate" hrefs replaced."""
    body = (REAL / "feeds" / "large_atom_feed_that_needs_css_sanitisation.xml").read_bytes()
    todo = iter(links)
    out = re.sub(
        rb'(<link rel="alternate" type="text/html" href=")http://touchnokia\.ru/20[^"]*(")',
        lambda m: m.group(1) + escape(next(todo)).encode() + m.group(2),
        body,
    )
    assert next(todo, None) is None, "one link per entry"
    return out


def _rss10_feed(link: str) -> bytes:
    """The real RSS 1.0 feed (feedparser's tests) with its item's URL (link, rdf:about, rdf:resource) replaced."""
    body = (REAL / "feeds" / "rss1.0withModules.xml").read_bytes()
    return body.replace(b"http://www.pocketsoap.com/weblog/rssTests/rss1.0withModules.xml#1", escape(link).encode())


def test_atom_and_rss_1_0_feeds_and_detail_aspx_links_bring_their_articles(tmp_path: Path) -> None:
    corpus = SiteCorpus(now=datetime(2026, 9, 15, 12, 0))
    in_atom = _hidden(corpus, 15, 790001)
    in_rdf = _hidden(corpus, 1, 790101)[0]
    # The 2008-2011 form for a third of the Atom entries and the RSS 1.0 item, with the section id after the id.
    aspx = {a.article_id for a in in_atom[::3]} | {in_rdf.article_id}

    def link(article: SiteArticle) -> str:
        if article.article_id in aspx:
            return f"http://www.presstv.ir/detail.aspx?id={article.article_id}&sectionid=3510203"
        return f"https://www.presstv.ir{article.path}"

    with serve_site(corpus, ["healthy"]) as site:
        site.override("/rss.xml", faults.body(_atom_feed([link(a) for a in in_atom]), "application/atom+xml"))
        site.override("/rss/rss-101.xml", faults.body(_rss10_feed(link(in_rdf)), "application/rdf+xml"))
        result = crawl(tmp_path, site.mirrors_arg, "sources=rss")
        log = list(site.log)

    assert result.returncode == 0, result.stderr[-3000:]
    got = {item["article_id"]: item for item in result.items}
    assert set(got) == {a.article_id for a in [*in_atom, in_rdf]}
    for article_id in aspx:
        assert got[article_id]["url"] == f"https://www.presstv.ir/detail.aspx?id={article_id}"
        assert got[article_id]["title"] == corpus.get(article_id).title  # type: ignore[union-attr]
    assert any(path == "/detail.aspx" for _, path, _ in log)
    assert not warnings_with(result, "not RSS or Atom")


def test_xml_that_is_no_feed_is_one_warning_line(tmp_path: Path) -> None:
    corpus = SiteCorpus(now=datetime(2026, 9, 15, 12, 0))
    corpus.generate(2, start_id=790201)
    sitemap = (REAL / "sitemaps" / "shinpaideshou-news-sitemap.xml").read_bytes()
    with serve_site(corpus, ["healthy"]) as site:
        site.override("/rss/rss-102.xml", faults.body(sitemap, "application/rss+xml"))
        result = crawl(tmp_path, site.mirrors_arg, "sources=rss")
    assert result.returncode == 0, result.stderr[-3000:]
    lines = warnings_with(result, "not RSS or Atom")
    assert len(lines) == 1 and "/rss/rss-102.xml" in lines[0] and "<urlset>" in lines[0]
    assert {i["article_id"] for i in result.items} == corpus.article_ids()


# ---- sitemaps: nesting, file count, links per file -------------------------------------------------------------


def test_sitemap_loops_and_huge_sitemaps_end_by_themselves_with_one_warning_each(tmp_path: Path) -> None:
    corpus = SiteCorpus(now=datetime(2026, 9, 15, 12, 0))
    corpus.generate(6, start_id=790301)
    since = min(a.published for a in corpus.articles()).strftime("%Y-%m-01")
    # 3,000 links in one gzipped sitemap, all of them older than the window (so none is requested).
    huge = gzip.compress(
        (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(
                f"<url><loc>https://www.presstv.ir/Detail/2001/01/01/{600000 + i}/x</loc></url>" for i in range(3000)
            )
            + "</urlset>"
        ).encode()
    )

    def index(req: SiteRequest) -> Reply | None:
        """Every /SiteMap/loop/N.xml is an index naming N+1 (forever); /sitemap.xml also lists the real
        monthly sitemaps and the huge one."""
        base = req.mirror.base_url
        if req.path == "/sitemap.xml":
            locs = [base + corpus.monthly_sitemap_path(m) for m in corpus.months()]
            locs += [f"{base}/SiteMap/loop/1.xml", f"{base}/SiteMap/huge.xml.gz"]
        elif req.path.startswith("/SiteMap/loop/"):
            n = int(req.path.rsplit("/", 1)[1].split(".")[0])
            locs = [f"{base}/SiteMap/loop/{n + 1}.xml"]
        else:
            return None
        return Reply(body=pages.render_sitemap_index(locs), content_type="application/xml")

    with serve_site(corpus, ["healthy"]) as site:
        site.override("*", index)
        site.override("/SiteMap/huge.xml.gz", faults.body(huge, "application/x-gzip"))
        result = crawl(
            tmp_path,
            site.mirrors_arg,
            "sources=sitemap",
            f"since={since}",
            settings={"CRAWLER_SITEMAP_MAX_LINKS_PER_FILE": 1000},
        )
        loops = [path for _, path, _ in site.log if path.startswith("/SiteMap/loop/")]

    assert result.returncode == 0, result.stderr[-3000:]
    assert {i["article_id"] for i in result.items} == corpus.article_ids()  # the real sitemaps still count
    # /sitemap.xml is depth 0; loop/1..3 are read as indexes; what loop/3 names is four deep: not requested.
    assert sorted(loops) == ["/SiteMap/loop/1.xml", "/SiteMap/loop/2.xml", "/SiteMap/loop/3.xml"]
    depth = warnings_with(result, "CRAWLER_SITEMAP_MAX_DEPTH")
    assert len(depth) == 1 and "/SiteMap/loop/3.xml" in depth[0]
    per_file = warnings_with(result, "CRAWLER_SITEMAP_MAX_LINKS_PER_FILE")
    assert len(per_file) == 1 and "huge.xml.gz" in per_file[0] and "more than 1000 links" in per_file[0]
    assert result.stats["limits/sitemap_depth"] == 1
    assert result.stats["limits/sitemap_links_per_file"] == 1
    assert result.stats["discovery/out_of_range"] == 1000  # read up to the limit, then no further


def test_the_number_of_sitemaps_a_run_requests_is_bounded(tmp_path: Path) -> None:
    corpus = SiteCorpus(now=datetime(2026, 9, 15, 12, 0))
    corpus.generate(2, start_id=790401)

    def index(req: SiteRequest) -> Reply | None:
        if req.path.startswith("/SiteMap/many/"):  # each an empty news sitemap
            return Reply(
                body=b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>', content_type="application/xml"
            )
        if req.path != "/sitemap.xml":
            return None
        base = req.mirror.base_url
        locs = [base + corpus.monthly_sitemap_path(m) for m in corpus.months()]
        locs += [f"{base}/SiteMap/many/{n}.xml" for n in range(40)]
        return Reply(body=pages.render_sitemap_index(locs), content_type="application/xml")

    with serve_site(corpus, ["healthy"]) as site:
        site.override("*", index)
        result = crawl(
            tmp_path, site.mirrors_arg, "sources=sitemap", "since=2026-01-01", settings={"CRAWLER_SITEMAP_MAX_FILES": 5}
        )
        sitemaps = [path for _, path, _ in site.log if path.lower().startswith(("/sitemap", "/sitemap.xml"))]
    assert result.returncode == 0, result.stderr[-3000:]
    assert {i["article_id"] for i in result.items} == corpus.article_ids()
    assert len(sitemaps) == 5, sitemaps  # the index and the first four it names
    lines = warnings_with(result, "CRAWLER_SITEMAP_MAX_FILES")
    assert len(lines) == 1 and "more than 5 sitemaps" in lines[0]


# ---- robots.txt: size and redirects ----------------------------------------------------------------------------


def test_a_huge_robots_txt_is_read_only_up_to_its_limit(tmp_path: Path) -> None:
    corpus = SiteCorpus(now=datetime(2026, 9, 15, 12, 0))
    corpus.generate(3, start_id=790501)
    # The head forbids the section listings; 3 MB further down a rule would forbid everything.
    robots = (
        b"User-agent: *\nDisallow: /Section/\n"
        + b"# filler line of a very long robots.txt\n" * 75_000
        + b"User-agent: *\nDisallow: /\n"
    )
    with serve_site(corpus, ["healthy"]) as site:
        site.override("/robots.txt", faults.body(robots, "text/plain"))
        result = crawl(tmp_path, site.mirrors_arg, "sources=rss,sections")
        log = list(site.log)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {i["article_id"] for i in result.items} == corpus.article_ids()
    assert not [path for _, path, _ in log if path.startswith("/Section/")]
    lines = warnings_with(result, "CRAWLER_ROBOTSTXT_MAX_BYTES")
    assert len(lines) == 1 and f"is {len(robots)} bytes" in lines[0]


def test_a_robots_txt_redirect_to_another_host_is_refused_and_counted(tmp_path: Path) -> None:
    corpus = SiteCorpus(now=datetime(2026, 9, 15, 12, 0))
    corpus.generate(3, start_id=790601)
    with OffsiteHost() as offsite, serve_site(corpus, ["healthy"]) as site:
        site.override("/robots.txt", faults.redirect(f"{offsite.base_url}/robots.txt", 302))
        result = crawl(tmp_path, site.mirrors_arg, "sources=rss")
        contacts = list(offsite.contacts)
    assert result.returncode == 0, result.stderr[-3000:]
    assert contacts == []
    assert result.stats["redirects/refused/robots"] == 1
    lines = warnings_with(result, "not following the redirect")
    assert len(lines) == 1 and "robots.txt" in lines[0] and offsite.base_url in lines[0]
    assert {i["article_id"] for i in result.items} == corpus.article_ids()  # robots.txt counts as absent


# ---- Wayback: resume keys, pages, redirects, Retry-After ---------------------------------------------------


def _may_2013_captures(count: int) -> list[ArchivedCapture]:
    corpus = SiteCorpus()
    articles = corpus.generate(count, start_id=330101, start=datetime(2013, 5, 28, 10))
    return [
        ArchivedCapture(f"http://www.presstv.ir{a.path}", a.published.strftime("%Y%m%d%H%M%S"), a.html)
        for a in articles
    ]


def _backfill(tmp_path: Path, wayback: RunningWayback, **settings: object) -> CrawlResult:
    return crawl(
        tmp_path,
        NO_MIRROR,
        "sources=wayback",
        "since=2013-05-01",
        "until=2013-05-31",
        settings={
            "CRAWLER_WAYBACK_URL": wayback.url,
            "CRAWLER_WAYBACK_CDX_RATE": 50,
            "CRAWLER_WAYBACK_FETCH_RATE": 50,
            **settings,
        },
        timeout=300,
    )


def _cdx_queries(archive: WaybackArchive) -> list[str]:
    return [r for r in archive.requests if r.startswith("/cdx/")]


def test_a_cdx_server_repeating_its_resume_key_ends_each_query_at_once(tmp_path: Path) -> None:
    archive = WaybackArchive(_may_2013_captures(4))
    archive.faults.resume_key_loop = "presstv.ir/detail/2013/05/ 20130501000000"
    with RunningWayback(archive) as wayback:
        result = _backfill(tmp_path, wayback)
    assert result.returncode == 0, result.stderr[-3000:]
    queries = _cdx_queries(archive)
    first = [q for q in queries if "resumeKey" not in q]
    assert len(queries) == 2 * len(first)  # each query: its first page and one resumed page, then it ends
    lines = warnings_with(result, "repeated its resume key")
    assert len(lines) == 1
    assert result.stats["limits/cdx_repeated_resume_key"] == len(first)
    assert len(result.items) == 4  # what the pages held is still fetched


def test_cdx_pages_per_query_are_bounded(tmp_path: Path) -> None:
    archive = WaybackArchive(_may_2013_captures(6), line_cap=1)
    with RunningWayback(archive) as wayback:
        result = _backfill(tmp_path, wayback, CRAWLER_CDX_MAX_PAGES=3)
    assert result.returncode == 0, result.stderr[-3000:]
    may = [q for q in _cdx_queries(archive) if "url=presstv.ir%2Fdetail%2F2013%2F05%2F%2A" in q]
    assert len(may) == 3, may  # six captures one per page: three pages read
    lines = warnings_with(result, "CRAWLER_CDX_MAX_PAGES")
    assert len(lines) == 1
    assert len(result.items) == 3


def test_wayback_replays_redirected_to_another_host_are_refused_and_counted(tmp_path: Path) -> None:
    archive = WaybackArchive(_may_2013_captures(3))
    with OffsiteHost() as offsite, RunningWayback(archive) as wayback:
        archive.faults.replay_redirect = offsite.base_url
        result = _backfill(tmp_path, wayback)
        contacts = list(offsite.contacts)
    assert result.returncode == 0, result.stderr[-3000:]
    assert contacts == []
    assert result.items == []
    assert result.stats["redirects/refused/wayback"] == 3
    assert len(warnings_with(result, "not following the redirect")) == 1
    # Each article is recorded as failed with the reason (one line each, as for any failed article).
    assert result.stats["page_failed/count"] == 3


def test_after_a_429_no_request_reaches_the_archive_before_its_retry_after(tmp_path: Path) -> None:
    # At 50 queries a second, every eighth query is answered 429 "Retry-After: 1": over 20 pauses in one run.
    # (The slot's own slow-down after each 429 is capped low, so the rate stays high between the pauses.)
    archive = WaybackArchive(_may_2013_captures(1))
    archive.faults.throttle_every, archive.faults.retry_after = 8, "1"
    with RunningWayback(archive) as wayback:
        result = crawl(
            tmp_path,
            NO_MIRROR,
            "sources=wayback",
            "since=2013-01-01",
            "until=2013-12-31",
            settings={
                "CRAWLER_WAYBACK_URL": wayback.url,
                "CRAWLER_WAYBACK_CDX_RATE": 50,
                "AUTOTHROTTLE_MAX_DELAY": 0.02,
                "CRAWLER_ARCHIVE_MAX_THROTTLES": 3,
            },
            timeout=300,
        )
        times = [t for t, path in archive.request_times if path.startswith("/cdx/")]
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.items) == 1
    throttled = [times[n - 1] for n in range(8, len(times) + 1, 8)]
    assert len(throttled) >= 20
    for answered in throttled:
        later = [t for t in times if t > answered]
        if later:
            # The stand-in notes a request before it answers: the 429 left after `answered`.
            assert min(later) - answered >= 1.0, min(later) - answered


# ---- one archive rate for every worker -------------------------------------------------------------------------


def _max_in_window(stamps: list[float], window: float) -> int:
    """The most requests any `window` seconds held."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, t in enumerate(stamps):
        while t - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.redis
def test_three_workers_together_keep_each_wayback_rate(tmp_path: Path, redis_url: str) -> None:
    import os
    import subprocess
    import sys

    from support.crawlkit import FAST_SETTINGS, REPO_ROOT

    cdx_rate, fetch_rate = 2.0, 2.0
    archive = WaybackArchive(_may_2013_captures(30))
    with RunningWayback(archive) as wayback:
        merged = {
            **FAST_SETTINGS,
            "CRAWLER_FRONTIER": redis_url,
            "CRAWLER_FRONTIER_IDLE_SECONDS": 3,
            "CRAWLER_WAYBACK_URL": wayback.url,
            "CRAWLER_WAYBACK_CDX_RATE": cdx_rate,
            "CRAWLER_WAYBACK_FETCH_RATE": fetch_rate,
        }
        merged.pop("CRAWLER_STORE")
        cmd = [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "--workers",
            "3",
            "--store",
            str(tmp_path / "store.sqlite"),
            "-a",
            f"mirrors={NO_MIRROR}",
            "-a",
            "sources=wayback",
            "-a",
            "since=2013-05-01",
            "-a",
            "until=2013-06-30",
        ]
        for key, value in merged.items():
            cmd += ["-s", f"{key}={value}"]
        proc = subprocess.run(
            cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=400, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        times = {
            kind: [t for t, path in archive.request_times if path.startswith(prefix)]
            for kind, prefix in (("cdx", "/cdx/"), ("replay", "/web/"))
        }
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "30 articles extracted" in proc.stdout, proc.stdout[-2000:]
    for kind, rate in (("cdx", cdx_rate), ("replay", fetch_rate)):
        stamps = times[kind]
        assert len(stamps) >= 30, kind
        # Measured at the archive: over the whole run and in any 4 s, all three workers together sent no more
        # than the one rate allows (one request of margin per window for send jitter on a loaded machine).
        span = max(stamps) - min(stamps)
        assert len(stamps) - 1 <= span * rate + 1, (kind, len(stamps), span)
        assert _max_in_window(stamps, 4.0) <= 4.0 * rate + 1, (kind, _max_in_window(stamps, 4.0))


def test_captures_with_an_impossible_timestamp_are_repaired_and_still_stored(tmp_path: Path) -> None:
    good, odd = _may_2013_captures(2)
    # The real index holds such stamps: month 00 (here of 2014, after publication), and a day 00 with hour 24.
    only_odd = replace(odd, timestamp="20140015103000")
    newer_odd = replace(good, timestamp="20150400241500")
    archive = WaybackArchive([good, only_odd, newer_odd])
    with RunningWayback(archive) as wayback:
        result = _backfill(tmp_path, wayback)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    archived = {item["article_id"]: item["archived_at"] for item in result.items}
    assert archived == {"330102": "2014-01-15T10:30:00+00:00", "330101": "2015-04-01T23:15:00+00:00"}
    assert result.stats["archive/wayback/timestamps_repaired"] == 2
