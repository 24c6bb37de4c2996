"""robots.txt and web-archive requests stay on their own host when redirected; robots.txt is read up to a size."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import TextResponse
from support.unitkit import make_crawler

from crawler.crawl.middlewares import OwnHostGuardMiddleware
from crawler.crawl.spiders.archived import SLOT_SOURCE


def _redirected(first: str, then: str, **meta: object) -> Request:
    return Request(then, meta={"redirect_urls": [first], **meta})


@pytest.mark.parametrize("slot", sorted(SLOT_SOURCE))
def test_every_archive_request_redirected_to_another_host_is_refused_and_counted(slot: str) -> None:
    crawler = make_crawler()
    guard = OwnHostGuardMiddleware.from_crawler(crawler)
    source = SLOT_SOURCE[slot]
    request = _redirected(
        "https://data.commoncrawl.org/crawl-data/x.warc.gz",
        "https://elsewhere.example/x",
        archive_source=source,
        download_slot=slot,
    )
    with pytest.raises(IgnoreRequest):
        guard.process_request(request)
    assert crawler.stats is not None
    assert crawler.stats.get_value(f"redirects/refused/{source}") == 1


@pytest.mark.parametrize(
    "then",
    [
        "https://web.archive.org/web/20130101000000id_/http://www.presstv.ir/detail/1.html",  # another capture
        "http://web.archive.org:80/web/2013id_/http://www.presstv.ir/",  # the default port spelt out
    ],
)
def test_an_archive_redirect_on_its_own_host_is_followed(then: str) -> None:
    crawler = make_crawler()
    guard = OwnHostGuardMiddleware.from_crawler(crawler)
    request = _redirected(
        "https://web.archive.org/web/2013id_/http://www.presstv.ir/",
        then,
        archive_source="wayback",
        download_slot="archive:wayback",
    )
    guard.process_request(request)  # no IgnoreRequest: followed


def test_a_robots_txt_redirect_leaves_its_host_only_when_refused() -> None:
    crawler = make_crawler()
    guard = OwnHostGuardMiddleware.from_crawler(crawler)
    same = _redirected("http://m1.test/robots.txt", "https://m1.test/robots.txt", dont_obey_robotstxt=True)
    guard.process_request(same)  # followed
    other = _redirected("http://m1.test/robots.txt", "http://elsewhere.example/robots", dont_obey_robotstxt=True)
    with pytest.raises(IgnoreRequest):
        guard.process_request(other)
    # A page's own redirect is not this guard's business (the mirror routing decides).
    page = _redirected("http://m1.test/Detail/1", "http://elsewhere.example/Detail/1")
    guard.process_request(page)  # passed on


def test_a_robots_txt_over_the_limit_is_cut_at_its_last_whole_line() -> None:
    crawler = make_crawler(CRAWLER_ROBOTSTXT_MAX_BYTES=2048)
    guard = OwnHostGuardMiddleware.from_crawler(crawler)
    request = Request("http://m1.test/robots.txt", meta={"dont_obey_robotstxt": True})
    body = b"User-agent: *\nDisallow: /Section/\n" + b"# a comment line of thirty bytes\n" * 200
    cut = guard.process_response(request, TextResponse(request.url, body=body, request=request))
    assert len(cut.body) <= 2048 and cut.body.endswith(b"\n") and body.startswith(cut.body)
    small = TextResponse(request.url, body=body[:100], request=request)
    assert guard.process_response(request, small) is small
