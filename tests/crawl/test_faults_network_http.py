"""Fault suite, network and HTTP: one real crawl of a look-alike site whose mirrors misbehave per article.

Mirrors in priority order: `refused` (a closed port), `primary`, `backup`. Each fault hits its own article on
`primary` (or on every mirror when no mirror could do better), so each case reads the fate of one article:
stored (from which mirror) or recorded as failed in the store (with which reason), and the counters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from support.crawlkit import CrawlResult, crawl
from support.faultkit import (
    OffsiteHost,
    StoreCheck,
    StoreView,
    assert_stores_intact,
    garbage_response,
    one_summary,
    record_times,
    reset_mid_body,
    stall_mid_body,
)

from crawler.extract import extract
from crawler.testing.site import MirrorSpec, SiteCorpus, faults, pages, serve_site

pytestmark = pytest.mark.faults

TIMEOUT = 3
"""Download timeout of the stalled article's requests only (seconds): the stalled read must outlast it. Every
other request keeps the generous test timeout, so a loaded machine does not turn slow answers into faults."""
RETRY_AFTER = 2
"""Seconds a 429 asks the crawler to wait."""

# Which article meets which fault (ids of the generated corpus, 780001...).
RESET, STALL, TRUNCATED, DRIP = "780001", "780002", "780003", "780004"
NOT_FOUND, GONE = "780005", "780006"
HTTP_500, HTTP_502, HTTP_503, TOO_MANY = "780007", "780008", "780009", "780010"
LOOP, OFFSITE, TO_MIRROR, CONTROL = "780011", "780012", "780013", "780014"
UNAUTHORIZED, RESET_EVERYWHERE, META_REFRESH_OFFSITE, TO_OTHER_ARTICLE = "780015", "780016", "780017", "780018"
NOT_HTTP = "780019"
NOT_STORED = {NOT_FOUND, GONE, LOOP, UNAUTHORIZED, RESET_EVERYWHERE, TO_OTHER_ARTICLE}


@dataclass
class Run:
    result: CrawlResult
    store: StoreView
    corpus: SiteCorpus
    netloc: dict[str, str]
    log: list[tuple[str, str, int | str]]
    offsite_contacts: list[str]
    times_429: list[float] = field(default_factory=list)

    def item(self, article_id: str) -> dict:
        items = [i for i in self.result.items if i["article_id"] == article_id]
        assert len(items) == 1, f"article {article_id}: {len(items)} items exported"
        stored = self.store.item(article_id)
        assert stored is not None, f"article {article_id} exported but not stored"
        return items[0]

    def hits(self, article_id: str, mirror: str | None = None) -> list[int | str]:
        """Statuses the site answered for this article's path (on one mirror or all), in order."""
        art = self.corpus.get(article_id)
        assert art is not None
        return [s for m, p, s in self.log if p.lower() == art.path.lower() and mirror in (None, m)]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    tmp = tmp_path_factory.mktemp("faults-net")
    corpus = SiteCorpus(off_site_sitemap=False)
    corpus.generate(19)
    path = {a.article_id: a.path for a in corpus.articles()}
    times_429: list[float] = []
    specs = [
        MirrorSpec("refuse", name="refused"),
        MirrorSpec("healthy", name="primary"),
        MirrorSpec("healthy", name="backup"),
    ]
    with OffsiteHost() as offsite, serve_site(corpus, specs) as site:
        primary, backup = site.mirror("primary"), site.mirror("backup")
        primary.override(path[RESET], reset_mid_body(keep=1500))
        site.override(path[RESET_EVERYWHERE], reset_mid_body(keep=1500))
        primary.override(path[STALL], stall_mid_body(TIMEOUT + 2))
        primary.override(path[TRUNCATED], faults.truncated(keep=1500))
        primary.override(path[DRIP], faults.drip(chunk=512, interval=0.02))
        site.override(path[NOT_FOUND], faults.status(404, pages.render_not_found()))
        site.override(path[GONE], faults.status(410, b"<html><body><h1>Gone</h1></body></html>"))
        primary.override(path[HTTP_500], faults.first(1, faults.status(500)))
        primary.override(path[HTTP_502], faults.first(1, faults.status(502)))
        primary.override(path[HTTP_503], faults.first(1, faults.status(503)))
        primary.override(
            path[TOO_MANY],
            record_times(
                faults.first(1, faults.status(429, b"Too Many Requests", {"Retry-After": str(RETRY_AFTER)})), times_429
            ),
        )
        # The same path in lower case redirects to itself: a loop, on every mirror.
        site.override(path[LOOP], faults.redirect(path[LOOP].lower(), 302))
        site.override(path[UNAUTHORIZED], faults.status(401, b"<html><body>Log in first</body></html>"))
        primary.override(
            path[META_REFRESH_OFFSITE],
            faults.body(
                f'<html><head><meta http-equiv="refresh" content="0; url={offsite.base_url}/moved"></head>'
                "<body>Moved</body></html>".encode()
            ),
        )
        site.override(path[TO_OTHER_ARTICLE], faults.redirect(path[CONTROL], 301))
        primary.override(path[NOT_HTTP], garbage_response())
        primary.override(path[OFFSITE], faults.redirect(offsite.base_url + path[OFFSITE], 302))
        # A mirror sending the reader to another mirror, on a lower-case URL variant of the article.
        primary.override(path[TO_MIRROR], faults.redirect(backup.base_url + path[TO_MIRROR].lower(), 301))
        result = crawl(
            tmp,
            site.mirrors_arg,
            "sources=rss",
            settings={
                "CRAWLER_STORE": str(tmp / "store.sqlite"),
                # Mirrors are never set aside here, so each fault stays on its own article.
                "CRAWLER_MIRROR_FAIL_THRESHOLD": 1000,
            },
            path_timeouts={path[STALL]: TIMEOUT},
        )
        netloc = {m.name: m.netloc for m in site.mirrors}
        log = list(site.log)
    final = StoreCheck("network and HTTP faults", tmp / "store.sqlite", corpus.article_ids() - NOT_STORED)
    yield Run(result, StoreView(tmp / "store.sqlite"), corpus, netloc, log, list(offsite.contacts), times_429)
    # After every test of the module read the store: still sound, each article once.
    assert_stores_intact([final])


def test_the_run_finishes_with_status_0_and_one_clear_summary(run: Run) -> None:
    assert run.result.returncode == 0, run.result.stderr[-3000:]
    summary = one_summary(run.result.stderr)
    stored = len(run.corpus.article_ids()) - len(NOT_STORED)
    assert summary.startswith(f"{stored} articles extracted ({stored} new, 0 updated, 0 unchanged)"), summary
    assert f"{len(NOT_STORED)} failed" in summary
    assert not [k for k in run.result.stats if k.endswith(("/malformed", "/not_xml"))], "healthy feeds flagged"
    assert run.store.runs() == [
        {
            "id": 1,
            "status": "ok",
            "exit_status": 0,
            "finish_reason": "finished",
            "new": stored,
            "failed": len(NOT_STORED),
            "refused": 0,
        }
    ]


def test_connection_refused_mirror_is_skipped_for_the_next(run: Run) -> None:
    stats = run.result.stats
    assert stats.get("failover/connection_refused", 0) + stats.get("failover/robots_connection_refused", 0) >= 1
    assert run.netloc["refused"] not in {i["mirror"] for i in run.result.items}
    assert run.item(CONTROL)["mirror"] == run.netloc["primary"]


def test_reset_mid_body_fails_over_to_the_next_mirror(run: Run) -> None:
    assert run.item(RESET)["mirror"] == run.netloc["backup"]
    assert run.hits(RESET, "backup") == [200]
    assert run.result.stats.get("failover/data_loss", 0) + run.result.stats.get("failover/connection_lost", 0) >= 2


def test_reset_on_every_mirror_is_recorded_with_the_mirrors_tried(run: Run) -> None:
    assert run.hits(RESET_EVERYWHERE, "primary") == [200] and run.hits(RESET_EVERYWHERE, "backup") == [200]
    [failure] = run.store.failures(RESET_EVERYWHERE)
    assert failure["kind"] == "fetch" and failure["reason"].startswith("no mirror answered (")
    assert run.netloc["primary"] in failure["reason"] and run.netloc["backup"] in failure["reason"]
    assert run.store.item(RESET_EVERYWHERE) is None


def test_an_answer_that_is_not_http_fails_over(run: Run) -> None:
    assert run.item(NOT_HTTP)["mirror"] == run.netloc["backup"]
    assert run.store.failures(NOT_HTTP) == []


def test_stalled_read_times_out_and_fails_over(run: Run) -> None:
    assert run.item(STALL)["mirror"] == run.netloc["backup"]
    assert run.result.stats["failover/timeout"] == 1
    assert run.result.stats["downloader/exception_type_count/scrapy.exceptions.DownloadTimeoutError"] == 1


def test_truncated_body_is_not_stored_half_but_fetched_whole_elsewhere(run: Run) -> None:
    item = run.item(TRUNCATED)
    assert item["mirror"] == run.netloc["backup"]
    art = run.corpus.get(TRUNCATED)
    assert art is not None
    assert item["body"] == extract(art.html, "https://www.presstv.ir" + art.path).body, "the whole text"
    assert run.result.stats["failover/data_loss"] >= 1


def test_slow_drip_within_the_timeout_is_read_whole(run: Run) -> None:
    item = run.item(DRIP)
    assert item["mirror"] == run.netloc["primary"], "a slow but steady mirror is not abandoned"
    assert run.hits(DRIP) == [200]
    art = run.corpus.get(DRIP)
    assert art is not None
    assert item["body"] == extract(art.html, "https://www.presstv.ir" + art.path).body


def test_404_and_410_are_recorded_once_and_not_retried(run: Run) -> None:
    for article_id, status in ((NOT_FOUND, 404), (GONE, 410)):
        assert run.hits(article_id) == [status], "asked once, on one mirror, not retried"
        assert run.store.item(article_id) is None
        failures = run.store.failures(article_id)
        assert [(f["kind"], f["status"], f["reason"]) for f in failures] == [("fetch", status, f"HTTP {status}")]
        assert run.result.stats[f"page_failed/{status}"] == 1


@pytest.mark.parametrize("article_id,status", [(HTTP_500, 500), (HTTP_502, 502), (HTTP_503, 503)])
def test_server_error_then_success_is_retried_on_the_same_mirror(run: Run, article_id: str, status: int) -> None:
    assert run.hits(article_id, "primary") == [status, 200]
    assert run.item(article_id)["mirror"] == run.netloc["primary"]
    assert run.result.stats[f"retry/reason_count/{status}"] == 1
    assert run.store.failures(article_id) == []


def test_429_waits_as_retry_after_asks_then_succeeds(run: Run) -> None:
    assert run.hits(TOO_MANY, "primary") == [429, 200]
    assert run.item(TOO_MANY)["mirror"] == run.netloc["primary"]
    assert len(run.times_429) == 2
    assert run.times_429[1] - run.times_429[0] >= RETRY_AFTER - 0.1, "asked again before Retry-After passed"
    assert run.result.stats["retry_after/waited"] == 1


def test_redirect_loop_ends_and_is_recorded(run: Run) -> None:
    hits = run.hits(LOOP)
    assert 1 < len(hits) <= 25 and set(hits) == {302}, "followed a bounded number of times"
    assert run.store.item(LOOP) is None
    [failure] = run.store.failures(LOOP)
    assert failure["kind"] == "fetch" and failure["reason"].startswith("redirect loop")
    assert run.result.stats["page_failed/redirect_loop"] == 1


def test_redirect_off_the_outlet_is_not_followed_nor_a_meta_refresh(run: Run) -> None:
    assert run.offsite_contacts == [], "the off-site host was contacted"
    assert run.hits(OFFSITE, "primary") == [302]
    assert run.item(OFFSITE)["mirror"] == run.netloc["backup"]
    assert run.result.stats["failover/offsite_redirect"] == 2, "the 302 and the meta refresh"
    assert run.item(META_REFRESH_OFFSITE)["mirror"] == run.netloc["backup"]


def test_redirect_to_another_mirror_is_followed_with_the_same_article_id(run: Run) -> None:
    assert run.hits(TO_MIRROR, "primary") == [301]
    item = run.item(TO_MIRROR)
    assert item["mirror"] == run.netloc["backup"]
    assert item["url"].startswith("https://www.presstv.ir/Detail/") and f"/{TO_MIRROR}/" in item["url"]
    assert [i["article_id"] for i in run.result.items].count(TO_MIRROR) == 1


def test_redirect_to_another_article_gives_that_article_once_and_records_the_first(run: Run) -> None:
    assert run.hits(TO_OTHER_ARTICLE) == [301]
    assert run.item(CONTROL)["article_id"] == CONTROL, "one item for the article the redirect led to"
    assert [(f["kind"], f["reason"]) for f in run.store.failures(TO_OTHER_ARTICLE)] == [
        ("fetch", f"redirected to article {CONTROL}")
    ]
    assert run.store.item(TO_OTHER_ARTICLE) is None


def test_unhandled_http_status_is_recorded_not_lost(run: Run) -> None:
    assert run.hits(UNAUTHORIZED) == [401]
    assert [(f["kind"], f["status"], f["reason"]) for f in run.store.failures(UNAUTHORIZED)] == [
        ("fetch", 401, "HTTP 401")
    ]
    assert run.result.stats["page_failed/401"] == 1


def test_store_is_intact_and_holds_exactly_the_expected_articles(run: Run) -> None:
    assert run.store.integrity() == "ok"
    assert run.store.article_ids() == sorted(run.corpus.article_ids() - NOT_STORED)
    assert sorted(i["article_id"] for i in run.result.items) == run.store.article_ids()
