"""The SQLite implementation of the article store: one file in WAL mode, its schema and migrations, the run lock."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from crawler.store import StoreError
from crawler.store.lock import RunLock
from crawler.store.sql import COMMIT_ITEMS, COMMIT_SECONDS, SQLStore, one_line

BUSY_TIMEOUT_MS = 10_000
"""How long a reader or writer waits for another process's transaction before giving up."""

# Each entry moves the schema one version up (PRAGMA user_version); never edit a released entry, append.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        uid TEXT UNIQUE,                 -- given by the scheduler so it can find its run again
        spider TEXT NOT NULL,
        args TEXT NOT NULL DEFAULT '{}', -- JSON: spider arguments
        pid INTEGER,
        started_at TEXT NOT NULL,        -- UTC, YYYY-MM-DDTHH:MM:SS
        finished_at TEXT,
        status TEXT NOT NULL,            -- running | ok | alarm | stopped | failed | killed
        finish_reason TEXT,
        exit_status INTEGER,
        new INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        unchanged INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        refused INTEGER NOT NULL DEFAULT 0,
        mirrors TEXT NOT NULL DEFAULT '[]',   -- JSON list of hosts that served article pages
        warnings TEXT NOT NULL DEFAULT '[]',  -- JSON list of layout-drift warnings
        stats TEXT NOT NULL DEFAULT '{}'      -- JSON: the run's Scrapy stats
    );
    CREATE TABLE articles (
        article_id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        title TEXT,
        section TEXT,
        published TEXT,                  -- as in the item (ISO 8601 with offset)
        published_utc TEXT,              -- sortable UTC key for filters
        modified_utc TEXT,
        content_hash TEXT NOT NULL,      -- of the current version
        version INTEGER NOT NULL,        -- current version number (1-based)
        first_seen TEXT NOT NULL,
        changed_at TEXT NOT NULL,        -- when the current version was stored
        last_seen TEXT NOT NULL,
        first_run INTEGER,
        last_run INTEGER
    );
    CREATE INDEX articles_published ON articles(published_utc);
    CREATE INDEX articles_changed ON articles(changed_at);
    CREATE TABLE versions (
        article_id TEXT NOT NULL REFERENCES articles(article_id),
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        modified TEXT,
        item TEXT NOT NULL,              -- JSON: Article.to_dict()
        extractor_version TEXT,
        stored_at TEXT NOT NULL,
        run_id INTEGER,
        page_id INTEGER,
        PRIMARY KEY (article_id, version)
    );
    CREATE TABLE pages (
        id INTEGER PRIMARY KEY,
        article_id TEXT,
        url TEXT NOT NULL,
        mirror TEXT,
        status INTEGER,
        encoding TEXT,
        fetched_at TEXT NOT NULL,
        html_sha256 TEXT NOT NULL,       -- of the raw bytes: the same page fetched again is kept once
        size INTEGER NOT NULL,
        html BLOB NOT NULL,              -- zlib-compressed raw bytes as fetched
        outcome TEXT NOT NULL,           -- article | refused | crashed
        reason TEXT,
        run_id INTEGER,
        UNIQUE (article_id, html_sha256)
    );
    CREATE INDEX pages_article ON pages(article_id, fetched_at);
    CREATE TABLE failures (
        id INTEGER PRIMARY KEY,
        run_id INTEGER,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,              -- fetch | refused | crashed
        url TEXT,
        article_id TEXT,
        status INTEGER,
        reason TEXT NOT NULL,
        page_id INTEGER
    );
    CREATE INDEX failures_run ON failures(run_id);
    """,
    # 2: provenance and the HTTP response of every page, for WARC export. Pages stored before this keep a
    # minimal header set reconstructed from what was kept, marked by headers_minimal.
    """
    ALTER TABLE pages ADD COLUMN headers TEXT;  -- JSON list of [name, value] pairs as received
    ALTER TABLE pages ADD COLUMN headers_minimal INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE pages ADD COLUMN fetched_from TEXT NOT NULL DEFAULT 'live';  -- live | wayback | commoncrawl | warc
    ALTER TABLE pages ADD COLUMN archived_at TEXT;  -- capture time (UTC) of a page from a web archive
    UPDATE pages SET headers_minimal = 1, headers = json_array(json_array('Content-Type',
        'text/html' || coalesce('; charset=' || encoding, '')));
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SQLiteStore(SQLStore):
    """The store in one SQLite file (WAL mode): one writer at a time, held by the run lock `<store>.lock`.

    The tables, batching and queries are `SQLStore`'s; this class opens the file, upgrades its schema
    (PRAGMA user_version), caps its size and words SQLite's failures.
    """

    _begin_sql = "BEGIN IMMEDIATE"

    def __init__(
        self,
        path: str,
        *,
        readonly: bool = False,
        lock: bool = False,
        create: bool = True,
        commit_items: int = COMMIT_ITEMS,
        commit_seconds: float = COMMIT_SECONDS,
        max_bytes: int = 0,
    ) -> None:
        self.path = str(path)
        self.max_bytes = max(0, int(max_bytes))
        self.readonly = readonly
        self._init_batching(commit_items, commit_seconds)
        self._lock: RunLock | None = None
        target = Path(self.path)
        if readonly or not create:
            if not target.is_file():
                raise self._missing()
        else:
            if target.is_dir():
                raise StoreError(f"store path {self.path} is a folder; give a file name such as data/crawler.sqlite")
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create folder for store {self.path}: {exc.strerror or exc}") from None
        if lock and not readonly:
            self._lock = RunLock(self.path + ".lock")
            self._lock.acquire(f"store {self.path}")
        try:
            self._db: sqlite3.Connection | None = self._connect()
        except BaseException:
            self._release_lock()
            raise

    # ---- connection and schema ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                db = sqlite3.connect(
                    f"{Path(self.path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
            else:
                db = sqlite3.connect(self.path, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self.readonly:
                db.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode: a power cut may lose the last commits but never corrupts the file.
                db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            self._migrate(db)
            if self.max_bytes and not self.readonly:
                # A size cap behaves exactly like a full disk: the write fails, its batch rolls back.
                page_size = int(db.execute("PRAGMA page_size").fetchone()[0])
                db.execute(f"PRAGMA max_page_count = {max(1, self.max_bytes // page_size)}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(self._explain(exc)) from None
        return db

    def _explain(self, exc: BaseException) -> str:
        """One line for a SQLite failure, chosen by its result code (`sqlite_errorname`), not its wording."""
        text = one_line(exc)
        code = str(getattr(exc, "sqlite_errorname", "") or "")
        base = "_".join(code.split("_")[:2])  # SQLITE_READONLY_DBMOVED -> SQLITE_READONLY
        if base in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH"):
            return f"cannot write to store {self.path}: file or folder is read-only ({text})"
        if base == "SQLITE_FULL":
            return f"cannot write to store {self.path}: disk is full; free space and run again"
        if base in ("SQLITE_NOTADB", "SQLITE_CORRUPT"):
            return f"store {self.path} is not a crawler store or is damaged ({text})"
        if base in ("SQLITE_BUSY", "SQLITE_LOCKED"):
            return f"store {self.path} is busy: another process holds a write transaction ({text})"
        return f"store {self.path}: {text}"

    def _migrate(self, db: sqlite3.Connection) -> None:
        current = int(db.execute("PRAGMA user_version").fetchone()[0])
        if not self._needs_upgrade(current, SCHEMA_VERSION):
            return
        for version in range(current, SCHEMA_VERSION):
            # executescript commits first; wrap each step so a failed upgrade leaves the old schema whole.
            db.executescript(
                f"BEGIN IMMEDIATE; {MIGRATIONS[version]}; PRAGMA user_version = {version + 1}; COMMIT;"
            )

    # ---- what SQLStore needs ----------------------------------------------------------------------

    def _execute(self, sql: str, params: tuple[Any, ...] | list[Any]) -> sqlite3.Cursor:
        assert self._db is not None, "store is closed"
        return self._db.execute(sql, params)

    def _in_transaction(self) -> bool:
        return self._db is not None and self._db.in_transaction

    def _is_driver_error(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.DatabaseError)

    def _run_alive(self, run_id: int, pid: int | None) -> bool:
        return pid is not None and pid != os.getpid() and _pid_alive(pid)

    def _close_connection(self) -> None:
        try:
            if self._db is not None:
                self._db.close()
                self._db = None
        finally:
            self._release_lock()

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def integrity_check(self) -> str:
        """SQLite's own check of the file, then that every article has its current version: "ok" when sound."""
        result = str(self._read_one("PRAGMA integrity_check")[0])
        return result if result != "ok" else self.consistency()
