"""The typed records the crawl's stages hand each other: spider -> extraction -> store -> exports.

`PageItem` is what the spider yields for an article response (raw bytes and fetch facts, nothing extracted);
`ExtractOutcome` is what an extraction worker sends back; `ExtractedItem` is what the extraction pipeline
passes on to the store pipeline; the last pipeline hands the feed exports the bare `Article`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapy import Request
from scrapy.exceptions import DropItem, IgnoreRequest

from crawler.core.items import Article
from crawler.core.page import Page

UNKNOWN_LAYOUT = "unknown"
"""The layout name of a page no profile layout matched (see Article.layout)."""


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


@dataclass
class ExtractOutcome:
    """What an extraction worker returns for one page: an article, or the reason it is not one.

    `compressed` and `sha256` are the raw page's zlib and hash, made in the worker to keep that CPU off the
    crawl's reactor thread.
    """

    article: Article | None = None
    refused: str | None = None
    guard_removed: list[str] = field(default_factory=list)
    """Lines the last-resort boilerplate guard removed."""
    removed: dict[str, list[str]] = field(default_factory=dict)
    """What the layout-independent cleaning cues removed, by reason ("dateline", "nav-block", ...)."""
    layout_misses: list[str] = field(default_factory=list)
    """Rules of the page's known layout that missed while the cues stood in ("date", "breadcrumb", ...)."""
    layout: str = UNKNOWN_LAYOUT
    compressed: bytes | None = None
    sha256: str | None = None

    @classmethod
    def coerce(cls, value: ExtractOutcome | Mapping[str, Any]) -> ExtractOutcome:
        """An outcome from a worker entry point (CRAWLER_EXTRACT_FUNCTION): this class, or a dict with the keys
        `article` (an Article dict), `refused`, `guard_removed`, `removed`, `layout_misses`, `layout`, `html_zlib`,
        `html_sha256`."""
        if isinstance(value, ExtractOutcome):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"an extraction worker returned {type(value).__name__}, not an ExtractOutcome or dict")
        raw = value.get("article")
        article = raw if isinstance(raw, Article) else None
        if isinstance(raw, Mapping):
            article = Article.from_dict(dict(raw))
        return cls(
            article=article,
            refused=None if value.get("refused") is None else str(value["refused"]),
            guard_removed=list(value.get("guard_removed") or []),
            removed={str(k): list(v) for k, v in (value.get("removed") or {}).items()},
            layout_misses=[str(m) for m in value.get("layout_misses") or []],
            layout=str(value.get("layout") or (article.layout if article else UNKNOWN_LAYOUT)),
            compressed=value.get("html_zlib") if isinstance(value.get("html_zlib"), bytes) else None,
            sha256=value.get("html_sha256") if isinstance(value.get("html_sha256"), str) else None,
        )


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
