"""The Article item: one clean article record, each field's format documented under it."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field, fields
from typing import Any

EXTRACTOR_VERSION = "1.1.0"
"""Bumped whenever extraction rules change, so stored items show which rules made them."""


@dataclass
class Article:
    """One article as the crawler delivers it. Every string is plain text (no HTML)."""

    article_id: str
    """The outlet's numeric article id as a decimal string, e.g. "777604"; the same on every mirror."""

    url: str
    """Canonical URL on the outlet's canonical host (https, `Detail` capitalised, padded path date, slug without
    stray leading/trailing/doubled hyphens or trailing slash), e.g.
    "https://www.presstv.ir/Detail/2026/10/02/777604/Iran-..."; the same for every mirror's copy. A language
    site (french.presstv.ir) keeps its own host. For hosts no outlet profile knows: the URL as given."""

    source_url: str
    """The URL the page was fetched from (or given to `extract`), unchanged."""

    mirror: str
    """Host name the page came from, e.g. "www.presstv.co.uk"."""

    title: str
    """Headline, whitespace collapsed, without the site's "PressTV-" or " - PressTV" decoration."""

    lead: str
    """The lead (summary) paragraph shown above the body; else the page's og:description / description
    summary; "" when it has neither. Never repeated in `body`."""

    body: str
    """Article text: paragraphs separated by one blank line ("\\n\\n"); no title, lead, caption, byline
    or page furniture in it."""

    published: str | None = None
    """Publication time, ISO 8601 with UTC offset (site time is Tehran), e.g. "2026-08-15T10:30:00+03:30".
    Taken from the page, else meta DC.Date.Created, else the date in the URL path (at midnight)."""

    modified: str | None = None
    """Last update time shown by the page ("[Updated: ...]"), ISO 8601 with offset; None when not shown."""

    section: str | None = None
    """Section name from the breadcrumb's last link, e.g. "Politics"; None when the page shows none."""

    authors: list[str] = field(default_factory=list)
    """Reporters named in a byline, e.g. ["Ali Musavi"]; the "Press TV, Tehran" part is not a name."""

    image_url: str | None = None
    """Absolute URL of the lead image (a relative src is resolved against `url`, so mirrors agree), or None."""

    image_caption: str | None = None
    """Caption of the lead image (e.g. "... (Photo by AFP)"), or None."""

    language: str = "en"
    """ISO 639-1 code of the article's language, e.g. "en" or "fr"."""

    word_count: int = 0
    """Number of whitespace-separated words in `body`."""

    content_hash: str = ""
    """sha256 hex of the normalised body (NFC, whitespace collapsed, case kept); equal hash = same text."""

    extracted_at: str = ""
    """When extraction ran, ISO 8601 in UTC, e.g. "2026-11-27T20:00:00+00:00"."""

    extractor_version: str = EXTRACTOR_VERSION
    """Version of the extraction rules that made this item (see crawler.core.items.EXTRACTOR_VERSION)."""

    layout: str = "unknown"
    """Name of the outlet profile's page layout that matched the page (e.g. "current", "bootstrap", "2012"), or
    "unknown" when none did (the page went through the layout-independent rules alone) or no profile knows the
    host. A run's stats count unknown-layout pages and the drift alarm names them."""

    fetched_from: str = "live"
    """Where the page came from: "live" (the outlet's site or a mirror), "wayback" (the Internet Archive's
    Wayback Machine), "commoncrawl" (a Common Crawl WARC record) or "warc" (a WARC/ARC file imported with
    `crawler import-warc`)."""

    archived_at: str | None = None
    """When the archive captured the page, ISO 8601 in UTC (e.g. "2013-05-02T08:15:00+00:00"); None for a live
    fetch."""

    def to_dict(self) -> dict[str, Any]:
        """The item as a plain JSON-ready dict, fields in schema order."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Rebuild an item from `to_dict` output; unknown keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


# C0/C1 controls that are not whitespace (ESC, BEL, CSI...): a page's `&#27;` reaches the text only after the
# parser decodes character references, so they are dropped here, from the decoded text.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def normalise_text(text: str) -> str:
    """NFC-normalised text without control characters, all whitespace runs collapsed to one space, stripped."""
    # str.split() splits on exactly the characters the regex \s matches, several times faster. ASCII text is
    # already NFC (the check is skipped: it runs for every piece of text the extractor reads).
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    # Normal lines joined by blank lines (an item's body) are that text with each break made a space, found
    # without splitting it into words: printable text holds no whitespace but the plain space, so with no two
    # spaces running and none at either end, each whitespace run of the text is one space or one break (one
    # beside a space or another break would have left two spaces), and its words joined by spaces are `flat`.
    if "\n\n" in text and not text[:1].isspace() and not text[-1:].isspace():
        flat = text.replace("\n\n", " ")  # (its ends are the text's: no space there)
        if flat.isprintable() and "  " not in flat:
            return flat
    # No control character is whitespace, so they may be dropped after the runs are collapsed, and only from
    # text that holds a character that is not printable (rare): the regex then scans the shorter text, or none.
    joined = " ".join(text.split())
    if joined.isprintable():
        return joined
    return " ".join(_CONTROLS.sub("", joined).split())


def content_hash(body: str, normal: str | None = None) -> str:
    """The `content_hash` of a body: sha256 of its normalised text (`normal`: normalise_text(body), when the
    caller has it already)."""
    return hashlib.sha256((normalise_text(body) if normal is None else normal).encode("utf-8")).hexdigest()


FETCH_SOURCES: tuple[str, ...] = ("live", "wayback", "commoncrawl", "warc")
"""Every value `Article.fetched_from` may take."""

ARTICLE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Article))
"""Field names in schema order (used by exports and the JSON Schema test)."""
