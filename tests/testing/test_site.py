"""The look-alike site serves Press TV's feeds, sitemaps, listings and articles, plays mirrors and injects faults."""

from __future__ import annotations

import gzip
import http.client
import re
import selectors
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest
from lxml import etree

from crawler.extract import extract_full
from crawler.outlet import load_outlet
from crawler.testing.site import MirrorSpec, RunningSite, SiteCorpus, faults, serve_site
from crawler.testing.site.pages import ArticleSpec, render_article

OUTLET = load_outlet("presstv")


def first_line(proc: subprocess.Popen[bytes], timeout: float = 120) -> str:
    """The process's first line of output; fails (rather than hanging the run) when none comes in `timeout` s."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            pytest.fail(f"no line of output within {timeout} s", pytrace=False)
    return proc.stdout.readline().decode().strip()


def get(url: str, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_rss_is_one_line_undated_with_mixed_hosts_and_repeats(site: RunningSite) -> None:
    status, headers, body = get(site.urls[0] + "/rss.xml")
    assert status == 200 and "xml" in headers["Content-Type"]
    assert b"\n" not in body
    assert b"<pubDate>" not in body and b"<guid>" not in body
    root = etree.fromstring(body)
    links = [link.text for link in root.iter("link")][1:]
    hosts = {re.match(r"https?://([^/]+)/", link).group(1) for link in links}  # type: ignore[union-attr]
    assert {"www.presstv.ir", "presstv.ir", "www.presstv.co.uk"} <= hosts
    ids = [OUTLET.article_id(link) for link in links]
    assert len(ids) > len(set(ids)), "the feed repeats some items"
    assert b'<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/" />' in body
    assert set(ids) == site.corpus.article_ids(only_articles=False)


def test_sitemap_index_and_monthly_news_sitemaps(site: RunningSite) -> None:
    status, _, index = get(site.urls[0] + "/sitemap.xml")
    assert status == 200
    locs = re.findall(rb"<loc>([^<]+)</loc>", index)
    monthly = [loc.decode() for loc in locs if loc.startswith(site.urls[0].encode())]
    assert monthly and all(re.search(r"/SiteMap/\d{4}-\d{2}/sitemap-news-\d{4}-\d{2}\.xml$", m) for m in monthly)
    assert any(b"127.0.0.2" in loc for loc in locs), "the index lists one off-site sitemap a crawler must ignore"
    status, _, month = get(monthly[0])
    root = etree.fromstring(month)
    ns = {"news": "http://www.google.com/schemas/sitemap-news/0.9"}
    assert root.xpath("//news:publication_date", namespaces=ns)
    assert root.xpath("//news:title", namespaces=ns)
    assert get(site.urls[0] + "/SiteMap/1999-01/sitemap-news-1999-01.xml")[0] == 404


def test_gzip_sitemaps() -> None:
    corpus = SiteCorpus(gzip_sitemaps=True)
    corpus.generate(3)
    with serve_site(corpus) as s:
        _, _, index = get(s.urls[0] + "/sitemap.xml")
        loc = re.search(rb"<loc>(http://127\.0\.0\.1[^<]+)</loc>", index).group(1).decode()  # type: ignore[union-attr]
        assert loc.endswith(".xml.gz")
        status, _headers, data = get(loc)
        assert status == 200 and data[:2] == b"\x1f\x8b"
        assert gzip.decompress(data).count(b"<url>") == 3


def test_section_listings_paginate_with_the_sites_link_markup() -> None:
    corpus = SiteCorpus(listing_page_size=4)
    corpus.generate(10, sections=["102"])
    with serve_site(corpus) as s:
        status, _, page1 = get(s.urls[0] + "/Section/102")
        assert status == 200
        assert b'<div class="section-data"><div><a href="/Detail/' in page1
        assert b"class=section-latest-news-link href=/Detail/" in page1  # unquoted attributes
        assert b'<li class="next"><a href="/Section/102/2">' in page1
        assert b'<li class="last"><a href="/Section/102/3">' in page1
        assert get(s.urls[0] + "/Section/102/3")[0] == 200
        assert get(s.urls[0] + "/Section/102/4")[0] == 404
        links = set(re.findall(rb"/Detail/[^\"> ]+", get(s.urls[0] + "/Section/102/2")[2]))
        assert len(links) == 4


def test_articles_answer_on_every_url_variant_and_unknown_paths_404(site: RunningSite) -> None:
    article = site.corpus.get("774416")
    assert article is not None
    base = site.urls[0]
    assert get(base + article.path)[2] == article.html
    assert get(base + "/detail/2026/8/15/774416/whatever-slug/")[2] == article.html
    assert get(base + "/robots.txt")[0] == 404
    assert get(base + "/no/such/page")[0] == 404
    assert get(base + "/Detail/2026/08/15/999999/Missing")[0] == 404


def test_article_changes_and_removals_show_at_once(site: RunningSite) -> None:
    generated = next(a for a in site.corpus.articles() if a.spec is not None)
    url = site.urls[0] + generated.path
    site.corpus.update_article(generated.article_id, title="A changed headline")
    assert b"A changed headline" in get(url)[2]
    site.corpus.update_article("774416", html=b"<html><body>replaced</body></html>")
    assert get(site.urls[0] + site.corpus.get("774416").path)[2] == b"<html><body>replaced</body></html>"  # type: ignore[union-attr]
    site.corpus.remove_article(generated.article_id)
    assert get(url)[0] == 404


def test_mirror_behaviours(site_corpus: SiteCorpus) -> None:
    mirrors: list[str | MirrorSpec] = [
        "seized",
        "refuse",
        "503",
        MirrorSpec("slow", delay=1.0),
        MirrorSpec("down-then-up", down_requests=2),
    ]
    with serve_site(site_corpus, mirrors) as s:
        status, _, body = get(s.mirror("seized").base_url + "/Detail/2026/08/15/774416/x")
        assert status == 200 and b"This domain has been seized" in body
        assert get(s.mirror("seized").base_url + "/rss.xml")[2] == body
        with pytest.raises(urllib.error.URLError) as refused:
            get(s.mirror("refuse").base_url + "/rss.xml")
        assert isinstance(refused.value.reason, ConnectionRefusedError)
        assert get(s.mirror("503").base_url + "/rss.xml")[0] == 503
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            get(s.mirror("slow").base_url + "/rss.xml", timeout=0.2)
        down = s.mirror("down-then-up").base_url + "/rss.xml"
        for _ in range(2):
            with pytest.raises((ConnectionError, http.client.RemoteDisconnected, urllib.error.URLError)):
                get(down)
        assert get(down)[0] == 200
        assert s.requests_for("down-then-up") == [("/rss.xml", "reset"), ("/rss.xml", "reset"), ("/rss.xml", 200)]


def test_overrides_inject_faults_per_path_and_mirror(site_corpus: SiteCorpus) -> None:
    with serve_site(site_corpus, ["healthy", "healthy"]) as s:
        first, second = s.urls
        s.override("/rss.xml", faults.first(1, faults.status(429, b"slow down", {"Retry-After": "3"})))
        status, headers, _ = get(first + "/rss.xml")
        assert status == 429 and headers["Retry-After"] == "3"
        assert get(first + "/rss.xml")[0] == 200
        s.override("/sitemap.xml", faults.redirect("http://127.0.0.2:9/elsewhere", 302), mirror="healthy")
        req = urllib.request.Request(first + "/sitemap.xml")
        opener = urllib.request.build_opener(_NoRedirect())
        with pytest.raises(urllib.error.HTTPError) as redirected:
            opener.open(req, timeout=5)
        assert redirected.value.code == 302 and redirected.value.headers["Location"] == "http://127.0.0.2:9/elsewhere"
        assert get(second + "/sitemap.xml")[0] == 200, "a mirror-specific override leaves other mirrors alone"
        s.override("/Section/101", faults.truncated(100))
        with pytest.raises(http.client.IncompleteRead):
            get(first + "/Section/101")
        s.override("/Section/102", faults.seizure())
        assert b"seized" in get(second + "/Section/102")[2]
        s.clear_overrides()
        assert get(first + "/Section/101")[0] == 200


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def test_site_binds_loopback_only(site_corpus: SiteCorpus) -> None:
    with pytest.raises(ValueError, match="loopback only"), serve_site(site_corpus, host="0.0.0.0"):
        pass


def test_generated_pages_have_the_requested_size_and_extract_clean() -> None:
    corpus = SiteCorpus()
    small, big = corpus.generate(1, start_id=780001)[0], corpus.generate(1, start_id=780002, pad_to_bytes=90_000)[0]
    assert len(small.html) < 12_000
    assert 90_000 <= len(big.html) < 95_000
    for page in (small, big):
        result = extract_full(page.html, "https://www.presstv.co.uk" + page.path, OUTLET)
        assert result.guard_removed == []
        body = result.article.body
        for phrase in (
            "Read more",
            "SHARE THIS ARTICLE",
            "alternate addresses",
            "Roku",
            "Latest News",
            "Related story",
            "Install the new version",
        ):
            assert phrase not in body
        assert result.article.lead and result.article.section
    spec = big.spec
    assert spec is not None
    boot = render_article(ArticleSpec(**{**spec.__dict__, "pad_to_bytes": 0}), "bootstrap")
    result = extract_full(boot, "https://www.presstv.ir" + big.path, OUTLET)
    assert result.layout == "bootstrap"
    assert result.article.body == extract_full(big.html, "https://www.presstv.ir" + big.path, OUTLET).article.body


def test_runs_as_a_process_and_prints_its_mirrors() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.testing.site", "--mirrors", "seized,healthy", "--generate", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        line = first_line(proc)
        assert line.startswith("mirrors=http://127.0.0.1:")
        seized, healthy = line.removeprefix("mirrors=").split(",")
        assert b"seized" in get(seized + "/rss.xml")[2]
        assert get(healthy + "/rss.xml")[2].count(b"<item>") >= 3
    finally:
        proc.terminate()
        proc.wait(timeout=10)
