"""The typed records the crawl's stages hand each other: spider -> extraction -> store -> exports.

`PageItem` is what the spider yields for an article response (raw bytes and fetch facts, nothing extracted);
`ExtractOutcome` is what an extraction worker sends back (defined with the worker in
`crawler.pool.extraction`); `ExtractedItem` is what the extraction pipeline
passes on to the store pipeline; the last pipeline hands the feed exports the bare `Article`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scrapy import Request
from scrapy.exceptions import DropItem, IgnoreRequest

from crawler.core.items import Article
from crawler.core.page import Page
from crawler.pool.extraction import UNKNOWN_LAYOUT
from crawler.pool.extraction import ExtractOutcome as ExtractOutcome  # re-exported with the other stage records


@dataclass
class PageItem:
    """An article response as the spider yields it, before extraction."""

    article_id: str
    """The id the article URL names (the dupe filter's key)."""
    source_url: str
    """The link that led to the page (a feed or sitemap may name another host than the one that served it)."""
    page: Page
    """The fetched bytes and facts of the fetch."""
    source: str = ""
    """The discovery source that found the link: "rss", "sitemap", "sections", "wayback", "commoncrawl"
    (counted per source)."""
    fallback: Request | None = None
    """For a web-archive capture: the request for the next older capture of the same article, sent when
    extraction refuses this one (a seizure notice, a challenge page...)."""
    request: Request | None = None
    """For a page fetched from a mirror: its request, so that the next mirror is asked when the page turns out to
    be another site's (a lapsed mirror domain parked or taken over)."""


@dataclass
class ExtractedItem:
    """An extracted article on its way to the store: the Article plus what the run counts about it."""

    article: Article
    page: Page
    source: str = ""
    guard_removed: list[str] = field(default_factory=list)
    removed: dict[str, list[str]] = field(default_factory=dict)
    layout: str = UNKNOWN_LAYOUT
    layout_misses: list[str] = field(default_factory=list)

    @property
    def unknown_layout(self) -> bool:
        """True when no layout of the outlet profile matched the page."""
        return self.layout == UNKNOWN_LAYOUT


class NotAnArticlePage(DropItem):
    """Extraction refused the page: "not an article: <reason>" (recorded by the store as refused)."""


class ExtractionCrashed(DropItem):
    """Extraction failed on the page: "extraction crashed: ..." (recorded by the store as crashed)."""


class CaptureRefused(DropItem):
    """Extraction refused an archived capture that has an older one to try: counted, not recorded as failed."""


class OtherMirrorAsked(DropItem):
    """A mirror served another site's page for the article: the next mirror is asked; counted, not recorded as
    failed."""


class OutsideWindow(DropItem):
    """The extracted article's `published` date is outside the crawl's since=/until=: not stored, not exported."""


class SkippedRequest(IgnoreRequest):
    """A request dropped on purpose, not a failure (an article already stored): errbacks record nothing."""


def response_headers(response: Any) -> list[tuple[str, str]]:
    """A Scrapy response's headers as (name, value) text pairs, in order, one pair per value.

    Header bytes are Latin-1 by HTTP's definition, so every byte survives the round trip to WARC export."""
    pairs: list[tuple[str, str]] = []
    for name, values in response.headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs


def page_url(item: Any) -> str:
    """The URL a page item, an extracted item or an Article came from ("" for anything else)."""
    if isinstance(item, PageItem | ExtractedItem):
        return item.page.url
    if isinstance(item, Article):
        return item.source_url
    return ""
