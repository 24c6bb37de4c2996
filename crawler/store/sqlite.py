"""The SQLite implementation of the article store: one file in WAL mode, its schema and migrations, the run lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from crawler.store import (
    HIT_END,
    HIT_START,
    ExportFilter,
    Period,
    SearchHit,
    SearchQueryError,
    StoreError,
)
from crawler.store.lock import RunLock
from crawler.store.sql import COMMIT_ITEMS, COMMIT_SECONDS, SQLStore, one_line

BUSY_TIMEOUT_MS = 10_000
"""How long a reader or writer waits for another process's transaction before giving up."""


@dataclass(frozen=True)
class Migration:
    """A schema step followed by a data step (e.g. filling a new index from existing rows), in one transaction."""

    sql: str
    fill: Callable[[sqlite3.Connection], None]


# The reading copy of every article's current version: what the search index and the browsable archive read.
# Triggers on `versions` keep it (and through it the FTS5 index) in step with every write, whichever code path
# stores or rewrites a current version. Its rowid is the article id as a number, so it survives VACUUM.
_ARCHIVE_COLUMNS = (
    "id, article_id, published, month, section, title, lead, body, authors, language, word_count, url, version"
)
_ARCHIVE_VALUES = """CAST({v}.article_id AS INTEGER), {v}.article_id, json_extract({v}.item, '$.published'),
    substr(a.published_utc, 1, 7), json_extract({v}.item, '$.section'), json_extract({v}.item, '$.title'),
    json_extract({v}.item, '$.lead'), json_extract({v}.item, '$.body'),
    coalesce(json_extract({v}.item, '$.authors'), '[]'), json_extract({v}.item, '$.language'),
    json_extract({v}.item, '$.word_count'), json_extract({v}.item, '$.url'), {v}.version"""
_NUMERIC_ID = "{v}.article_id <> '' AND {v}.article_id NOT GLOB '*[^0-9]*'"


def _archive_trigger(name: str, event: str) -> str:
    return f"""
    CREATE TRIGGER {name} AFTER {event} ON versions
    WHEN {_NUMERIC_ID.format(v="NEW")}
        AND NEW.version = (SELECT version FROM articles WHERE article_id = NEW.article_id)
    BEGIN
        DELETE FROM archive WHERE id = CAST(NEW.article_id AS INTEGER);
        INSERT INTO archive ({_ARCHIVE_COLUMNS})
            SELECT {_ARCHIVE_VALUES.format(v="NEW")} FROM articles a WHERE a.article_id = NEW.article_id;
    END;"""


_SEARCH_SCHEMA = f"""
    CREATE TABLE archive (
        id INTEGER PRIMARY KEY,          -- the article id as a number: the search index's rowid
        article_id TEXT NOT NULL UNIQUE REFERENCES articles(article_id),
        published TEXT,
        month TEXT,                      -- YYYY-MM of publication (UTC)
        section TEXT,
        title TEXT,
        lead TEXT,
        body TEXT,
        authors TEXT NOT NULL DEFAULT '[]',  -- JSON list
        language TEXT,
        word_count INTEGER,
        url TEXT,
        version INTEGER                  -- the current version number
    );
    CREATE INDEX archive_month ON archive(month);
    CREATE INDEX archive_section ON archive(section);
    CREATE VIRTUAL TABLE archive_fts USING fts5(
        title, lead, body, content="archive", content_rowid="id", tokenize="unicode61 remove_diacritics 2"
    );
    CREATE TRIGGER archive_fts_insert AFTER INSERT ON archive BEGIN
        INSERT INTO archive_fts (rowid, title, lead, body) VALUES (NEW.id, NEW.title, NEW.lead, NEW.body);
    END;
    CREATE TRIGGER archive_fts_delete AFTER DELETE ON archive BEGIN
        INSERT INTO archive_fts (archive_fts, rowid, title, lead, body)
            VALUES ('delete', OLD.id, OLD.title, OLD.lead, OLD.body);
    END;
    CREATE TRIGGER archive_fts_update AFTER UPDATE ON archive BEGIN
        INSERT INTO archive_fts (archive_fts, rowid, title, lead, body)
            VALUES ('delete', OLD.id, OLD.title, OLD.lead, OLD.body);
        INSERT INTO archive_fts (rowid, title, lead, body) VALUES (NEW.id, NEW.title, NEW.lead, NEW.body);
    END;
    {_archive_trigger("versions_archive_insert", "INSERT")}
    {_archive_trigger("versions_archive_update", "UPDATE OF item")}
    -- coverage: the latest failure of an id, and ids by number
    CREATE INDEX failures_article ON failures(article_id, id);
    CREATE INDEX failures_article_number ON failures(CAST(article_id AS INTEGER));
"""

FILL_BATCH = 500
"""Articles copied into the search index per statement when an existing store is upgraded."""


def _fill_archive(db: sqlite3.Connection) -> None:
    """Copy every stored article's current version into the archive table (and so the search index)."""
    total = int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    last = 0
    with tqdm(
        total=total, unit="article", desc="building the search index", file=sys.stderr, disable=None if total else True
    ) as bar:
        while True:
            rows = db.execute(
                "SELECT rowid FROM articles WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, FILL_BATCH)
            ).fetchall()
            if not rows:
                break
            db.execute(
                f"INSERT INTO archive ({_ARCHIVE_COLUMNS}) SELECT {_ARCHIVE_VALUES.format(v='v')}"
                " FROM articles a JOIN versions v ON v.article_id = a.article_id AND v.version = a.version"
                f" WHERE a.rowid > ? AND a.rowid <= ? AND {_NUMERIC_ID.format(v='a')}",
                (last, rows[-1][0]),
            )
            last = int(rows[-1][0])
            bar.update(len(rows))


# Each entry moves the schema one version up (PRAGMA user_version); never edit a released entry, append.
MIGRATIONS: tuple[str | Migration, ...] = (
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
    # 3: the archive table (current versions as columns) and its full-text index, filled for existing stores.
    Migration(_SEARCH_SCHEMA, _fill_archive),
    # 4: which records of which WARC/ARC files an import has handled, so a second import of the same files adds
    # nothing and an interrupted one resumes. A file is known by its content (file_key), not its path.
    """
    CREATE TABLE warc_records (
        file_key TEXT NOT NULL,          -- size and SHA-256 of the file's first and last MiB
        record_offset INTEGER NOT NULL,  -- where the record starts in the file
        outcome TEXT NOT NULL,           -- new | updated | unchanged | refused | crashed | older
        article_id TEXT,
        run_id INTEGER,
        PRIMARY KEY (file_key, record_offset)
    ) WITHOUT ROWID;
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
        shared_lock: bool = False,
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
            self._lock.acquire(f"store {self.path}", shared=shared_lock)
        try:
            self._db: sqlite3.Connection | None = self._connect()
        except BaseException:
            self._release_lock()
            raise

    # ---- connection and schema ------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:
                db = sqlite3.connect(f"{Path(self.path).resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
            else:
                db = sqlite3.connect(self.path, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if not self.readonly:
                self._use_wal(db)
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

    @contextlib.contextmanager
    def _setup_guard(self) -> Iterator[None]:
        """Held while a process sets up or upgrades the file, so others opening it at once wait, then find it done.

        Several processes may open a new or older store at once (the workers of one crawl, two crawls started
        together). SQLite's own lock cannot span the steps (executescript commits first, and switching a new file
        to WAL may fail at once with "database is locked" while another connection touches it, without waiting
        for the busy timeout), so a lock file beside the store does."""
        try:
            guard = open(self.path + ".upgrade", "a")  # noqa: SIM115 - closed below, after the set-up
        except OSError:
            yield  # a folder we cannot add a file to: nobody else can set the store up either
            return
        with guard:
            fcntl.flock(guard.fileno(), fcntl.LOCK_EX)
            yield

    def _use_wal(self, db: sqlite3.Connection) -> None:
        """Put the file in WAL mode (kept in the file: done once, by whichever process opens it first)."""
        if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
            return
        with self._setup_guard():
            # Readers that opened the file before it was switched may still hold it for a moment: wait for them
            # as for any busy store, then give up with the usual "busy" line.
            deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
            while True:
                try:
                    db.execute("PRAGMA journal_mode = WAL")
                    return
                except sqlite3.OperationalError as exc:
                    busy = str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))
                    if not busy or time.monotonic() >= deadline:
                        raise
                time.sleep(0.02)

    def _migrate(self, db: sqlite3.Connection) -> None:
        current = int(db.execute("PRAGMA user_version").fetchone()[0])
        if not self._needs_upgrade(current, SCHEMA_VERSION):
            return
        # One process upgrades the schema while the others wait, then find it upgraded.
        with self._setup_guard():
            current = int(db.execute("PRAGMA user_version").fetchone()[0])
            self._upgrade(db, current)

    def _upgrade(self, db: sqlite3.Connection, current: int) -> None:
        for version in range(current, SCHEMA_VERSION):
            step = MIGRATIONS[version]
            if isinstance(step, str):
                # executescript commits first; wrap each step so a failed upgrade leaves the old schema whole.
                db.executescript(f"BEGIN IMMEDIATE; {step}; PRAGMA user_version = {version + 1}; COMMIT;")
                continue
            db.executescript(f"BEGIN IMMEDIATE; {step.sql};")
            try:
                step.fill(db)
                db.execute(f"PRAGMA user_version = {version + 1}")
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

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

    # ---- reading the corpus: search (the archive table's FTS5 index) and coverage's dialect -----------

    def search(self, query: str, flt: ExportFilter, limit: int = 20) -> list[SearchHit]:
        """Best matches first (bm25, a title match weighing most, then the lead, then the body)."""
        where, params = self._and_where(flt, "archive_fts MATCH ?")
        sql = (
            "SELECT r.article_id, r.url, r.title, r.section, r.published,"
            f" snippet(archive_fts, -1, '{HIT_START}', '{HIT_END}', '…', 24), bm25(archive_fts, 10.0, 4.0, 1.0),"
            " v.item"
            " FROM archive_fts JOIN archive r ON r.id = archive_fts.rowid"
            " JOIN articles a ON a.article_id = r.article_id"
            " JOIN versions v ON v.article_id = a.article_id AND v.version = a.version"
            f"{where} ORDER BY 7, a.published_utc DESC LIMIT ?"
        )
        try:
            rows = self._execute(sql, (query, *params, max(1, int(limit)))).fetchall()
        except sqlite3.OperationalError as exc:
            # FTS5 reports a bad query as an OperationalError ("fts5: syntax error near ...", "no such column").
            raise SearchQueryError(f"search query {query!r}: {one_line(exc)}") from None
        return [
            SearchHit(str(r[0]), r[1] or "", r[2] or "", r[3], r[4], r[5] or "", float(r[6]), json.loads(r[7]))
            for r in rows
        ]

    def _period(self, by: Period, column: str) -> str:
        if by == "month":
            return f"date({column}, 'start of month')"
        if by == "week":
            return f"date({column}, 'weekday 0', '-6 days')"  # the Monday of its ISO week
        if by == "day":
            return f"date({column})"
        raise ValueError(f"unknown period {by!r}")

    def _id_number(self, column: str) -> str:
        return f"CAST({column} AS INTEGER)"

    def integrity_check(self) -> str:
        """SQLite's own check of the file, then that every article has its current version: "ok" when sound."""
        result = str(self._read_one("PRAGMA integrity_check")[0])
        return result if result != "ok" else self.consistency()
