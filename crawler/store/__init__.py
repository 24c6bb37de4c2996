"""The article store: its protocol, its errors, and `open_store` choosing the implementation for a path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

DEFAULT_STORE = "data/crawler.sqlite"
"""Where the store lives when the setting CRAWLER_STORE is not given (relative to the working folder)."""

SaveOutcome = Literal["new", "updated", "unchanged"]


class StoreError(Exception):
    """The store cannot be used (read-only, disk full, corrupt, newer schema); the message is one line."""


class StoreLocked(StoreError):
    """Another process holds the store's run lock (a crawl or re-extraction is writing to it)."""


@dataclass
class Page:
    """One fetched page as the extraction pipeline hands it over (the item's `_page` key)."""

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

    @classmethod
    def from_item(cls, data: Any) -> Page | None:
        """The page dict of an item (`_page`), or None when the item carries none."""
        if not isinstance(data, dict) or not isinstance(data.get("html"), bytes | bytearray | str):
            return None
        html = data["html"]
        if isinstance(html, str):
            html = html.encode(data.get("encoding") or "utf-8", "replace")
        return cls(
            url=str(data.get("url") or ""),
            html=bytes(html),
            status=data.get("status"),
            encoding=data.get("encoding"),
            fetched_at=data.get("fetched_at"),
            mirror=data.get("mirror"),
            compressed=data.get("html_zlib") if isinstance(data.get("html_zlib"), bytes) else None,
            sha256=data.get("html_sha256") if isinstance(data.get("html_sha256"), str) else None,
        )


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


class ArticleStore(Protocol):
    """What the crawl, the exports, re-extraction and the scheduler need from a store."""

    path: str

    def lookup(self, article_id: str) -> StoredArticle | None: ...
    def save_article(self, item: dict[str, Any], page: Page | None, run_id: int | None) -> SaveOutcome: ...
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
    def runs(self, limit: int = 20) -> list[RunRow]: ...
    def iter_export(self, flt: ExportFilter) -> Iterator[dict[str, Any]]: ...
    def count_export(self, flt: ExportFilter) -> int: ...
    def maybe_commit(self) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...


def open_store(path: str, *, readonly: bool = False, lock: bool = False) -> ArticleStore:
    """Open (creating when writable) the store at `path`; `lock` takes the run lock first.

    Raises StoreError (StoreLocked when another process holds the lock) with a one-line message.
    """
    from crawler.store.sqlite import SQLiteStore

    return SQLiteStore(path, readonly=readonly, lock=lock)




def default_store_path() -> str:
    """The store the commands use without --store: the project's CRAWLER_STORE setting (Scrapy project
    settings, so a user's own settings module or scrapy.cfg counts), else DEFAULT_STORE."""
    from scrapy.utils.project import get_project_settings

    path = get_project_settings().get("CRAWLER_STORE")
    if path is None:
        from crawler import settings as project_settings

        path = getattr(project_settings, "CRAWLER_STORE", DEFAULT_STORE)
    return str(path or "")


__all__ = [
    "DEFAULT_STORE",
    "ArticleStore",
    "ExportFilter",
    "Page",
    "RunRow",
    "SaveOutcome",
    "StoreError",
    "StoreLocked",
    "StoredArticle",
    "default_store_path",
    "open_store",
]
