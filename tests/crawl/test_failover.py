"""Mirror failover against real faults on loopback: timeouts, TLS, off-site redirects, 429, 404/410, crashes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.crawlkit import CrawlResult, make_corpus
from support.faultkit import OffsiteHost, record_times

from crawler.archives.warc import WarcPage, read_pages
from crawler.testing.site import MirrorSpec, faults, serve_site

REAL_WARC = Path(__file__).resolve().parents[1] / "data" / "real" / "warc"

pytestmark = pytest.mark.integration


def _ids(result: CrawlResult) -> list[str]:
    return [item["article_id"] for item in result.items]


def test_slow_mirror_times_out_and_the_next_one_serves_everything(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=4)
    # The slow mirror answers long after the timeout, and the timeout is long enough for any healthy answer
    # on a loaded machine.
    with serve_site(corpus, [MirrorSpec("slow", delay=40.0), "healthy"]) as site:
        result = run_crawl(site.mirrors_arg, "sources=rss", settings={"DOWNLOAD_TIMEOUT": 8})
        assert result.returncode == 0, result.stderr[-3000:]
        assert sorted(_ids(result)) == sorted(corpus.article_ids())
        assert {item["mirror"] for item in result.items} == {site.mirror("healthy").netloc}
        assert result.stats.get("failover/timeout", 0) + result.stats.get("failover/robots_timeout", 0) >= 1


def test_tls_failure_on_a_mirror_fails_over(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=2)
    with serve_site(corpus, ["healthy", "healthy"]) as site:
        plain_only, good = site.mirrors
        # https:// to a plain-HTTP server: the TLS handshake fails, as on www.presstv.ir's broken certificate.
        mirrors = f"https://127.0.0.1:{plain_only.port},{good.base_url}"
        result = run_crawl(mirrors, "sources=rss")
        assert result.returncode == 0, result.stderr[-3000:]
        assert sorted(_ids(result)) == sorted(corpus.article_ids())
        assert result.stats.get("failover/tls", 0) + result.stats.get("failover/robots_tls", 0) >= 1


def test_offsite_redirects_are_not_followed_and_blocks_fail_over(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=3)
    with OffsiteHost() as offsite, serve_site(corpus, ["healthy", "healthy"]) as site:
        hijacked, good = site.mirrors
        article = corpus.get("780002")
        assert article is not None
        hijacked.override(article.path.lower(), faults.redirect(offsite.base_url + "/elsewhere", 302))
        other = corpus.get("780003")
        assert other is not None
        # A redirect to another Press TV host is followed, onto the same path on a mirror.
        hijacked.override(other.path.lower(), faults.redirect("https://www.presstv.co.uk" + other.path, 301))
        # A plain 403 (a geo-block without any notice text) is a block too: the next mirror is asked.
        blocked = corpus.get("780001")
        assert blocked is not None
        hijacked.override(blocked.path.lower(), faults.status(403, b"Forbidden"))
        # The 403 and the off-site redirect may come first (requests leave in any order): two failures in a row
        # would set the first mirror aside before the outlet-host redirect is ever asked for.
        result = run_crawl(site.mirrors_arg, "sources=rss", settings={"CRAWLER_MIRROR_FAIL_THRESHOLD": 10})
        assert offsite.contacts == [], "the off-site host's own log shows a request"
        assert result.returncode == 0, result.stderr[-3000:]
        by_id = {item["article_id"]: item for item in result.items}
        assert sorted(by_id) == sorted(corpus.article_ids())
        assert by_id["780002"]["mirror"] == good.netloc
        assert by_id["780001"]["mirror"] == good.netloc and result.stats["failover/http_403"] == 1
        assert result.stats["failover/offsite_redirect"] == 1
        assert result.stats["failover/redirect_to_outlet_host"] == 1


def test_a_mirror_serving_another_sites_page_at_an_article_url_fails_over(
    run_crawl: Callable[..., CrawlResult],
) -> None:
    # A real page of another site (iana.org's, from warcio's test WARC: Apache-2.0, tests/data/real/SOURCES), as
    # a lapsed mirror domain that was parked or taken over serves it under the article's URL.
    (iana,) = [
        page.body
        for page in read_pages([REAL_WARC / "warcio-example-iana.org-chunked.warc"], lambda url: True)
        if isinstance(page, WarcPage)
    ]
    corpus = make_corpus(generated=3)
    with serve_site(corpus, ["healthy", "healthy"]) as site:
        parked, good = site.mirrors
        article = corpus.get("780002")
        assert article is not None
        parked.override(article.path.lower(), faults.body(iana))
        result = run_crawl(site.mirrors_arg, "sources=rss", settings={"CRAWLER_MIRROR_FAIL_THRESHOLD": 10})
        assert result.returncode == 0, result.stderr[-3000:]
        by_id = {item["article_id"]: item for item in result.items}
        # Not lost to a refusal: the next mirror is asked and serves the article.
        assert sorted(by_id) == sorted(corpus.article_ids())
        assert by_id["780002"]["mirror"] == good.netloc
        assert result.stats["failover/not_outlet_page"] == 1
        assert "extract/refused/not an outlet page" not in result.stats


def test_429_waits_for_retry_after_then_succeeds(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=2)
    with serve_site(corpus, ["healthy"]) as site:
        site.override("/rss.xml", faults.first(1, faults.status(429, b"Too Many Requests", {"Retry-After": "1"})))
        result = run_crawl(site.mirrors_arg, "sources=rss")
        assert result.returncode == 0, result.stderr[-3000:]
        assert sorted(_ids(result)) == sorted(corpus.article_ids())
        assert result.stats["retry_after/waited"] == 1
        assert [s for p, s in site.requests_for("healthy") if p == "/rss.xml"] == [429, 200]


def test_a_retry_after_beyond_the_cap_waits_only_the_cap(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=2)
    asked: list[float] = []
    with serve_site(corpus, ["healthy"]) as site:
        # An hour asked for; CRAWLER_RETRY_AFTER_MAX allows 2 seconds.
        site.override(
            "/rss.xml",
            record_times(faults.first(1, faults.status(429, b"Too Many Requests", {"Retry-After": "3600"})), asked),
        )
        result = run_crawl(site.mirrors_arg, "sources=rss", settings={"CRAWLER_RETRY_AFTER_MAX": 2}, timeout=90)
        assert result.returncode == 0, result.stderr[-3000:]
        assert sorted(_ids(result)) == sorted(corpus.article_ids())
        assert [s for p, s in site.requests_for("healthy") if p == "/rss.xml"] == [429, 200]
    assert len(asked) == 2
    assert 1.9 <= asked[1] - asked[0] < 60, f"asked again after {asked[1] - asked[0]:.1f}s, not the 2s cap"
    assert "waiting 2.0s as Retry-After asks" in result.stderr


def test_gone_articles_send_page_failed_and_yield_nothing(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=3)
    with serve_site(corpus, ["healthy"]) as site:
        gone, missing = corpus.get("780001"), corpus.get("780002")
        assert gone is not None and missing is not None
        site.override(gone.path.lower(), faults.status(410, b"gone"))
        site.override(missing.path.lower(), faults.status(404, b"not found"))
        result = run_crawl(site.mirrors_arg, "sources=rss")
        assert result.returncode == 0, result.stderr[-3000:]
        assert sorted(_ids(result)) == sorted(corpus.article_ids() - {"780001", "780002"})
        assert result.stats["page_failed/410"] == 1 and result.stats["page_failed/404"] == 1


def test_mirror_set_aside_comes_back_after_its_cooldown(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=30)
    # The second mirror answers slowly so that discovery outlasts the cooldown: only requests made after it are
    # sent back to the first mirror, and on an idle machine a fast crawl could otherwise finish before that.
    with serve_site(corpus, [MirrorSpec("down-then-up", down_requests=3), MirrorSpec("slow", delay=0.15)]) as site:
        result = run_crawl(
            site.mirrors_arg, settings={"CRAWLER_MIRROR_COOLDOWN": 0.3, "CONCURRENT_REQUESTS_PER_DOMAIN": 2}
        )
        assert result.returncode == 0, result.stderr[-3000:]
        ids = _ids(result)
        assert len(ids) == len(set(ids)) and set(ids) == corpus.article_ids()
        assert result.stats["mirror/set_aside"] >= 1 and result.stats["mirror/restored"] >= 1
        # Asked again after its cooldown and answered (any page: the corpus's 404 fixture may come last).
        after_down = site.requests_for("down-then-up")[3:]
        assert any(status == 200 for _, status in after_down), "the first mirror was asked again and answered"


def test_extraction_crashes_are_counted_and_the_pool_recovers(run_crawl: Callable[..., CrawlResult]) -> None:
    corpus = make_corpus(generated=8)
    with serve_site(corpus, ["healthy"]) as site:
        result = run_crawl(
            site.mirrors_arg,
            "sources=rss",
            settings={"CRAWLER_EXTRACT_FUNCTION": "tests.support.faulty_extract.faulty_extract_page"},
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert sorted(_ids(result)) == sorted(corpus.article_ids() - {"780003", "780005"})
        assert result.stats["extract/crashed"] >= 2
        assert result.stats["extract/pool_rebuilt"] >= 1
        assert "extraction crashed: RuntimeError: extractor bug on purpose" in result.stderr


def test_mirror_pool_prefers_healthy_mirrors_sets_failing_ones_aside_and_takes_them_back() -> None:
    from crawler.crawl.mirrors import MirrorPool
    from crawler.outlet import load_outlet

    now = [0.0]
    pool = MirrorPool(
        ["https://www.presstv.co.uk", "https://www.presstv.ir/", "http://127.0.0.1:8001"],
        load_outlet("presstv"),
        fail_threshold=2,
        cooldown=60,
        clock=lambda: now[0],
    )
    assert pool.best() == "https://www.presstv.co.uk"
    assert pool.is_site_url("https://presstv.com/Detail/2026/08/15/774416/x")  # any outlet host
    assert pool.is_site_url("http://127.0.0.1:8001/rss.xml") and not pool.is_site_url("http://127.0.0.2:8001/")
    assert (
        pool.url_on(pool.best() or "", "http://presstv.ir/Detail/1/2?x=1#f")
        == "https://www.presstv.co.uk/Detail/1/2?x=1"
    )
    assert pool.record_failure("www.presstv.co.uk") is False
    assert pool.best() == "https://www.presstv.ir", "a mirror that just failed yields to a healthy one"
    assert pool.record_failure("www.presstv.co.uk") is True and pool.is_set_aside("www.presstv.co.uk")
    assert pool.best(exclude=["www.presstv.ir", "127.0.0.1:8001"]) == "https://www.presstv.co.uk", (
        "set aside, but still the last resort"
    )
    now[0] = 61.0
    assert not pool.is_set_aside("www.presstv.co.uk") and pool.best() == "https://www.presstv.co.uk"
    assert pool.record_success("www.presstv.co.uk") is True
    assert pool.reached == ["www.presstv.co.uk"]
