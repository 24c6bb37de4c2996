"""The article store: its protocol, its errors, and `open_store` choosing the implementation for a location."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from crawler.core.items import Article
from crawler.core.page import Page
from crawler.core.redact import mask_url

DEFAULT_STORE = "data/crawler.sqlite"
"""Where the store lives when the setting CRAWLER_STORE is not given (relative to the working folder)."""

SaveOutcome = Literal["new", "updated", "unchanged"]


class StoreError(Exception):
    """The store cannot be used (read-only, disk full, corrupt, newer schema); the message is one line."""


class StoreLocked(StoreError):
    """Another process holds the store's run lock (a crawl or re-extraction is writing to it)."""


class StoreNeedsUpgrade(StoreError):
    """A read-only open found an older schema: opening the store once writable upgrades it."""


class SearchQueryError(StoreError):
    """The search query is not valid in the store's query syntax (the message says where)."""


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


@dataclass
class SearchHit:
    """One search result: the current version of a matching article and where the query matched."""

    article_id: str
    url: str
    title: str
    section: str | None
    published: str | None
    snippet: str
    """Text around the match; matched terms are wrapped in HIT_START ... HIT_END."""
    score: float
    """Lower is better (SQLite: bm25 as FTS5 reports it; PostgreSQL: minus ts_rank_cd)."""
    item: dict[str, Any]


HIT_START, HIT_END = "\x02", "\x03"
"""Markers around matched terms in `SearchHit.snippet` (control characters no article text contains)."""


@dataclass
class StoredVersion:
    """One stored version of an article's text."""

    version: int
    stored_at: str
    content_hash: str
    item: dict[str, Any]


Period = Literal["month", "week", "day"]
"""How coverage groups articles: by the month, ISO week (Monday) or day of publication (UTC)."""


@dataclass
class PeriodCounts:
    """Stored articles published in one period (`start`: its first day, YYYY-MM-DD)."""

    start: str
    stored: int
    by_section: dict[str, int]
    low_id: int
    """Lowest and highest stored article id of the period (ids are one increasing sequence)."""
    high_id: int


@dataclass
class IdRangeFacts:
    """What the store knows about the article ids low..high (inclusive)."""

    stored: int
    """Ids in the range that have a stored article (whatever their publication date)."""
    not_stored: dict[tuple[str, str], int]
    """Ids seen but not stored, counted by the (kind, reason) of their latest failure; kind is
    refused, crashed or fetch."""


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
    def save_article(
        self, article: Article | Mapping[str, Any], page: Page | None, run_id: int | None
    ) -> SaveOutcome: ...
    def save_reextracted(self, article: Article | Mapping[str, Any], page_id: int) -> str: ...
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
    def record_external_run(
        self, uid: str, spider: str, exit_status: int, reason: str, started_at: str, args: dict[str, Any] | None = None
    ) -> None: ...
    def count_first_stored(self, run_id: int) -> int: ...
    def previous_source_counts(self, spider: str) -> dict[str, int]: ...
    def runs(self, limit: int = 20) -> list[RunRow]: ...
    def iter_export(self, flt: ExportFilter) -> Iterator[dict[str, Any]]: ...
    def count_export(self, flt: ExportFilter) -> int: ...
    def iter_reextract(self, flt: ExportFilter) -> Iterator[ReextractJob]: ...
    def iter_pages(self, flt: ExportFilter) -> Iterator[StoredPage]: ...
    def count_pages(self, flt: ExportFilter) -> int: ...
    def count_reextract(self, flt: ExportFilter) -> int: ...
    def search(self, query: str, flt: ExportFilter, limit: int = 20) -> list[SearchHit]:
        """Best matches first for a full-text query over title, lead and body of current versions
        (SearchQueryError when the query's syntax is wrong)."""
        ...

    def versions(self, article_id: str) -> list[StoredVersion]:
        """Every stored version of an article, oldest first ([] when the id is not stored)."""
        ...

    def period_counts(self, by: Period, flt: ExportFilter) -> list[PeriodCounts]:
        """Stored articles per publication period (filtered by `flt`), oldest period first."""
        ...

    def id_range_facts(self, low: int, high: int) -> IdRangeFacts: ...
    def edit_counts(self, by: Period, flt: ExportFilter) -> dict[str, int]:
        """New versions (after the first) per period of the time they were stored ({start: count});
        `flt.since`/`flt.until` bound that time."""
        ...

    def iter_edited(self, since: str, flt: ExportFilter) -> Iterator[dict[str, Any]]:
        """Current items of articles that got a new version at or after `since`, each with a `previous`
        object (the version before: version, stored_at, title, lead, body, content_hash)."""
        ...

    def count_edited(self, since: str, flt: ExportFilter) -> int: ...
    def imported_offsets(self, file_key: str) -> set[int]: ...
    def mark_imported(
        self, file_key: str, offset: int, outcome: str, article_id: str | None, run_id: int | None
    ) -> None: ...
    def newest_capture(self, article_id: str) -> str | None: ...
    def integrity_check(self) -> str: ...
    def maybe_commit(self) -> None: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> ArticleStore: ...
    def __exit__(self, *exc: object) -> None: ...


_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_KEYWORD_DSN = re.compile(r"^\s*(host|hostaddr|port|dbname|user|password|service|sslmode)\s*=", re.IGNORECASE)


def is_postgres_url(location: str) -> bool:
    """True for a PostgreSQL store location (a postgresql:// or postgres:// URL)."""
    return str(location).startswith(("postgresql://", "postgres://"))


def sqlite_file(location: str) -> str | None:
    """The file of a SQLite store location (a path, or `sqlite:///relative/path`, `sqlite:////absolute/path`);
    None for a server's URL. StoreError for a URL of a kind no backend opens."""
    location = str(location)
    if location.startswith("sqlite://"):
        rest = location[len("sqlite://") :]
        if not rest.startswith("/") or len(rest) < 2:
            raise StoreError(
                f"store {mask_url(location)}: a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path"
            )
        return rest[1:]
    if is_postgres_url(location):
        return None
    if _KEYWORD_DSN.match(location):
        # Else it would name a SQLite file, the password in its name.
        raise StoreError(
            f"store {mask_url(location)}: a keyword DSN is not a store location; write it as "
            "postgresql://user@host:port/dbname (the password in PGPASSWORD or ~/.pgpass)"
        )
    if _URL_SCHEME.match(location):
        raise StoreError(
            f"store {mask_url(location)}: unknown kind of store; give a file path, "
            "sqlite:///path or postgresql://user@host:port/dbname"
        )
    return location


def open_store(
    path: str,
    *,
    readonly: bool = False,
    lock: bool = False,
    create: bool = True,
    commit_items: int | None = None,
    commit_seconds: float | None = None,
    max_bytes: int = 0,
    shared_lock: bool = False,
) -> ArticleStore:
    """Open the store at `path`: a SQLite file path (or `sqlite:///path`) or a `postgresql://` URL.

    A writable store is created (schema and all) unless `create` is false; `lock` takes the run lock first
    (a SQLite store has one writer at a time, or the workers of one shared-frontier crawl together with
    `shared_lock`; a PostgreSQL store is shared and takes none). Writes commit in
    batches of `commit_items` or after `commit_seconds`; `max_bytes` (0: none) caps a SQLite store's size.

    Raises StoreError (StoreLocked when another process holds the lock) with a one-line message in which a
    URL's password is masked.
    """
    from crawler.store.sql import COMMIT_ITEMS, COMMIT_SECONDS

    options: dict[str, Any] = {
        "readonly": readonly,
        "lock": lock,
        "create": create,
        "max_bytes": max_bytes,
        "commit_items": COMMIT_ITEMS if commit_items is None else commit_items,
        "commit_seconds": COMMIT_SECONDS if commit_seconds is None else commit_seconds,
    }
    file = sqlite_file(path)
    if file is None:
        from crawler.core.extras import missing

        if needs := missing("postgres", f"store {mask_url(path)}"):
            raise StoreError(needs)
        from crawler.store.postgres import PostgresStore

        return PostgresStore(str(path), **options)
    from crawler.store.sqlite import SQLiteStore

    return SQLiteStore(file, shared_lock=shared_lock, **options)


__all__ = [
    "DEFAULT_STORE",
    "HIT_END",
    "HIT_START",
    "ArticleStore",
    "ExportFilter",
    "IdRangeFacts",
    "Page",
    "Period",
    "PeriodCounts",
    "ReextractJob",
    "RunRow",
    "SaveOutcome",
    "SearchHit",
    "SearchQueryError",
    "StoreError",
    "StoreLocked",
    "StoreNeedsUpgrade",
    "StoredArticle",
    "StoredPage",
    "StoredVersion",
    "is_postgres_url",
    "open_store",
    "sqlite_file",
]
