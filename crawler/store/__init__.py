"""The article store: its protocol, its errors, and `open_store` choosing the implementation for a path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from crawler.items import Article

DEFAULT_STORE = "data/crawler.sqlite"
"""Where the store lives when the setting CRAWLER_STORE is not given (relative to the working folder)."""

SaveOutcome = Literal["new", "updated", "unchanged"]


class StoreError(Exception):
    """The store cannot be used (read-only, disk full, corrupt, newer schema); the message is one line."""


class StoreLocked(StoreError):
    """Another process holds the store's run lock (a crawl or re-extraction is writing to it)."""


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


@dataclass
class StoredPage:
    """One stored raw page with the facts of its fetch, as `iter_pages` yields it (for WARC export)."""

    id: int
    article_id: str | None
    url: str
    status: int | None
    headers: list[tuple[str, str]]
    headers_minimal: bool
    """True when the page was stored before headers were kept: `headers` is a reconstructed minimal set."""
    fetched_at: str
    fetched_from: str
    archived_at: str | None
    outcome: str
    html: bytes


@dataclass
class StoredArticle:
    """What the incremental check needs to know about an article already stored."""

    article_id: str
    version: int
    content_hash: str
    published_utc: str | None
    modified_utc: str | None


@dataclass
class ExportFilter:
    """Which stored articles an export or re-extraction covers; dates are naive UTC ISO strings."""

    since: str | None = None
    until: str | None = None
    section: str | None = None
    changed_since: str | None = None


@dataclass
class RunRow:
    """One crawl run as recorded in the store."""

    id: int
    uid: str | None
    spider: str
    started_at: str
    finished_at: str | None
    status: str
    exit_status: int | None
    new: int
    updated: int
    unchanged: int
    skipped: int
    failed: int
    refused: int
    mirrors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


ReextractJob = tuple[str, int, str, str | None, bytes]
"""(article_id, page_id, url, encoding, zlib-compressed html): one stored raw page to extract again."""


class ArticleStore(Protocol):
    """What the crawl, the exports, re-extraction and the scheduler need from a store.

    Every caller goes through this protocol and `open_store`: a second backend is one new class plus its tests.
    Every method raises StoreError (one line) when the store cannot do it.
    """

    path: str
    commit_seconds: float
    """Longest a write waits uncommitted; the crawl commits a partial batch on a timer this often."""

    def lookup(self, article_id: str) -> StoredArticle | None: ...
    def save_article(self, article: Article, page: Page | None, run_id: int | None) -> SaveOutcome: ...
    def save_reextracted(self, article: Article, page_id: int) -> str: ...
    def record_failure(
        self,
        run_id: int | None,
        kind: str,
        url: str,
        article_id: str | None,
        reason: str,
        status: int | None = None,
        page: Page | None = None,
    ) -> None: ...
    def begin_run(self, spider: str, args: dict[str, Any], uid: str | None = None) -> int: ...
    def finish_run(self, run_id: int, **values: Any) -> None: ...
    def record_external_run(self, uid: str, spider: str, exit_status: int, reason: str, started_at: str,
                            args: dict[str, Any] | None = None) -> None: ...
    def count_first_stored(self, run_id: int) -> int: ...
    def previous_source_counts(self, spider: str) -> dict[str, int]: ...
    def runs(self, limit: int = 20) -> list[RunRow]: ...
    def iter_export(self, flt: ExportFilter) -> Iterator[dict[str, Any]]: ...
    def count_export(self, flt: ExportFilter) -> int: ...
    def iter_reextract(self, flt: ExportFilter) -> Iterator[ReextractJob]: ...
    def iter_pages(self, flt: ExportFilter) -> Iterator[StoredPage]: ...
    def count_pages(self, flt: ExportFilter) -> int: ...
    def count_reextract(self, flt: ExportFilter) -> int: ...
    def integrity_check(self) -> str: ...
    def maybe_commit(self) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> ArticleStore: ...
    def __exit__(self, *exc: object) -> None: ...


def open_store(path: str, *, readonly: bool = False, lock: bool = False, shared_lock: bool = False,
               commit_items: int | None = None, commit_seconds: float | None = None,
               max_bytes: int = 0) -> ArticleStore:
    """Open (creating when writable) the store at `path`; `lock` takes the run lock first, shared with the
    other workers of one shared-frontier crawl when `shared_lock`. Writes commit in batches of `commit_items`
    or after `commit_seconds`; `max_bytes` (0: none) caps the store's size.

    Raises StoreError (StoreLocked when another process holds the lock) with a one-line message.
    """
    from crawler.store.sqlite import COMMIT_ITEMS, COMMIT_SECONDS, SQLiteStore

    return SQLiteStore(path, readonly=readonly, lock=lock, shared_lock=shared_lock,
                       commit_items=COMMIT_ITEMS if commit_items is None else commit_items,
                       commit_seconds=COMMIT_SECONDS if commit_seconds is None else commit_seconds,
                       max_bytes=max_bytes)


__all__ = [
    "DEFAULT_STORE",
    "ArticleStore",
    "ExportFilter",
    "Page",
    "ReextractJob",
    "RunRow",
    "SaveOutcome",
    "StoreError",
    "StoreLocked",
    "StoredArticle",
    "StoredPage",
    "open_store",
]
