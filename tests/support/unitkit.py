"""What the unit tier's tests share: a project-configured Scrapy crawler without a reactor, a hand-wound clock,
responses and items built in memory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

import crawler.crawl.settings as project_settings
from crawler.core.items import Article, content_hash
from crawler.core.page import Page
from crawler.crawl.handoff import ExtractedItem
from crawler.crawl.mirrors import MirrorPool
from crawler.crawl.spiders.presstv import PresstvSpider

MIRRORS = ("http://m1.test", "http://m2.test", "http://m3.test")


@dataclass
class Clock:
    """A monotonic clock the test moves by hand."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def settings(**overrides: Any) -> dict[str, Any]:
    """The project's settings (crawler/crawl/settings.py) with overrides; no store unless one is given."""
    values = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
    values["CRAWLER_STORE"] = ""
    values.update(overrides)
    return values


def make_crawler(
    store: Path | None = None, clock: Clock | None = None, mirrors: tuple[str, ...] = MIRRORS, **overrides: Any
) -> Crawler:
    """A crawler with the project's settings and its `presstv` spider (mirrors given), not started."""
    if store is not None:
        overrides["CRAWLER_STORE"] = str(store)
    crawler = get_crawler(PresstvSpider, settings(**overrides))
    spider = PresstvSpider.from_crawler(crawler, mirrors=",".join(mirrors))
    settings_ = crawler.settings
    spider.mirror_pool = MirrorPool(
        mirrors,
        spider.outlet,
        settings_.getint("CRAWLER_MIRROR_FAIL_THRESHOLD"),
        settings_.getfloat("CRAWLER_MIRROR_COOLDOWN"),
        clock=clock or Clock(),
    )
    crawler.spider = spider
    return crawler


def spider_of(crawler: Crawler) -> PresstvSpider:
    assert isinstance(crawler.spider, PresstvSpider)
    return crawler.spider


def article_request(
    crawler: Crawler, path: str = "/Detail/2026/01/02/777001/Some-story", mirror: str = MIRRORS[0]
) -> Request:
    """The spider's request for an article path on a mirror, as discovery makes it."""
    request = spider_of(crawler).article_request(mirror + path, "rss")
    assert request is not None
    return request.replace(url=mirror + path)


def html_response(
    request: Request,
    body: str = "<html><body><p>An article.</p></body></html>",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HtmlResponse:
    return HtmlResponse(
        request.url, status=status, body=body.encode("utf-8"), encoding="utf-8", request=request, headers=headers
    )


def extracted(
    article_id: str = "777001",
    body: str = "Some text of the article.",
    layout: str = "current",
    removed: dict[str, list[str]] | None = None,
    mirror: str = "m1.test",
) -> ExtractedItem:
    """An extracted item as the extraction pipeline hands it to the store pipeline."""
    url = f"http://{mirror}/Detail/2026/01/02/{article_id}/Some-story"
    article = Article(
        article_id=article_id,
        url=f"https://outlet.test/{article_id}",
        source_url=url,
        mirror=mirror,
        title="A title",
        lead="A lead.",
        body=body,
        published="2026-01-02T10:00:00+03:30",
        section="Politics",
        content_hash=content_hash(body),
        word_count=len(body.split()),
        layout=layout,
    )
    page = Page(
        url=url,
        html=f"<html><body>{body}</body></html>".encode(),
        status=200,
        encoding="utf-8",
        mirror=mirror,
        fetched_at="2026-01-02T10:00:00+00:00",
    )
    return ExtractedItem(article=article, page=page, source="rss", removed=removed or {}, layout=layout)
