"""Every discovery parser over real files (tests/data/real, sources in its SOURCES file): Wayback CDX answers as
client libraries recorded them (plain text, JSON, paged by resume key, impossible timestamps), Common Crawl's
collinfo.json and index answers, RSS 1.0 and Atom feeds, real news and article sitemaps."""

from __future__ import annotations

import gzip
import json
import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from lxml import etree
from scrapy import Request
from scrapy.http import TextResponse
from support.unitkit import MIRRORS, make_crawler, spider_of

from crawler.archives.cdx import (
    CdxError,
    Shard,
    capture_time,
    parse_cdx_answer,
    parse_cdx_json,
    repair_timestamp,
)
from crawler.archives.commoncrawl import crawls_for, parse_collinfo, parse_index
from crawler.crawl.spiders.presstv import _feed_entries

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


def _listed_in_sources() -> set[str]:
    text = (REAL / "SOURCES").read_text(encoding="utf-8")
    return {
        line.strip()
        for line in text.splitlines()
        if line and not line[0].isspace() and "/" in line and not line.startswith("#")
    }


def test_every_real_file_is_listed_in_sources_with_repository_commit_and_licence() -> None:
    files = {str(p.relative_to(REAL)) for p in REAL.rglob("*") if p.is_file() and p.name != "SOURCES"}
    listed = _listed_in_sources()
    assert files <= listed, f"not in SOURCES: {sorted(files - listed)}"
    text = (REAL / "SOURCES").read_text(encoding="utf-8")
    for name in files:
        entry = text.split(f"\n{name}\n", 1)[1].split("\n\n", 1)[0]
        assert re.search(r"commit: [0-9a-f]{40}", entry), name
        assert re.search(r"licence: (MIT|BSD|Apache|CC-BY)", entry), name


def _recorded(path: Path) -> list[dict[str, Any]]:
    """cdx_toolkit's recordings: one JSON object per line, with the request URL and the response text."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ---- Wayback CDX ---------------------------------------------------------------------------------------------


def test_impossible_cdx_timestamps_of_the_real_index_are_repaired_not_fatal() -> None:
    captures, resume = parse_cdx_answer((REAL / "wayback" / "bad_timestamp_cdx.txt").read_text())
    assert resume is None and len(captures) == 5
    raw = [c.timestamp for c in captures]
    impossible = [t for t in raw if t[4:6] == "00" or t[6:8] == "00"]
    assert len(impossible) == 2  # month 00 and day 00 (with hour 24) are in the file
    for timestamp in raw:
        fixed = repair_timestamp(timestamp)
        assert fixed[:4] == timestamp[:4] and len(fixed) == 14
        assert capture_time(timestamp).year == int(timestamp[:4])  # never a bare ValueError
    assert capture_time("20000012170449").isoformat() == "2000-01-12T17:04:49+00:00"
    assert capture_time("20000800241623").isoformat() == "2000-08-01T23:16:23+00:00"
    with pytest.raises(CdxError):
        repair_timestamp("20000231120000")  # no such day: skipped by the spider, counted


def test_a_malformed_real_cdx_answer_is_read_without_error_and_its_odd_urls_are_no_articles() -> None:
    text = (REAL / "wayback" / "malformed_cdx.txt").read_text()
    captures, resume = parse_cdx_answer(text)
    assert resume is None
    assert len(captures) == len([ln for ln in text.splitlines() if ln.strip()])
    for capture in captures:
        assert len(capture.timestamp) == 14 and capture.timestamp.isdigit()
        assert not capture.original.startswith("gov,")  # fields in their right places
    spider = spider_of(make_crawler())
    odd = [c.original for c in captures if "data:image" in c.original or "not/even/url" in c.original]
    assert len(odd) == 2
    assert all(spider.outlet.parse_article_url(url) is None for url in odd)


def test_real_cdx_pages_are_followed_by_the_resume_key_exactly_as_the_archive_expects_it_back() -> None:
    cassette = yaml.safe_load((REAL / "wayback" / "test_search_multipage.yaml").read_text(encoding="utf-8"))
    interactions = cassette["interactions"]
    assert len(interactions) >= 10
    total = 0
    for this, following in zip(interactions, [*interactions[1:], None], strict=True):
        body = this["response"]["body"]["string"]
        text = (gzip.decompress(body) if isinstance(body, bytes) else body.encode()).decode("utf-8")
        captures, resume = parse_cdx_answer(text)
        total += len(captures)
        if following is None:
            assert resume is None and captures == []  # the last page: no key, the query ends
            continue
        assert resume is not None and len(captures) == 25
        # Our next query carries the key the way the archive's own client sent it (encoded once more).
        sent = dict(parse_qsl(urlsplit(following["request"]["uri"]).query))["resumeKey"]
        ours = dict(parse_qsl(urlsplit(Shard("cnn.com").url("https://web.archive.org", resume)).query))
        assert ours["resumeKey"] == sent
    assert total == 25 * (len(interactions) - 1)


def test_a_recorded_json_cdx_answer_is_read_row_by_row() -> None:
    (record,) = _recorded(REAL / "wayback" / "test_multi_ia.jsonl")
    captures, resume = parse_cdx_json(record["response_text"])
    assert resume is None and len(captures) == record["request_params"]["limit"]
    assert all(c.original.startswith("http://www.commoncrawl.org") for c in captures)
    assert [c.timestamp for c in captures] == sorted(c.timestamp for c in captures)


# ---- Common Crawl ---------------------------------------------------------------------------------------------


def test_common_crawl_crawls_are_chosen_by_the_from_and_to_dates_of_the_real_collinfo() -> None:
    (record,) = _recorded(REAL / "commoncrawl" / "test_get_cc_endpoints.jsonl")
    crawls = parse_collinfo(record["response_text"])
    assert len(crawls) == len(json.loads(record["response_text"])) > 100
    assert all(c.start is not None and c.end is not None for c in crawls)
    by_id = {c.id: c for c in crawls}
    assert by_id["CC-MAIN-2009-2010"].end == date(2010, 9, 10)
    # Articles of 2010 on: the 2009-2010 crawl ran until September 2010, so it may hold them; 2008-2009 not.
    chosen = {c.id for c in crawls_for(crawls, date(2010, 1, 1), date(2010, 12, 31))}
    assert "CC-MAIN-2009-2010" in chosen and "CC-MAIN-2008-2009" not in chosen
    assert chosen == {c.id for c in crawls if c.end and c.end >= date(2010, 1, 1)}
    # A window inside 2025: a crawl that ended before it began is not asked.
    recent = {c.id for c in crawls_for(crawls, date(2025, 8, 1), None)}
    assert "CC-MAIN-2025-33" in recent and "CC-MAIN-2025-30" not in recent


def test_recorded_common_crawl_index_answers_are_read() -> None:
    answers = [
        r
        for r in _recorded(REAL / "commoncrawl" / "test_basics.jsonl")
        if r["response_status_code"] == 200 and r["response_text"].lstrip().startswith('{"urlkey"')
    ]
    assert answers
    for record in answers:
        records = parse_index(200, record["response_text"])
        assert len(records) == len(record["response_text"].strip().splitlines())
        assert {r.status for r in records} >= {"200"}
        assert all(r.filename.startswith("crawl-data/CC-MAIN-") and r.length > 0 for r in records)


# ---- feeds --------------------------------------------------------------------------------------------------


def _root(path: Path) -> etree._Element:
    return etree.fromstring(path.read_bytes(), parser=etree.XMLParser(resolve_entities=False, no_network=True))


def test_a_real_rss_1_0_feed_gives_its_item_links() -> None:
    entries = _feed_entries(_root(REAL / "feeds" / "rss1.0withModules.xml"))
    assert entries == [("http://www.pocketsoap.com/weblog/rssTests/rss1.0withModules.xml#1", "Test Item - RSS 1.0")]


def test_a_real_atom_feed_gives_each_entrys_alternate_link() -> None:
    path = REAL / "feeds" / "large_atom_feed_that_needs_css_sanitisation.xml"
    entries = _feed_entries(_root(path))
    assert entries is not None
    assert len(entries) == path.read_text(encoding="utf-8").count("<entry>") == 15
    assert all(link.startswith("http://touchnokia.ru/20") and link.endswith(".html") for link, _ in entries)
    assert all(title for _, title in entries)
    example = _feed_entries(_root(REAL / "feeds" / "atom.xml"))
    assert example == [("http://example.org/2003/12/13/atom03", "Atom-Powered Robots Run Amok")]


def test_xml_that_is_no_feed_is_told_apart() -> None:
    assert _feed_entries(_root(REAL / "sitemaps" / "shinpaideshou-news-sitemap.xml")) is None


# ---- sitemaps -----------------------------------------------------------------------------------------------


def _sitemap_response(body: bytes, name: str = "sitemap.xml") -> TextResponse:
    url = f"{MIRRORS[0]}/SiteMap/2017-04/{name}"
    return TextResponse(url, body=body, encoding="utf-8", request=Request(url, meta={"sitemap_depth": 0}))


def _as_presstv(body: bytes) -> tuple[bytes, int]:
    """The sitemap with only its <loc> URLs replaced by Press TV article URLs (dated by their old path when
    it has a date); returns it and how many it holds."""
    count = 0

    def swap(match: re.Match[bytes]) -> bytes:
        nonlocal count
        count += 1
        day = re.search(rb"/(20\d\d)/(\d\d)/(\d\d)/", match.group(1))
        y, m, d = (int(x) for x in day.groups()) if day else (2015, 5, 3)
        return f"<loc>https://www.presstv.ir/Detail/{y}/{m:02d}/{d:02d}/{500000 + count}/Story</loc>".encode()

    return re.sub(rb"<loc>([^<]*)</loc>", swap, body), count


@pytest.mark.parametrize("name", ["shinpaideshou-news-sitemap.xml", "hebdenbridgetimes-articles-sitemap.xml"])
def test_real_sitemaps_give_every_article_link_and_nothing_off_site(name: str) -> None:
    crawler = make_crawler()
    spider = spider_of(crawler)
    original = (REAL / "sitemaps" / name).read_bytes()
    urls = original.count(b"<url>")
    assert urls > 0
    # As published: every link is off-site for this outlet, counted and not requested.
    assert list(spider.parse_sitemap(_sitemap_response(original))) == []
    assert crawler.stats is not None
    assert crawler.stats.get_value("discovery/offsite_links") == urls
    # The same file with Press TV URLs in its <loc> fields: one article request each, news dates carried.
    rewritten, count = _as_presstv(original)
    requests = list(spider.parse_sitemap(_sitemap_response(rewritten)))
    assert len(requests) == count == urls
    assert {r.meta["article_id"] for r in requests} == {str(500000 + i) for i in range(1, urls + 1)}
    if b"news:publication_date" in original:
        assert all(r.meta["hints"].get("publication_date", "").startswith("2017-04-2") for r in requests)


def test_a_real_gzipped_sitemap_and_a_cdata_sitemap_index_are_read() -> None:
    crawler = make_crawler()
    spider = spider_of(crawler)
    gz = (REAL / "sitemaps" / "sitemap.xml.gz").read_bytes()
    assert list(spider.parse_sitemap(_sitemap_response(gz, "sitemap.xml.gz"))) == []
    assert crawler.stats is not None
    assert crawler.stats.get_value("discovery/offsite_links") == gzip.decompress(gz).count(b"<loc>")
    index = (REAL / "sitemaps" / "sitemap2.xml").read_bytes().replace(b"http://www.example.com", MIRRORS[0].encode())
    requests = list(spider.parse_sitemap(_sitemap_response(index)))
    assert [urlsplit(r.url).path for r in requests] == ["/sitemap1.xml.gz", "/sitemap2.xml.gz"]


def test_a_malformed_link_in_a_real_sitemap_or_feed_is_skipped_and_the_rest_are_read() -> None:
    crawler = make_crawler()
    spider = spider_of(crawler)
    rewritten, count = _as_presstv((REAL / "sitemaps" / "hebdenbridgetimes-articles-sitemap.xml").read_bytes())
    # One <loc> with an unclosed IPv6 bracket: urljoin raises on it, which once lost the whole file.
    broken = rewritten.replace(b"<loc>https://www.presstv.ir/", b"<loc>http://[www.presstv.ir/", 1)
    requests = list(spider.parse_sitemap(_sitemap_response(broken)))
    assert len(requests) == count - 1
    assert crawler.stats is not None
    assert crawler.stats.get_value("discovery/sitemap/malformed_links") == 1
    atom = (REAL / "feeds" / "large_atom_feed_that_needs_css_sanitisation.xml").read_text(encoding="utf-8")
    links = re.findall(r'href="(http://touchnokia\.ru/20[^"]+\.html)"', atom)
    for i, link in enumerate(dict.fromkeys(links)):
        atom = atom.replace(link, "http://[bad/" if i == 0 else f"/detail/2017/04/2{i % 10}/{600000 + i}/story")
    url = f"{MIRRORS[0]}/rss.xml"
    feed = TextResponse(url, body=atom.encode("utf-8"), encoding="utf-8", request=Request(url))
    ids = {r.meta["article_id"] for r in spider.parse_feed(feed)}
    assert ids == {str(600000 + i) for i in range(1, len(dict.fromkeys(links)))}
    assert crawler.stats.get_value("discovery/rss/malformed_links") == 1
