"""The SQLite implementation of the article store: WAL, versioned schema, batched transactions, run lock."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from crawler.items import ARTICLE_FIELDS, Article
from crawler.store import (
    ExportFilter,
    Page,
    RunRow,
    SaveOutcome,
    StoredArticle,
    StoredPage,
    StoreError,
)
from crawler.store.lock import RunLock
from crawler.store.when import iso_to_utc_key, utc_key, utc_now

COMMIT_ITEMS = 100
"""Default batch size: a transaction is committed after this many writes..."""
COMMIT_SECONDS = 2.0
"""...or when this many seconds passed since its first write, whichever comes first."""

BUSY_TIMEOUT_MS = 10_000
"""How long a reader or writer waits for another process's transaction before giving up."""

ZLIB_LEVEL = 3
"""zlib level for raw pages: 2x faster than the default 6 on Press TV-sized pages for ~5% more bytes
(the extraction worker compresses each page, off the crawl's reactor thread)."""

# Fields that differ between two extractions of the same text without the article having changed.
_VOLATILE = frozenset({"extracted_at", "source_url", "mirror", "fetched_from", "archived_at"})

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


def _minimal_headers(encoding: str | None) -> list[list[str]]:
    """The header set a page stored without its headers gets: its content type and the charset it was read in."""
    return [["Content-Type", "text/html" + (f"; charset={encoding}" if encoding else "")]]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SQLiteStore:
    """Articles, their versions, raw pages, failures and runs in one SQLite file (WAL mode).

    Writes go into one open transaction committed every `commit_items` writes or `commit_seconds`
    seconds (and at `commit`/`close`): a crash loses at most the uncommitted batch, and since the
    incremental check reads this store, a rerun fetches exactly those articles again.
    """

    def __init__(
        self,
        path: str,
        *,
        readonly: bool = False,
        lock: bool = False,
        shared_lock: bool = False,
        commit_items: int = COMMIT_ITEMS,
        commit_seconds: float = COMMIT_SECONDS,
        max_bytes: int = 0,
    ) -> None:
        self.path = str(path)
        self.max_bytes = max(0, int(max_bytes))
        self.readonly = readonly
        self.commit_items = max(1, int(commit_items))
        self.commit_seconds = float(commit_seconds)
        self._pending = 0
        self._batch_started = 0.0
        self._lock: RunLock | None = None
        target = Path(self.path)
        if readonly:
            if not target.is_file():
                raise StoreError(f"no store at {self.path} (run a crawl first, or give --store PATH)")
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
            self._db = self._connect()
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
        text = _one_line(exc)
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
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {current}, newer than this crawler's "
                f"{SCHEMA_VERSION}; upgrade the crawler"
            )
        if current == SCHEMA_VERSION:
            return
        if self.readonly:
            raise StoreError(f"store {self.path} needs a schema upgrade; open it once without read-only")
        for version in range(current, SCHEMA_VERSION):
            # executescript commits first; wrap each step so a failed upgrade leaves the old schema whole.
            db.executescript(
                f"BEGIN IMMEDIATE; {MIGRATIONS[version]}; PRAGMA user_version = {version + 1}; COMMIT;"
            )

    # ---- transactions ---------------------------------------------------------------------------

    def _write(self, sql: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> sqlite3.Cursor:
        try:
            if not self._db.in_transaction:
                self._db.execute("BEGIN IMMEDIATE")
                self._batch_started = time.monotonic()
            return self._db.execute(sql, params)
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise StoreError(self._explain(exc)) from None

    def _rollback(self) -> None:
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except sqlite3.DatabaseError:
            pass
        self._pending = 0

    def commit(self) -> None:
        """Commit the open batch; on failure nothing of it is kept and StoreError says why."""
        if not self._db.in_transaction:
            self._pending = 0
            return
        try:
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._rollback()
            raise StoreError(self._explain(exc)) from None
        self._pending = 0

    def maybe_commit(self) -> None:
        """Commit when the batch is full or old enough (called after every write and by a timer)."""
        if not self._db.in_transaction:
            return
        if self._pending >= self.commit_items or time.monotonic() - self._batch_started >= self.commit_seconds:
            self.commit()

    @property
    def pending(self) -> int:
        """Writes in the open, uncommitted batch."""
        return self._pending

    def close(self) -> None:
        """Commit what is pending and release the file and the lock."""
        try:
            if getattr(self, "_db", None) is not None:
                try:
                    self.commit()
                finally:
                    self._db.close()
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

    # ---- articles -------------------------------------------------------------------------------

    def lookup(self, article_id: str) -> StoredArticle | None:
        row = self._db.execute(
            "SELECT version, content_hash, published_utc, modified_utc FROM articles WHERE article_id = ?",
            (str(article_id),),
        ).fetchone()
        if row is None:
            return None
        return StoredArticle(str(article_id), row[0], row[1], row[2], row[3])

    def _save_page(self, article_id: str | None, page: Page, outcome: str, reason: str | None,
                   run_id: int | None) -> int:
        sha = page.sha256 or hashlib.sha256(page.html).hexdigest()
        fetched = iso_to_utc_key(page.fetched_at) or utc_key(utc_now())
        row = self._db.execute(
            "SELECT id FROM pages WHERE article_id IS ? AND html_sha256 = ?", (article_id, sha)
        ).fetchone()
        if row is not None:
            # The same bytes again: keep one copy, remember the latest fetch and its outcome.
            self._write(
                "UPDATE pages SET fetched_at = ?, outcome = ?, reason = ?, run_id = ?, url = ?, mirror = ? "
                "WHERE id = ?",
                (fetched, outcome, reason, run_id, page.url, page.mirror, row[0]),
            )
            return int(row[0])
        minimal = page.headers is None
        headers = _minimal_headers(page.encoding) if page.headers is None else [list(h) for h in page.headers]
        cur = self._write(
            "INSERT INTO pages (article_id, url, mirror, status, encoding, fetched_at, html_sha256, size, html,"
            " outcome, reason, run_id, headers, headers_minimal, fetched_from, archived_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (article_id, page.url, page.mirror, page.status, page.encoding, fetched, sha, len(page.html),
             page.compressed or zlib.compress(page.html, ZLIB_LEVEL), outcome, reason, run_id,
             json.dumps(headers, ensure_ascii=False), int(minimal), page.fetched_from,
             iso_to_utc_key(page.archived_at)),
        )
        return int(cur.lastrowid or 0)

    def save_article(self, article: Article | Mapping[str, Any], page: Page | None,
                     run_id: int | None) -> SaveOutcome:
        """Store one extracted article (and its raw page): "new", "updated" (a new version because the
        content hash changed) or "unchanged" (metadata such as `modified` refreshed in place)."""
        item = article.to_dict() if isinstance(article, Article) else article
        data = {name: item.get(name) for name in ARTICLE_FIELDS}
        article_id = str(data["article_id"] or "")
        if not article_id:
            raise ValueError("item has no article_id")
        digest = str(data.get("content_hash") or "")
        now = utc_key(utc_now())
        page_id = self._save_page(article_id, page, "article", None, run_id) if page is not None else None
        current = self._db.execute(
            "SELECT version, content_hash FROM articles WHERE article_id = ?", (article_id,)
        ).fetchone()
        item_json = json.dumps(data, ensure_ascii=False, sort_keys=False)
        published_utc = iso_to_utc_key(data.get("published"))
        modified_utc = iso_to_utc_key(data.get("modified"))
        outcome: SaveOutcome
        if current is None or current[1] != digest:
            version = 1 if current is None else int(current[0]) + 1
            if current is None:
                self._write(
                    "INSERT INTO articles (article_id, url, title, section, published, published_utc,"
                    " modified_utc, content_hash, version, first_seen, changed_at, last_seen, first_run,"
                    " last_run) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (article_id, data["url"], data["title"], data["section"], data["published"], published_utc,
                     modified_utc, digest, version, now, now, now, run_id, run_id),
                )
                outcome = "new"
            else:
                self._write(
                    "UPDATE articles SET url=?, title=?, section=?, published=?, published_utc=?, modified_utc=?,"
                    " content_hash=?, version=?, changed_at=?, last_seen=?, last_run=? WHERE article_id=?",
                    (data["url"], data["title"], data["section"], data["published"], published_utc,
                     modified_utc, digest, version, now, now, run_id, article_id),
                )
                outcome = "updated"
            self._write(
                "INSERT INTO versions (article_id, version, content_hash, modified, item, extractor_version,"
                " stored_at, run_id, page_id) VALUES (?,?,?,?,?,?,?,?,?)",
                (article_id, version, digest, data.get("modified"), item_json, data.get("extractor_version"),
                 now, run_id, page_id),
            )
        else:
            version = int(current[0])
            self._refresh_metadata(article_id, version, data, item_json, published_utc, modified_utc, now, run_id)
            outcome = "unchanged"
        self._pending += 1
        self.maybe_commit()
        return outcome

    def _refresh_metadata(self, article_id: str, version: int, data: dict[str, Any], item_json: str,
                          published_utc: str | None, modified_utc: str | None, now: str,
                          run_id: int | None) -> bool:
        """Same text, possibly new metadata (a moved `modified`, a fixed lead): update the current version
        in place, since versions count text changes only."""
        stored = self._db.execute(
            "SELECT item FROM versions WHERE article_id = ? AND version = ?", (article_id, version)
        ).fetchone()
        old = json.loads(stored[0]) if stored else {}
        if {k: v for k, v in old.items() if k not in _VOLATILE} != {
            k: v for k, v in data.items() if k not in _VOLATILE
        }:
            self._write(
                "UPDATE versions SET item = ?, modified = ?, extractor_version = ?"
                " WHERE article_id = ? AND version = ?",
                (item_json, data.get("modified"), data.get("extractor_version"), article_id, version),
            )
            self._write(
                "UPDATE articles SET url=?, title=?, section=?, published=?, published_utc=?, modified_utc=?,"
                " last_seen=?, last_run=? WHERE article_id=?",
                (data["url"], data["title"], data["section"], data["published"], published_utc, modified_utc,
                 now, run_id, article_id),
            )
            return True
        self._write("UPDATE articles SET last_seen=?, last_run=? WHERE article_id=?", (now, run_id, article_id))
        return False

    def record_failure(
        self,
        run_id: int | None,
        kind: str,
        url: str,
        article_id: str | None,
        reason: str,
        status: int | None = None,
        page: Page | None = None,
    ) -> None:
        """Record a page that failed: `fetch` (no mirror served it), `refused` (not an article) or `crashed`
        (extraction raised); the raw page is kept when given, so `reextract` can try it again."""
        page_id = None
        if page is not None and page.html:
            page_id = self._save_page(article_id, page, kind, reason, run_id)
        self._write(
            "INSERT INTO failures (run_id, at, kind, url, article_id, status, reason, page_id)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (run_id, utc_key(utc_now()), kind, url, article_id, status, " ".join(str(reason).split()), page_id),
        )
        self._pending += 1
        self.maybe_commit()

    # ---- runs -----------------------------------------------------------------------------------

    def begin_run(self, spider: str, args: dict[str, Any], uid: str | None = None) -> int:
        """Record a run as started (committed at once, so `crawler runs` shows it while it runs).

        Runs still marked running whose process is gone were killed: they are marked so here."""
        self.commit()
        for run_id, pid in self._db.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall():
            if pid is None or not _pid_alive(int(pid)) or int(pid) == os.getpid():
                self._write("UPDATE runs SET status = 'killed', finish_reason = 'process died' WHERE id = ?",
                            (run_id,))
        cur = self._write(
            "INSERT INTO runs (uid, spider, args, pid, started_at, status) VALUES (?,?,?,?,?, 'running')",
            (uid, spider, json.dumps(args, ensure_ascii=False, default=str), os.getpid(), utc_key(utc_now())),
        )
        self.commit()
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, **values: Any) -> None:
        """Record a run's end: any of status, finish_reason, exit_status, the counts, mirrors, warnings,
        stats (lists and dicts are stored as JSON). Committed at once."""
        allowed = {"status", "finish_reason", "exit_status", "new", "updated", "unchanged", "skipped", "failed",
                   "refused", "mirrors", "warnings", "stats", "finished_at"}
        values.setdefault("finished_at", utc_key(utc_now()))
        cols = []
        params: list[Any] = []
        for key, value in values.items():
            if key not in allowed:
                raise ValueError(f"unknown run column {key}")
            if isinstance(value, list | dict):
                value = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
            cols.append(f"{key} = ?")
            params.append(value)
        self._write(f"UPDATE runs SET {', '.join(cols)} WHERE id = ?", (*params, run_id))
        self.commit()

    def record_external_run(self, uid: str, spider: str, exit_status: int, reason: str,
                            started_at: str, args: dict[str, Any] | None = None) -> None:
        """For the scheduler: make sure the run it started shows up with its exit status, even when the crawl
        died before it could write its own row."""
        row = self._db.execute("SELECT id, status FROM runs WHERE uid = ?", (uid,)).fetchone()
        if row is None:
            self._write(
                "INSERT INTO runs (uid, spider, args, started_at, finished_at, status, finish_reason, exit_status)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (uid, spider, json.dumps(args or {}, default=str), started_at, utc_key(utc_now()),
                 "failed" if exit_status else "ok", reason, exit_status),
            )
        else:
            status = row[1]
            if status == "running":
                status = "killed"
            self._write("UPDATE runs SET exit_status = ?, status = ? WHERE id = ?", (exit_status, status, row[0]))
        self.commit()

    def runs(self, limit: int = 20) -> list[RunRow]:
        rows = self._db.execute(
            "SELECT id, uid, spider, started_at, finished_at, status, exit_status, new, updated, unchanged,"
            " skipped, failed, refused, mirrors, warnings, stats FROM runs ORDER BY id DESC LIMIT ?",
            (int(limit),),
        ).fetchall()
        out = []
        for r in reversed(rows):
            out.append(RunRow(
                id=r[0], uid=r[1], spider=r[2], started_at=r[3], finished_at=r[4], status=r[5], exit_status=r[6],
                new=r[7], updated=r[8], unchanged=r[9], skipped=r[10], failed=r[11], refused=r[12],
                mirrors=json.loads(r[13] or "[]"), warnings=json.loads(r[14] or "[]"),
                stats=json.loads(r[15] or "{}"),
            ))
        return out

    def previous_source_counts(self, spider: str) -> dict[str, int]:
        """Per discovery source, the article links found by the latest finished run of `spider` that read it."""
        counts: dict[str, int] = {}
        rows = self._db.execute(
            "SELECT stats FROM runs WHERE spider = ? AND status IN ('ok', 'alarm') ORDER BY id DESC LIMIT 20",
            (spider,),
        ).fetchall()
        for (stats_json,) in rows:
            stats = json.loads(stats_json or "{}")
            for key, value in stats.items():
                if key.startswith("discovery/") and key.endswith("/article_links"):
                    name = key.split("/")[1]
                    counts.setdefault(name, int(value))
        return counts

    # ---- exports and re-extraction --------------------------------------------------------------

    @staticmethod
    def _where(flt: ExportFilter) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if flt.since:
            clauses.append("a.published_utc >= ?")
            params.append(flt.since)
        if flt.until:
            clauses.append("a.published_utc < ?")
            params.append(flt.until)
        if flt.section:
            clauses.append("lower(a.section) = lower(?)")
            params.append(flt.section)
        if flt.changed_since:
            clauses.append("a.changed_at >= ?")
            params.append(flt.changed_since)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def count_export(self, flt: ExportFilter) -> int:
        where, params = self._where(flt)
        return int(self._db.execute(f"SELECT count(*) FROM articles a{where}", params).fetchone()[0])

    def iter_export(self, flt: ExportFilter) -> Iterator[dict[str, Any]]:
        """The current version of every matching article, oldest publication first (streamed)."""
        where, params = self._where(flt)
        cur = self._db.execute(
            "SELECT v.item FROM articles a JOIN versions v ON v.article_id = a.article_id AND v.version = a.version"
            f"{where} ORDER BY a.published_utc, a.article_id",
            params,
        )
        for (item_json,) in cur:
            yield json.loads(item_json)

    def count_reextract(self, flt: ExportFilter) -> int:
        where, params = self._reextract_where(flt)
        return int(self._db.execute(
            f"SELECT count(DISTINCT p.article_id) FROM pages p LEFT JOIN articles a USING (article_id){where}",
            params,
        ).fetchone()[0])

    def _reextract_where(self, flt: ExportFilter) -> tuple[str, list[Any]]:
        where, params = self._where(flt)
        extra = "p.article_id IS NOT NULL"
        return (where + " AND " + extra) if where else " WHERE " + extra, params

    def iter_reextract(self, flt: ExportFilter) -> Iterator[tuple[str, int, str, str | None, bytes]]:
        """Per article, its best raw page: the latest that gave an article, else the latest fetched.

        Yields (article_id, page_id, url, encoding, zlib-compressed html)."""
        where, params = self._reextract_where(flt)
        cur = self._db.execute(
            "SELECT p.article_id, p.id, p.url, p.encoding, p.html FROM pages p LEFT JOIN articles a"
            f" USING (article_id){where} AND p.id = (SELECT p2.id FROM pages p2 WHERE p2.article_id = p.article_id"
            " ORDER BY p2.outcome = 'article' DESC, p2.fetched_at DESC, p2.id DESC LIMIT 1)"
            " ORDER BY p.article_id",
            params,
        )
        for row in cur:
            yield str(row[0]), int(row[1]), str(row[2]), row[3], bytes(row[4])

    @staticmethod
    def _pages_where(flt: ExportFilter) -> tuple[str, list[Any]]:
        where, params = SQLiteStore._where(flt)
        if not where:
            return "", params
        return f" WHERE p.article_id IN (SELECT a.article_id FROM articles a{where})", params

    def count_pages(self, flt: ExportFilter) -> int:
        where, params = self._pages_where(flt)
        return int(self._db.execute(f"SELECT count(*) FROM pages p{where}", params).fetchone()[0])

    def iter_pages(self, flt: ExportFilter) -> Iterator[StoredPage]:
        """Every stored raw page (of the matching articles, when filtered), in the order they were stored."""
        where, params = self._pages_where(flt)
        cur = self._db.execute(
            "SELECT p.id, p.article_id, p.url, p.status, p.headers, p.headers_minimal, p.fetched_at,"
            f" p.fetched_from, p.archived_at, p.outcome, p.html, p.encoding FROM pages p{where} ORDER BY p.id",
            params,
        )
        for row in cur:
            headers = json.loads(row[4]) if row[4] else _minimal_headers(row[11])
            yield StoredPage(
                id=int(row[0]), article_id=row[1], url=str(row[2]), status=row[3],
                headers=[(str(k), str(v)) for k, v in headers], headers_minimal=bool(row[5]) or not row[4],
                fetched_at=str(row[6]), fetched_from=str(row[7] or "live"), archived_at=row[8],
                outcome=str(row[9]), html=zlib.decompress(bytes(row[10])),
            )

    def save_reextracted(self, article: Article | Mapping[str, Any], page_id: int) -> str:
        """Store a re-extraction of stored page `page_id` (a new version only if the text changed):
        "new", "updated" (new version), "metadata" (same text, other fields rewritten) or "unchanged"."""
        data = article.to_dict() if isinstance(article, Article) else dict(article)
        self._write("UPDATE pages SET outcome = 'article', reason = NULL WHERE id = ?", (page_id,))
        current = self._db.execute(
            "SELECT version, content_hash FROM articles WHERE article_id = ?", (str(data["article_id"]),)
        ).fetchone()
        if current is not None and current[1] == data.get("content_hash"):
            rewritten = self._refresh_metadata(
                str(data["article_id"]), int(current[0]), {k: data.get(k) for k in ARTICLE_FIELDS},
                json.dumps({k: data.get(k) for k in ARTICLE_FIELDS}, ensure_ascii=False),
                iso_to_utc_key(data.get("published")), iso_to_utc_key(data.get("modified")),
                utc_key(utc_now()), None,
            )
            self._pending += 1
            self.maybe_commit()
            return "metadata" if rewritten else "unchanged"
        outcome = self.save_article(data, None, None)
        if outcome in ("new", "updated"):
            self._write(
                "UPDATE versions SET page_id = ? WHERE article_id = ? AND version ="
                " (SELECT version FROM articles WHERE article_id = ?)",
                (page_id, str(data["article_id"]), str(data["article_id"])),
            )
        return outcome

    def integrity_check(self) -> str:
        """SQLite's own integrity check: "ok" when the file is sound."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])

    def count_first_stored(self, run_id: int) -> int:
        """Articles whose first version this run stored (committed ones: a rolled-back batch is not counted)."""
        return int(self._db.execute("SELECT count(*) FROM articles WHERE first_run = ?", (run_id,)).fetchone()[0])

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only query helper for tests and diagnostics."""
        return list(self._db.execute(sql, params).fetchall())
