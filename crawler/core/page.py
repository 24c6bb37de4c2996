"""A fetched page and the facts of its fetch: what the crawl, the archives and WARC import hand the store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Page:
    """One fetched page and the facts of its fetch, as the store keeps it beside the article it gave."""

    url: str
    html: bytes
    status: int | None = None
    encoding: str | None = None
    fetched_at: str | None = None
    mirror: str | None = None
    compressed: bytes | None = None
    """zlib of `html`, when the extraction worker made it already (keeps that CPU off the reactor thread)."""
    sha256: str | None = None
    """Hex SHA-256 of `html`, when the extraction worker computed it."""
    headers: list[tuple[str, str]] | None = None
    """The response headers as received, in order (None: not known; the store then keeps a minimal set)."""
    fetched_from: str = "live"
    """"live", "wayback", "commoncrawl" or "warc" (see Article.fetched_from)."""
    archived_at: str | None = None
    """The archive's capture time (ISO 8601 UTC) for a page from a web archive; None for a live fetch."""
