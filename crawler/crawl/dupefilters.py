"""The crawl's dupe filter: one request per article id (`article_fingerprint`), whatever the mirror or URL."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.job import job_dir

from crawler.core.articlekey import article_fingerprint, continues_article

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler


class ArticleIdFingerprinter:
    """A request fingerprinter keyed by `meta["article_id"]` when a request carries one, else the crawl's own."""

    def __init__(self, fallback: Any) -> None:
        self.fallback = fallback

    def fingerprint(self, request: Request) -> bytes:
        key = article_fingerprint(request)
        if key:
            return hashlib.sha1(key.encode()).digest()
        return bytes(self.fallback.fingerprint(request))


class ArticleIdDupeFilter(RFPDupeFilter):
    """Requests for an article are duplicates when they carry the same `meta["article_id"]`, whatever the URL.

    Other requests fall back to Scrapy's fingerprint. One article id is requested once per run, so one item
    per article id comes out, whichever mirror and URL variant led to it. A redirect of an article request
    continues a request already let in and is never filtered: a redirect loop then ends at REDIRECT_MAX_TIMES
    with an IgnoreRequest the spider records, instead of vanishing here without a trace.

    The id key goes in through Scrapy's public `fingerprinter` argument, so the seen set (and, with JOBDIR,
    its requests.seen file) is Scrapy's own; only the dupe filter sees it (the HTTP cache keeps its usual keys).
    """

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        debug = crawler.settings.getbool("DUPEFILTER_DEBUG")
        fingerprinter = ArticleIdFingerprinter(crawler.request_fingerprinter)
        return cls(job_dir(crawler.settings), debug, fingerprinter=fingerprinter)

    def request_seen(self, request: Request) -> bool:
        return False if continues_article(request) else super().request_seen(request)
