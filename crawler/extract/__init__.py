"""Pure extraction API (never imports Scrapy): page HTML and its URL in, a clean Article out."""

from __future__ import annotations

from crawler.core.items import Article
from crawler.extract.core import Extraction, extract_full
from crawler.extract.decode import decode_html
from crawler.extract.errors import NotAnArticle
from crawler.outlet import Outlet

__all__ = ["Article", "Extraction", "NotAnArticle", "decode_html", "extract", "extract_full"]


def extract(html: str | bytes, url: str, outlet: Outlet | None = None) -> Article:
    """The article on a page.

    `html` is the page as fetched (bytes are decoded with charset detection; gzip is inflated), `url` the
    address it came from. The outlet profile is chosen by the URL's host; unknown hosts get generic
    trafilatura extraction with the same contract. Raises NotAnArticle (with `.reason`) for listings,
    headline indexes, seizure, challenge and error pages, and empty, binary or oversized bodies.
    """
    return extract_full(html, url, outlet).article
