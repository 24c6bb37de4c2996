"""Mirror failover, routing, the mirror pool and the article-id dupe filter, in process (no network, no reactor)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from OpenSSL import SSL
from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import DownloadTimeoutError, IgnoreRequest, NotConfigured
from support.unitkit import MIRRORS, Clock, article_request, html_response, make_crawler, spider_of
from twisted.internet import error as twisted_error
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseNeverReceived

from crawler.crawl import signals
from crawler.crawl.dupefilters import ArticleIdDupeFilter
from crawler.crawl.middlewares import (
    MirrorFailoverMiddleware,
    MirrorRoutingMiddleware,
    PageGivenUp,
    exception_reason,
)
from crawler.outlet import load_outlet


def respond(mw: MirrorFailoverMiddleware, request: Request, status: int = 200, body: str = "<p>x</p>") -> Any:
    return asyncio.run(mw.process_response(request, html_response(request, body, status)))


def test_with_retries_off_a_failing_mirror_still_fails_over() -> None:
    crawler = make_crawler(RETRY_ENABLED=False)
    with pytest.raises(NotConfigured):
        RetryMiddleware.from_crawler(crawler)  # Scrapy's own retries are gone...
    mw = MirrorFailoverMiddleware.from_crawler(crawler)  # ...mirror failover is not
    request = article_request(crawler)
    nxt = respond(mw, request, 503)
    assert isinstance(nxt, Request) and nxt.url.startswith(MIRRORS[1])
    assert "retry_times" not in nxt.meta, "no retry on the same mirror when RETRY_ENABLED is off"
    assert crawler.stats is not None and crawler.stats.get_value("failover/http_503") == 1


def test_with_retries_on_the_same_mirror_is_retried_first_then_the_next_one() -> None:
    crawler = make_crawler(RETRY_TIMES=2)
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    request = article_request(crawler)
    first = respond(mw, request, 503)
    second = respond(mw, first, 503)
    assert [first.url, second.url] == [request.url, request.url]
    assert second.meta["retry_times"] == 2
    third = respond(mw, second, 503)
    assert third.url.startswith(MIRRORS[1]) and third.meta["mirrors_tried"] == ["m1.test"]
    assert crawler.stats is not None and crawler.stats.get_value("retry/count") == 2


def test_a_seizure_notice_fails_over_and_an_article_quoting_it_does_not() -> None:
    crawler = make_crawler()
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    phrase = load_outlet("presstv").non_article["seizure"][0]
    request = article_request(crawler)
    moved = respond(mw, request, 200, f"<html><body><h1>{phrase}</h1></body></html>")
    assert isinstance(moved, Request) and moved.url.startswith(MIRRORS[1])
    long_article = "<p>" + " word" * 600 + f" {phrase}</p>"
    kept = respond(mw, article_request(crawler), 200, long_article)
    assert kept.status == 200
    assert crawler.stats is not None and crawler.stats.get_value("failover/seizure") == 1


def test_404_is_recorded_once_and_dropped() -> None:
    crawler = make_crawler(RETRY_ENABLED=False)
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    failed: list[dict[str, Any]] = []
    crawler.signals.connect(lambda **kw: failed.append(kw), signal=signals.page_failed, weak=False)
    with pytest.raises(PageGivenUp):
        respond(mw, article_request(crawler), 404)
    assert [(f["article_id"], f["status"]) for f in failed] == [("777001", 404)]
    assert crawler.stats is not None and crawler.stats.get_value("page_failed/404") == 1


def test_every_mirror_failing_gives_up_with_one_page_failed() -> None:
    crawler = make_crawler()
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    spider_of(crawler).mirror_pool.record_success("m3.test")  # one mirror answered before: no run-wide give-up
    failed: list[str] = []
    crawler.signals.connect(lambda **kw: failed.append(kw["reason"]), signal=signals.page_failed, weak=False)
    request = article_request(crawler)
    for _ in MIRRORS[:-1]:
        nxt = mw.process_exception(request, twisted_error.ConnectionRefusedError())
        assert isinstance(nxt, Request)
        request = nxt
    with pytest.raises(PageGivenUp):
        mw.process_exception(request, twisted_error.ConnectionRefusedError())
    assert len(failed) == 1 and "tried m1.test, m2.test, m3.test" in failed[0]


def test_download_failures_are_named_by_type_even_when_wrapped() -> None:
    tls = ResponseNeverReceived([Failure(SSL.Error([("SSL routines", "", "wrong version number")]))])
    assert exception_reason(tls) == "tls"
    assert exception_reason(DownloadTimeoutError("took too long")) == "timeout"
    assert exception_reason(twisted_error.DNSLookupError("no such host")) == "dns"
    assert exception_reason(twisted_error.ConnectionRefusedError()) == "connection_refused"
    # A message that merely mentions TLS does not make a reset a TLS failure.
    assert exception_reason(twisted_error.ConnectionLost("peer reset after tls hello")) == "connection_lost"


def test_an_unreachable_mirror_robots_txt_counts_once_and_allows() -> None:
    crawler = make_crawler()
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    robots = Request(f"{MIRRORS[0]}/robots.txt", meta={"dont_obey_robotstxt": True})
    answer = mw.process_exception(robots, twisted_error.ConnectionRefusedError())
    assert answer is not None and not isinstance(answer, Request) and answer.status == 404
    failing = Request(f"{MIRRORS[1]}/robots.txt", meta={"dont_obey_robotstxt": True})
    passed = respond(mw, failing, 503)
    assert passed.status == 503 and failing.meta["dont_retry"], "Scrapy's RetryMiddleware must not retry it"


def test_mirror_set_aside_after_failures_and_back_after_the_cooldown() -> None:
    clock = Clock()
    crawler = make_crawler(clock=clock, CRAWLER_MIRROR_FAIL_THRESHOLD=2, CRAWLER_MIRROR_COOLDOWN=60.0)
    pool = spider_of(crawler).mirror_pool
    routing = MirrorRoutingMiddleware.from_crawler(crawler)
    assert not pool.record_failure("m1.test") and pool.record_failure("m1.test")
    assert pool.is_set_aside("m1.test") and pool.best() == MIRRORS[1]
    queued = article_request(crawler)  # made for m1 before it was set aside
    rerouted = routing.process_request(queued)
    assert rerouted is not None and rerouted.url.startswith(MIRRORS[1])
    clock.advance(61)
    assert not pool.is_set_aside("m1.test")
    assert routing.process_request(article_request(crawler)) is None


def test_an_offsite_redirect_is_not_followed() -> None:
    crawler = make_crawler()
    routing = MirrorRoutingMiddleware.from_crawler(crawler)
    origin = article_request(crawler)
    redirected = origin.replace(
        url="http://elsewhere.test/landing", meta={**origin.meta, "redirect_urls": [origin.url]}
    )
    nxt = routing.process_request(redirected)
    assert nxt is not None and nxt.url.startswith(MIRRORS[1])
    assert crawler.stats is not None and crawler.stats.get_value("failover/offsite_redirect") == 1


def test_a_mirror_on_a_seized_domain_is_the_last_resort_and_its_links_go_to_a_live_mirror() -> None:
    seized = load_outlet("presstv").seized_domains[0]
    crawler = make_crawler(mirrors=(f"https://www.{seized}", MIRRORS[0]))
    spider = spider_of(crawler)
    assert spider.mirror_pool.best() == MIRRORS[0]
    request = spider.article_request(f"https://www.{seized}/Detail/2026/01/02/777009/A-story", "rss")
    assert request is not None and request.url.startswith(MIRRORS[0])


def test_failover_can_be_switched_off() -> None:
    crawler = make_crawler(CRAWLER_FAILOVER_ENABLED=False)
    for cls in (MirrorFailoverMiddleware, MirrorRoutingMiddleware):
        with pytest.raises(NotConfigured):
            cls.from_crawler(crawler)


def test_dupe_filter_lets_one_request_per_article_id_through() -> None:
    crawler = make_crawler()
    dupes = ArticleIdDupeFilter.from_crawler(crawler)
    first = article_request(crawler, "/Detail/2026/01/02/777001/A")
    other_mirror_and_slug = article_request(crawler, "/detail/2026/1/2/777001/a-", mirror=MIRRORS[2])
    assert not dupes.request_seen(first)
    assert dupes.request_seen(other_mirror_and_slug)
    redirect = first.replace(meta={**first.meta, "redirect_urls": [first.url]})
    assert not dupes.request_seen(redirect), "a redirect continues a request already let in"
    page = Request(f"{MIRRORS[0]}/rss.xml")
    assert not dupes.request_seen(page) and dupes.request_seen(Request(f"{MIRRORS[0]}/rss.xml"))
    assert not dupes.request_seen(Request(f"{MIRRORS[1]}/rss.xml")), "non-article requests: Scrapy's fingerprint"


def test_ignore_request_is_left_to_scrapy() -> None:
    crawler = make_crawler()
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    assert mw.process_exception(article_request(crawler), IgnoreRequest("robots")) is None


def test_notice_pages_first_do_not_make_a_frontier_worker_give_up_a_mirror_that_answers() -> None:
    # A worker on a shared frontier takes no probe: its first pages may be notice pages of the one mirror, which
    # answers (a lone crawl probed the mirror's feeds first and gives up only when no mirror answers at all).
    crawler = make_crawler(mirrors=(MIRRORS[0],), RETRY_ENABLED=False, CRAWLER_FRONTIER="redis://127.0.0.1:6379/0")
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    phrase = load_outlet("presstv").non_article["challenge"][0]
    for n in range(3):
        with pytest.raises(PageGivenUp):
            respond(
                mw,
                article_request(crawler, f"/Detail/2026/01/02/77700{n}/x"),
                200,
                f"<html><body><p>{phrase}</p></body></html>",
            )
    assert crawler.stats is not None and not crawler.stats.get_value("crawler/no_mirror_reachable")
    assert not spider_of(crawler).mirror_pool.gave_up
