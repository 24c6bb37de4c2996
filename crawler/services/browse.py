"""The browsable archive: Datasette metadata that makes a store read like an archive, its one cell link (an
article's version count opens the page of its versions) and the guards that keep its SQL to reading."""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import sys
import weakref
from collections.abc import Awaitable, Callable, Collection, MutableMapping
from importlib import resources
from pathlib import Path
from typing import Any

from datasette import hookimpl
from markupsafe import Markup, escape

VERSIONS_QUERY = "article"
"""The canned query that shows one article's versions (its page in the archive)."""

SETTINGS: dict[str, Any] = {
    "default_page_size": 50,
    "truncate_cells_html": 300,  # bodies are long; a cell shows the start, the row page all of it
    "facet_time_limit_ms": 1000,
    "sql_time_limit_ms": 5000,  # a query, ?sql= ones included, is stopped after this long
    "max_returned_rows": 1000,
    "allow_download": False,
    "allow_csv_stream": False,  # a streamed CSV ignores max_returned_rows
}
"""Datasette settings for `crawler serve`."""


def item_descriptions() -> dict[str, str]:
    """Each item field's description, from the JSON Schema the package ships."""
    text = resources.files("crawler").joinpath("schema/article.schema.json").read_text("utf-8")
    return {name: str(spec.get("description", "")) for name, spec in json.loads(text)["properties"].items()}


def _columns(names: dict[str, str]) -> dict[str, str]:
    item = item_descriptions()
    return {column: item.get(source, source) if source in item else source for column, source in names.items()}


def metadata(store_path: str, outlet_name: str) -> dict[str, Any]:
    """Datasette metadata for the store at `store_path`: titled tables, column descriptions from the item
    schema, facets, full-text search and the canned queries."""
    database = Path(store_path).stem
    archive_columns = _columns(
        {
            "id": "The article id as a number (the search index's key).",
            "article_id": "article_id",
            "published": "published",
            "month": "Month of publication, YYYY-MM (UTC).",
            "section": "section",
            "title": "title",
            "lead": "lead",
            "body": "body",
            "authors": "authors",
            "language": "language",
            "word_count": "word_count",
            "url": "url",
            "version": "How many versions of the text are stored; opens the article's page with all of them.",
        }
    )
    return {
        "title": f"{outlet_name} archive",
        "description": "Every stored article, searchable, with its versions, the pages that failed and the crawl "
        "runs. Read-only.",
        "databases": {
            database: {
                "title": f"{outlet_name} archive",
                "tables": {
                    "archive": {
                        "title": "Articles",
                        "description": "The current version of every stored article. Search title, lead and body; "
                        "narrow by section, author, language or month.",
                        "sort_desc": "published",
                        "facets": ["section", {"array": "authors"}, "language", "month"],
                        "fts_table": "archive_fts",
                        "label_column": "title",
                        "columns": archive_columns,
                    },
                    "articles": {
                        "title": "Article index",
                        "description": "One row per article id: its current version number and when it was first, "
                        "last and lately seen.",
                        "sort_desc": "published_utc",
                        "label_column": "title",
                        "columns": _columns(
                            {
                                "article_id": "article_id",
                                "url": "url",
                                "title": "title",
                                "section": "section",
                                "published": "published",
                                "published_utc": "Publication time, UTC.",
                                "modified_utc": "Last update time shown by the page, UTC.",
                                "content_hash": "content_hash",
                                "version": "Current version number (1 = never edited).",
                                "first_seen": "When the store first kept it, UTC.",
                                "changed_at": "When its current version was stored, UTC.",
                                "last_seen": "When a crawl last fetched it, UTC.",
                                "first_run": "The run that first stored it.",
                                "last_run": "The run that last fetched it.",
                            }
                        ),
                    },
                    "versions": {
                        "title": "Versions",
                        "description": "Every version of every article's text (a new one when the text changes).",
                        "sort_desc": "stored_at",
                        "columns": {
                            "item": "The full article item as JSON.",
                            "stored_at": "When it was stored, UTC.",
                            "version": "Version number, 1 for the first.",
                            "extractor_version": item_descriptions().get("extractor_version", ""),
                            "page_id": "The raw page it was extracted from.",
                        },
                    },
                    "failures": {
                        "title": "Failures and refusals",
                        "description": "Pages no mirror served (fetch), pages that are not articles (refused) and "
                        "extraction crashes, with their reason.",
                        "sort_desc": "at",
                        "facets": ["kind", "reason"],
                    },
                    "runs": {
                        "title": "Crawl runs",
                        "description": "One row per crawl run.",
                        "sort_desc": "id",
                        "facets": ["status"],
                    },
                    "pages": {"title": "Raw pages", "hidden": True},
                },
                "queries": {
                    VERSIONS_QUERY: {
                        "title": "An article and its versions",
                        "description": "Every stored version of one article, newest first.",
                        "sql": "select v.version, v.stored_at, json_extract(v.item, '$.title') as title,"
                        " json_extract(v.item, '$.lead') as lead, json_extract(v.item, '$.body') as body,"
                        " json_extract(v.item, '$.url') as url, v.content_hash"
                        " from versions v where v.article_id = :article_id order by v.version desc",
                    },
                    "latest": {
                        "title": "Latest articles",
                        "sql": "select article_id, published, section, title, lead, url from archive"
                        " order by published desc limit 100",
                    },
                    "edited": {
                        "title": "Articles edited after publication",
                        "sql": "select a.article_id, a.version as versions, a.changed_at as last_edit_stored, a.title,"
                        " a.published, a.url from articles a where a.version > 1 order by a.changed_at desc",
                    },
                    "failures_by_reason": {
                        "title": "Failures by reason",
                        "sql": "select kind, reason, count(*) as pages, count(distinct article_id) as article_ids,"
                        " max(at) as latest from failures group by kind, reason order by pages desc",
                    },
                    "recent_runs": {
                        "title": "Runs",
                        "sql": "select id, started_at, finished_at, status, exit_status, new, updated, unchanged,"
                        " skipped, failed, refused, mirrors from runs order by id desc limit 100",
                    },
                },
            }
        },
    }


class ArchiveLinks:
    """Datasette plugin: in the articles table, the version count links to the article's versions page."""

    @staticmethod
    @hookimpl
    def render_cell(
        row: Any, value: Any, column: str, table: str | None, database: str, datasette: Any
    ) -> Markup | None:
        if table != "archive" or column != "version" or value is None:
            return None
        article_id = row["article_id"]
        if isinstance(article_id, dict):  # a foreign key cell: {"value": ..., "label": ...}
            article_id = article_id.get("value")
        url = f"{datasette.urls.database(database)}/{VERSIONS_QUERY}?article_id={escape(article_id)}"
        label = "1 version" if value == 1 else f"{int(value)} versions"
        return Markup(f'<a class="versions" href="{url}">{escape(label)}</a>')


VALUE_BYTES = 20 * 1024 * 1024
"""The longest string or blob a query may make or read (SQLITE_LIMIT_LENGTH): above the largest stored page
(DOWNLOAD_MAXSIZE is 16 MB), far below what `randomblob(1e9)` would take."""

RESULT_BYTES = 24 * 1024 * 1024
"""The most one query may return, all its rows together; past it the query fails with an error."""

SQLITE_HEAP_BYTES = 64 * 1024 * 1024
"""SQLite's own memory in the serving process (PRAGMA hard_heap_limit): bounds a single wide row, sorts, CTEs."""

REFUSED_FUNCTIONS = frozenset({"fts3_tokenizer", "load_extension"})
"""SQL functions no query may call: fts3_tokenizer() reads and writes a pointer of the SQLite library (Debian's
SQLite builds it enabled), load_extension() runs a shared library."""


class QueryTooLarge(sqlite3.DatabaseError):
    """A query's rows passed RESULT_BYTES."""


def _size(value: object) -> int:
    return sys.getsizeof(value) if isinstance(value, str | bytes) else 16


def _authorize(action: int, name: str | None, function: str | None, *_: object) -> int:
    if action == sqlite3.SQLITE_FUNCTION and (function or "").lower() in REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def guard_connection(conn: sqlite3.Connection) -> None:
    """Bound what any query on `conn` can do: refused functions fail when the query is prepared ("not
    authorized"), a value longer than VALUE_BYTES fails ("string or blob too big"), rows past RESULT_BYTES fail."""
    conn.set_authorizer(_authorize)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, VALUE_BYTES)
    inner = conn.row_factory
    spent: weakref.WeakKeyDictionary[sqlite3.Cursor, int] = weakref.WeakKeyDictionary()

    def budgeted(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Any:
        total = spent.get(cursor, 0) + sum(_size(value) for value in row)
        if total > RESULT_BYTES:
            raise QueryTooLarge(f"query result larger than {RESULT_BYTES // (1024 * 1024)} MB")
        spent[cursor] = total
        return inner(cursor, row) if inner is not None else row

    conn.row_factory = budgeted


def limit_sqlite_heap(limit: int = SQLITE_HEAP_BYTES) -> None:
    """Cap SQLite's memory in this whole process (it then fails an allocation past it, never the process)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA hard_heap_limit = {int(limit)}")
    finally:
        conn.close()


class ReadOnlySQL:
    """Datasette plugin: every connection Datasette opens goes through `guard_connection`."""

    @staticmethod
    @hookimpl
    def prepare_connection(conn: sqlite3.Connection) -> None:
        guard_connection(conn)


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or "localhost"."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name of a Host header, without its port: `[::1]:8001` is `::1`, `Localhost:8001` is `localhost`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class HostCheck:
    """ASGI middleware: a request whose Host header names neither a loopback address nor one of `allowed` gets
    400. A web page of another site the user visits cannot then reach the server through a name of its own that
    resolves to 127.0.0.1 (DNS rebinding). `allowed` None: every name is accepted."""

    def __init__(self, app: ASGIApp, allowed: Collection[str] | None = ()) -> None:
        self.app = app
        self.allowed = None if allowed is None else frozenset(host_name(name) for name in allowed)

    def accepts(self, header: str | None) -> bool:
        if self.allowed is None:
            return True
        if not header:
            return False
        name = host_name(header)
        return is_loopback(name) or name in self.allowed

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]]
    ) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            raw = headers.get(b"host")
            if not self.accepts(raw.decode("latin-1") if raw is not None else None):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                body = b"Bad Request: this server answers to loopback names only (see crawler serve --allow-remote)\n"
                await send(
                    {
                        "type": "http.response.start",
                        "status": 400,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
