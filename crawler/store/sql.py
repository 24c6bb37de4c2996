"""What every SQL store shares: the tables' meaning, batched writes with replay after a lost lock race, and the
queries of the `ArticleStore` protocol; a backend adds its connection, schema, dialect and error wording."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, TypeVar, cast

from crawler.core.items import ARTICLE_FIELDS, Article
from crawler.core.redact import redact, redact_json
from crawler.store import (
    ExportFilter,
    IdRangeFacts,
    Page,
    Period,
    PeriodCounts,
    RunRow,
    SaveOutcome,
    StoredArticle,
    StoredPage,
    StoredVersion,
    StoreError,
    StoreNeedsUpgrade,
)
from crawler.store.when import iso_to_utc_key, utc_key, utc_now

logger = logging.getLogger(__name__)

COMMIT_ITEMS = 100
"""Default batch size: a transaction is committed after this many writes..."""
COMMIT_SECONDS = 2.0
"""...or when this many seconds passed since its first write, whichever comes first."""

ZLIB_LEVEL = 3
"""zlib level for raw pages: 2x faster than the default 6 on Press TV-sized pages for ~5% more bytes
(the extraction worker compresses each page, off the crawl's reactor thread)."""

CONFLICT_RETRIES = 8
"""How often a batch chosen as a deadlock victim is replayed before the write fails."""

# Fields that differ between two extractions of the same text without the article having changed.
_VOLATILE = frozenset({"extracted_at", "source_url", "mirror", "fetched_from", "archived_at"})

_RUN_COLUMNS = frozenset(
    {
        "status",
        "finish_reason",
        "exit_status",
        "new",
        "updated",
        "unchanged",
        "skipped",
        "failed",
        "refused",
        "mirrors",
        "warnings",
        "stats",
        "finished_at",
    }
)


def headline_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether the title or lead differs between two items (whitespace aside): with the body's content hash,
    what makes an edit a new version. Headline and lead edits are often the telling ones."""
    return any(
        " ".join(str(old.get(f) or "").split()) != " ".join(str(new.get(f) or "").split()) for f in ("title", "lead")
    )


class Conflict(StoreError):
    """The server gave up one of two writers waiting on each other's rows (deadlock): the open batch was rolled
    back and can be written again as it was."""


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


def minimal_headers(encoding: str | None) -> list[list[str]]:
    """The header set a page stored without its headers gets: its content type and the charset it was read in."""
    return [["Content-Type", "text/html" + (f"; charset={encoding}" if encoding else "")]]


def one_line(exc: BaseException) -> str:
    """An exception's message on one line, passwords masked."""
    return redact(" ".join(str(exc).split())) or type(exc).__name__


_W = TypeVar("_W", bound=Callable[..., Any])


def batched_write(method: _W) -> _W:
    """A write that belongs to the open batch: counted towards its size, committed with it, and remembered so
    that when the server picks this batch as a deadlock victim, the whole batch is written again."""

    @functools.wraps(method)
    def wrapper(self: SQLStore, *args: Any, **kwargs: Any) -> Any:
        if self._depth:
            return method(self, *args, **kwargs)
        self._depth = 1
        try:
            for attempt in range(1, CONFLICT_RETRIES + 1):
                try:
                    if self._replay:
                        for op, op_args, op_kwargs in self._ops:
                            op(self, *op_args, **op_kwargs)
                        self._replay = False
                    result = method(self, *args, **kwargs)
                    break
                except Conflict as exc:
                    if attempt == CONFLICT_RETRIES:
                        self._ops.clear()
                        self._replay = False
                        raise
                    logger.info("store %s: batch of %d writes written again (%s)", self.path, len(self._ops) + 1, exc)
                    self._replay = True
                    time.sleep(random.uniform(0.01, 0.05) * attempt)  # let the other writer finish first
            self._ops.append((method, args, kwargs))
            self._pending += 1
        finally:
            self._depth = 0
        self.maybe_commit()
        return result

    return cast(_W, wrapper)


def _window(column: str, flt: ExportFilter) -> tuple[list[str], list[Any]]:
    """WHERE clauses and parameters keeping `column` within the filter's since (inclusive)..until (exclusive)."""
    clauses: list[str] = []
    params: list[Any] = []
    if flt.since:
        clauses.append(f"{column} >= ?")
        params.append(flt.since)
    if flt.until:
        clauses.append(f"{column} < ?")
        params.append(flt.until)
    return clauses, params


class SQLStore:
    """Articles, their versions, raw pages, failures and runs in SQL tables, written in batches.

    Writes go into one open transaction committed every `commit_items` writes or `commit_seconds` seconds (and
    at `commit`/`close`): a crash loses at most the uncommitted batch, and since the incremental check reads
    the store, a rerun fetches exactly those articles again. Writers lock an article's row before changing it,
    so two writers storing the same article at once give one article and at most one new version.
    """

    path: str
    """The store as shown to users (a URL's password masked)."""
    readonly: bool
    commit_items: int
    commit_seconds: float

    _begin_sql = "BEGIN"
    _for_update = ""
    """Appended to a read of the row about to be changed: the backend's row lock, if it has one."""

    def _init_batching(self, commit_items: int, commit_seconds: float) -> None:
        self.commit_items = max(1, int(commit_items))
        self.commit_seconds = float(commit_seconds)
        self._pending = 0
        self._batch_started = 0.0
        self._ops: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []
        self._replay = False
        self._depth = 0

    # ---- what a backend provides ------------------------------------------------------------------

    def _execute(self, sql: str, params: tuple[Any, ...] | list[Any]) -> Cursor:
        """Run one statement (written with `?` placeholders) as the driver does, errors untouched."""
        raise NotImplementedError

    def _in_transaction(self) -> bool:
        raise NotImplementedError

    def _is_driver_error(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def _is_conflict(self, exc: BaseException) -> bool:
        """True for errors after which the batch may simply be written again (deadlock victim)."""
        return False

    def _explain(self, exc: BaseException) -> str:
        """One line for a driver error, saying what the user can do."""
        raise NotImplementedError

    def _stream(self, sql: str, params: list[Any]) -> Iterator[Any]:
        """The rows of a long query, fetched as they are read (not all in memory)."""
        return iter(self._execute(sql, params))

    def _run_alive(self, run_id: int, pid: int | None) -> bool:
        """Whether the process that began run `run_id` still runs it."""
        raise NotImplementedError

    def _claim_run(self, run_id: int) -> None:
        """Mark run `run_id` as this process's, for `_run_alive` elsewhere (inside begin_run's transaction)."""

    def _close_connection(self) -> None:
        raise NotImplementedError

    def _missing(self) -> StoreError:
        """The error for a store that is not there (yet) where one must be."""
        return StoreError(f"no store at {self.path} (run a crawl first, or give --store PATH)")

    def _needs_upgrade(self, current: int, latest: int) -> bool:
        """Whether a store at schema version `current` is to be migrated to `latest`; StoreError when it is newer
        than this crawler, or older and opened read-only."""
        if current > latest:
            raise StoreError(
                f"store {self.path} has schema version {current}, newer than this crawler's {latest}; "
                "upgrade the crawler"
            )
        if current < latest and self.readonly:
            raise StoreNeedsUpgrade(
                f"store {self.path} needs a schema upgrade (version {current} to {latest});"
                " open it once without read-only"
            )
        return current < latest

    # ---- statements and transactions --------------------------------------------------------------

    def _fail(self, exc: BaseException) -> StoreError:
        """Roll the batch back after a driver error; the error to raise (Conflict when it may be replayed)."""
        self._rollback()
        if self._is_conflict(exc):
            return Conflict(self._explain(exc))
        self._ops.clear()
        return StoreError(self._explain(exc))

    def _read(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        try:
            return list(self._execute(sql, params).fetchall())
        except Exception as exc:
            if not self._is_driver_error(exc):
                raise
            raise self._fail(exc) from None

    def _read_one(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        rows = self._read(sql, params)
        return rows[0] if rows else None

    def _begin(self) -> None:
        self._execute(self._begin_sql, ())
        self._batch_started = time.monotonic()

    def _write(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Cursor:
        try:
            if not self._in_transaction():
                self._begin()
            return self._execute(sql, params)
        except Exception as exc:
            if not self._is_driver_error(exc):
                raise
            raise self._fail(exc) from None

    def _rollback(self) -> None:
        try:
            if self._in_transaction():
                self._execute("ROLLBACK", ())
        except Exception as exc:
            if not self._is_driver_error(exc):
                raise
        self._pending = 0

    def commit(self) -> None:
        """Commit the open batch; on failure nothing of it is kept and StoreError says why."""
        if self.readonly or not self._in_transaction():
            self._pending = 0
            self._ops.clear()
            return
        try:
            self._execute("COMMIT", ())
        except Exception as exc:
            if not self._is_driver_error(exc):
                raise
            self._rollback()
            self._ops.clear()
            raise StoreError(self._explain(exc)) from None
        self._pending = 0
        self._ops.clear()

    def maybe_commit(self) -> None:
        """Commit when the batch is full or old enough (called after every write and by a timer)."""
        if self.readonly or not self._in_transaction():
            return
        if self._pending >= self.commit_items or time.monotonic() - self._batch_started >= self.commit_seconds:
            self.commit()

    @property
    def pending(self) -> int:
        """Writes in the open, uncommitted batch."""
        return self._pending

    def close(self) -> None:
        """Commit what is pending and release the connection (and a backend's lock)."""
        if getattr(self, "_db", None) is None:
            return
        try:
            self.commit()
        finally:
            self._close_connection()

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Read-only query helper for tests and diagnostics (`?` placeholders on every backend)."""
        return [tuple(row) for row in self._read(sql, params)]

    # ---- articles -----------------------------------------------------------------------------------

    def lookup(self, article_id: str) -> StoredArticle | None:
        row = self._read_one(
            "SELECT version, content_hash, published_utc, modified_utc FROM articles WHERE article_id = ?",
            (str(article_id),),
        )
        if row is None:
            return None
        return StoredArticle(str(article_id), row[0], row[1], row[2], row[3])

    def _current(self, article_id: str) -> Any:
        """(version, content_hash) of a stored article, its row locked until the batch commits; None if new."""
        return self._write(
            f"SELECT version, content_hash FROM articles WHERE article_id = ?{self._for_update}", (article_id,)
        ).fetchone()

    def _save_page(
        self, article_id: str | None, page: Page, outcome: str, reason: str | None, run_id: int | None
    ) -> int:
        sha = page.sha256 or hashlib.sha256(page.html).hexdigest()
        fetched = iso_to_utc_key(page.fetched_at) or utc_key(utc_now())
        same = (
            "SELECT id FROM pages WHERE article_id IS NULL AND html_sha256 = ?"
            if article_id is None
            else "SELECT id FROM pages WHERE article_id = ? AND html_sha256 = ?"
        )
        key = (sha,) if article_id is None else (article_id, sha)
        row = self._write(same, key).fetchone()
        if row is None:
            minimal = page.headers is None
            headers = minimal_headers(page.encoding) if page.headers is None else [list(h) for h in page.headers]
            # DO NOTHING: another writer may have stored the same bytes since; then its row is updated below.
            row = self._write(
                "INSERT INTO pages (article_id, url, mirror, status, encoding, fetched_at, html_sha256, size, html,"
                " outcome, reason, run_id, headers, headers_minimal, fetched_from, archived_at)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (article_id, html_sha256) DO NOTHING"
                " RETURNING id",
                (
                    article_id,
                    page.url,
                    page.mirror,
                    page.status,
                    page.encoding,
                    fetched,
                    sha,
                    len(page.html),
                    page.compressed or zlib.compress(page.html, ZLIB_LEVEL),
                    outcome,
                    reason,
                    run_id,
                    json.dumps(headers, ensure_ascii=False),
                    int(minimal),
                    page.fetched_from,
                    iso_to_utc_key(page.archived_at),
                ),
            ).fetchone()
            if row is not None:
                return int(row[0])
            row = self._write(same, key).fetchone()
        # The same bytes again: keep one copy, remember the latest fetch and its outcome.
        self._write(
            "UPDATE pages SET fetched_at = ?, outcome = ?, reason = ?, run_id = ?, url = ?, mirror = ? WHERE id = ?",
            (fetched, outcome, reason, run_id, page.url, page.mirror, row[0]),
        )
        return int(row[0])

    @batched_write
    def save_article(self, article: Article | Mapping[str, Any], page: Page | None, run_id: int | None) -> SaveOutcome:
        """Store one extracted article (and its raw page): "new", "updated" (a new version because the title,
        lead or body (content hash) changed) or "unchanged" (metadata such as `modified` refreshed in place)."""
        item = article.to_dict() if isinstance(article, Article) else article
        data = {name: item.get(name) for name in ARTICLE_FIELDS}
        article_id = str(data["article_id"] or "")
        if not article_id:
            raise ValueError("item has no article_id")
        digest = str(data.get("content_hash") or "")
        now = utc_key(utc_now())
        page_id = self._save_page(article_id, page, "article", None, run_id) if page is not None else None
        item_json = json.dumps(data, ensure_ascii=False, sort_keys=False)
        published_utc = iso_to_utc_key(data.get("published"))
        modified_utc = iso_to_utc_key(data.get("modified"))
        current = self._current(article_id)
        if current is None:
            created = self._write(
                "INSERT INTO articles (article_id, url, title, section, published, published_utc,"
                " modified_utc, content_hash, version, first_seen, changed_at, last_seen, first_run,"
                " last_run) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (article_id) DO NOTHING"
                " RETURNING article_id",
                (
                    article_id,
                    data["url"],
                    data["title"],
                    data["section"],
                    data["published"],
                    published_utc,
                    modified_utc,
                    digest,
                    1,
                    now,
                    now,
                    now,
                    run_id,
                    run_id,
                ),
            ).fetchone()
            if created is not None:
                self._insert_version(article_id, 1, digest, data, item_json, now, run_id, page_id)
                return "new"
            # Another writer stored it first (its insert committed while ours waited): one article, go on as
            # for a stored one.
            current = self._current(article_id)
        stored = self._write(
            "SELECT item FROM versions WHERE article_id = ? AND version = ?", (article_id, int(current[0]))
        ).fetchone()
        old_item = json.loads(stored[0]) if stored else {}
        if current[1] != digest or headline_changed(old_item, data):
            version = int(current[0]) + 1
            self._write(
                "UPDATE articles SET url=?, title=?, section=?, published=?, published_utc=?, modified_utc=?,"
                " content_hash=?, version=?, changed_at=?, last_seen=?, last_run=? WHERE article_id=?",
                (
                    data["url"],
                    data["title"],
                    data["section"],
                    data["published"],
                    published_utc,
                    modified_utc,
                    digest,
                    version,
                    now,
                    now,
                    run_id,
                    article_id,
                ),
            )
            self._insert_version(article_id, version, digest, data, item_json, now, run_id, page_id)
            return "updated"
        self._refresh_metadata(
            article_id, int(current[0]), data, item_json, published_utc, modified_utc, now, run_id, old_item
        )
        return "unchanged"

    def _insert_version(
        self,
        article_id: str,
        version: int,
        digest: str,
        data: dict[str, Any],
        item_json: str,
        now: str,
        run_id: int | None,
        page_id: int | None,
    ) -> None:
        self._write(
            "INSERT INTO versions (article_id, version, content_hash, modified, item, extractor_version,"
            " stored_at, run_id, page_id) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                article_id,
                version,
                digest,
                data.get("modified"),
                item_json,
                data.get("extractor_version"),
                now,
                run_id,
                page_id,
            ),
        )

    def _refresh_metadata(
        self,
        article_id: str,
        version: int,
        data: dict[str, Any],
        item_json: str,
        published_utc: str | None,
        modified_utc: str | None,
        now: str,
        run_id: int | None,
        old: dict[str, Any] | None = None,
    ) -> bool:
        """Same text, possibly new metadata (a moved `modified`, a new section): update the current version
        in place, since versions count changes of the text (title, lead, body) only."""
        if old is None:
            stored = self._write(
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
                (
                    data["url"],
                    data["title"],
                    data["section"],
                    data["published"],
                    published_utc,
                    modified_utc,
                    now,
                    run_id,
                    article_id,
                ),
            )
            return True
        self._write("UPDATE articles SET last_seen=?, last_run=? WHERE article_id=?", (now, run_id, article_id))
        return False

    @batched_write
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

    @batched_write
    def save_reextracted(self, article: Article | Mapping[str, Any], page_id: int) -> str:
        """Store a re-extraction of stored page `page_id` (a new version only if the text changed):
        "new", "updated" (new version), "metadata" (same text, other fields rewritten) or "unchanged"."""
        data = article.to_dict() if isinstance(article, Article) else dict(article)
        article_id = str(data["article_id"])
        self._write("UPDATE pages SET outcome = 'article', reason = NULL WHERE id = ?", (page_id,))
        current = self._current(article_id)
        if current is not None and current[1] == data.get("content_hash"):
            rewritten = self._refresh_metadata(
                article_id,
                int(current[0]),
                {k: data.get(k) for k in ARTICLE_FIELDS},
                json.dumps({k: data.get(k) for k in ARTICLE_FIELDS}, ensure_ascii=False),
                iso_to_utc_key(data.get("published")),
                iso_to_utc_key(data.get("modified")),
                utc_key(utc_now()),
                None,
            )
            return "metadata" if rewritten else "unchanged"
        outcome = self.save_article(data, None, None)
        if outcome in ("new", "updated"):
            self._write(
                "UPDATE versions SET page_id = ? WHERE article_id = ? AND version ="
                " (SELECT version FROM articles WHERE article_id = ?)",
                (page_id, article_id, article_id),
            )
        return outcome

    # ---- runs ---------------------------------------------------------------------------------------

    def begin_run(self, spider: str, args: dict[str, Any], uid: str | None = None) -> int:
        """Record a run as started (committed at once, so `crawler runs` shows it while it runs).

        Runs still marked running whose process is gone were killed: they are marked so here."""
        self.commit()
        for run_id, pid in self._read("SELECT id, pid FROM runs WHERE status = 'running'"):
            if not self._run_alive(int(run_id), None if pid is None else int(pid)):
                self._write("UPDATE runs SET status = 'killed', finish_reason = 'process died' WHERE id = ?", (run_id,))
        row = self._write(
            "INSERT INTO runs (uid, spider, args, pid, started_at, status) VALUES (?,?,?,?,?, 'running') RETURNING id",
            (uid, spider, _json(args), os.getpid(), utc_key(utc_now())),
        ).fetchone()
        run_id = int(row[0])
        self._claim_run(run_id)
        self.commit()
        return run_id

    def finish_run(self, run_id: int, **values: Any) -> None:
        """Record a run's end: any of status, finish_reason, exit_status, the counts, mirrors, warnings,
        stats (lists and dicts are stored as JSON). Committed at once."""
        values.setdefault("finished_at", utc_key(utc_now()))
        cols = []
        params: list[Any] = []
        for key, value in values.items():
            if key not in _RUN_COLUMNS:
                raise ValueError(f"unknown run column {key}")
            if isinstance(value, list | dict):
                value = _json(value, sort_keys=True)
            elif isinstance(value, str):
                value = redact(value)
            cols.append(f"{key} = ?")
            params.append(value)
        self._write(f"UPDATE runs SET {', '.join(cols)} WHERE id = ?", (*params, run_id))
        self.commit()

    def record_external_run(
        self, uid: str, spider: str, exit_status: int, reason: str, started_at: str, args: dict[str, Any] | None = None
    ) -> None:
        """For the scheduler: make sure the run it started shows up with its exit status, even when the crawl
        died before it could write its own row."""
        row = self._read_one("SELECT id, status FROM runs WHERE uid = ?", (uid,))
        if row is None:
            self._write(
                "INSERT INTO runs (uid, spider, args, started_at, finished_at, status, finish_reason, exit_status)"
                " VALUES (?,?,?,?,?,?,?,?)",
                (
                    uid,
                    spider,
                    _json(args or {}),
                    started_at,
                    utc_key(utc_now()),
                    "failed" if exit_status else "ok",
                    redact(reason),
                    exit_status,
                ),
            )
        else:
            status = row[1]
            if status == "running":
                status = "killed"
            self._write("UPDATE runs SET exit_status = ?, status = ? WHERE id = ?", (exit_status, status, row[0]))
        self.commit()

    def runs(self, limit: int = 20) -> list[RunRow]:
        rows = self._read(
            "SELECT id, uid, spider, started_at, finished_at, status, exit_status, new, updated, unchanged,"
            " skipped, failed, refused, mirrors, warnings, stats FROM runs ORDER BY id DESC LIMIT ?",
            (int(limit),),
        )
        out = []
        for r in reversed(rows):
            out.append(
                RunRow(
                    id=r[0],
                    uid=r[1],
                    spider=r[2],
                    started_at=r[3],
                    finished_at=r[4],
                    status=r[5],
                    exit_status=r[6],
                    new=r[7],
                    updated=r[8],
                    unchanged=r[9],
                    skipped=r[10],
                    failed=r[11],
                    refused=r[12],
                    mirrors=json.loads(r[13] or "[]"),
                    warnings=json.loads(r[14] or "[]"),
                    stats=json.loads(r[15] or "{}"),
                )
            )
        return out

    def previous_source_counts(self, spider: str) -> dict[str, int]:
        """Per discovery source, the article links found by the latest finished run of `spider` that read it."""
        counts: dict[str, int] = {}
        rows = self._read(
            "SELECT stats FROM runs WHERE spider = ? AND status IN ('ok', 'alarm') ORDER BY id DESC LIMIT 20",
            (spider,),
        )
        for (stats_json,) in rows:
            stats = json.loads(stats_json or "{}")
            for key, value in stats.items():
                if key.startswith("discovery/") and key.endswith("/article_links"):
                    name = key.split("/")[1]
                    counts.setdefault(name, int(value))
        return counts

    def count_first_stored(self, run_id: int) -> int:
        """Articles whose first version this run stored (committed ones: a rolled-back batch is not counted)."""
        return int(self._read_one("SELECT count(*) FROM articles WHERE first_run = ?", (run_id,))[0])

    # ---- WARC imports ---------------------------------------------------------------------------

    def imported_offsets(self, file_key: str) -> set[int]:
        """Offsets of the records of the file known as `file_key` that an import already handled."""
        rows = self._read("SELECT record_offset FROM warc_records WHERE file_key = ?", (file_key,))
        return {int(r[0]) for r in rows}

    @batched_write
    def mark_imported(
        self, file_key: str, offset: int, outcome: str, article_id: str | None, run_id: int | None
    ) -> None:
        """Remember that the record at `offset` of `file_key` was handled (in the same batch as what it stored,
        so a crash keeps both or neither)."""
        self._write(
            "INSERT INTO warc_records (file_key, record_offset, outcome, article_id, run_id) VALUES (?,?,?,?,?)"
            " ON CONFLICT (file_key, record_offset) DO UPDATE SET outcome = excluded.outcome,"
            " article_id = excluded.article_id, run_id = excluded.run_id",
            (file_key, int(offset), outcome, article_id, run_id),
        )

    def newest_capture(self, article_id: str) -> str | None:
        """The latest capture time (UTC key) of a stored page that gave this article: its archive capture time,
        or its fetch time for a live fetch; None when no page gave it."""
        row = self._read_one(
            "SELECT max(coalesce(archived_at, fetched_at)) FROM pages WHERE article_id = ? AND outcome = 'article'",
            (str(article_id),),
        )
        return None if row is None or row[0] is None else str(row[0])

    # ---- reading the corpus: versions, edits -------------------------------------------------------

    def _and_where(self, flt: ExportFilter, first: str) -> tuple[str, list[Any]]:
        """`first` plus the filter's clauses on the articles table (aliased `a`), as one WHERE."""
        where, params = self._where(flt)
        return (f" WHERE {first}" + (" AND " + where[len(" WHERE ") :] if where else "")), params

    def versions(self, article_id: str) -> list[StoredVersion]:
        rows = self._read(
            "SELECT version, stored_at, content_hash, item FROM versions WHERE article_id = ? ORDER BY version",
            (str(article_id),),
        )
        return [StoredVersion(int(r[0]), str(r[1]), str(r[2]), json.loads(r[3])) for r in rows]

    def _period(self, by: Period, column: str) -> str:
        """The SQL expression of the first day (YYYY-MM-DD) of the `by` period holding the UTC key `column`."""
        raise NotImplementedError

    def _id_number(self, column: str) -> str:
        """The SQL expression of the article id `column` as a whole number (the archive table's `id`)."""
        raise NotImplementedError

    # Coverage reads the archive table (one row per stored article with a numeric id, `id` its number), which
    # each backend keeps in step with the current versions.

    def period_counts(self, by: Period, flt: ExportFilter) -> list[PeriodCounts]:
        where, params = self._and_where(flt, "a.published_utc IS NOT NULL")
        rows = self._read(
            f"SELECT {self._period(by, 'a.published_utc')} AS p, coalesce(a.section, ''), count(*), min(r.id),"
            f" max(r.id) FROM articles a JOIN archive r ON r.article_id = a.article_id{where}"
            " GROUP BY 1, 2 ORDER BY 1",
            params,
        )
        out: dict[str, PeriodCounts] = {}
        for start, section, count, low, high in rows:
            period = out.setdefault(str(start), PeriodCounts(str(start), 0, {}, int(low), int(high)))
            period.stored += int(count)
            period.by_section[str(section)] = int(count)
            period.low_id = min(period.low_id, int(low))
            period.high_id = max(period.high_id, int(high))
        for period in out.values():
            # Sections by name, the same on every backend whatever the database's collation.
            period.by_section = dict(sorted(period.by_section.items()))
        return list(out.values())

    def id_range_facts(self, low: int, high: int) -> IdRangeFacts:
        stored = int(self._read_one("SELECT count(*) FROM archive WHERE id BETWEEN ? AND ?", (int(low), int(high)))[0])
        rows = self._read(
            "SELECT f.kind, f.reason, count(*) FROM failures f"
            f" WHERE {self._id_number('f.article_id')} BETWEEN ? AND ?"
            " AND f.id = (SELECT max(f2.id) FROM failures f2 WHERE f2.article_id = f.article_id)"
            " AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.article_id = f.article_id)"
            " GROUP BY f.kind, f.reason",
            (int(low), int(high)),
        )
        return IdRangeFacts(stored, {(str(kind), str(reason)): int(n) for kind, reason, n in rows})

    def edit_counts(self, by: Period, flt: ExportFilter) -> dict[str, int]:
        clauses, params = _window("v.stored_at", flt)
        clauses.insert(0, "v.version > 1")
        rows = self._read(
            f"SELECT {self._period(by, 'v.stored_at')} AS p, count(*) FROM versions v"
            f" WHERE {' AND '.join(clauses)} GROUP BY p ORDER BY p",
            params,
        )
        return {str(p): int(n) for p, n in rows}

    def _edited_where(self, since: str, flt: ExportFilter) -> tuple[str, list[Any]]:
        where, params = self._and_where(flt, "a.version > 1 AND a.changed_at >= ?")
        return where, [since, *params]

    def count_edited(self, since: str, flt: ExportFilter) -> int:
        where, params = self._edited_where(since, flt)
        return int(self._read_one(f"SELECT count(*) FROM articles a{where}", params)[0])

    def iter_edited(self, since: str, flt: ExportFilter) -> Iterator[dict[str, Any]]:
        """Oldest edit first (streamed)."""
        where, params = self._edited_where(since, flt)
        cur = self._guarded(
            self._stream(
                "SELECT v.item, p.version, p.stored_at, p.content_hash, p.item FROM articles a"
                " JOIN versions v ON v.article_id = a.article_id AND v.version = a.version"
                " JOIN versions p ON p.article_id = a.article_id AND p.version = a.version - 1"
                f"{where} ORDER BY a.changed_at, a.article_id",
                params,
            )
        )
        for item_json, version, stored_at, digest, previous_json in cur:
            item = json.loads(item_json)
            previous = json.loads(previous_json)
            item["previous"] = {
                "version": int(version),
                "stored_at": stored_at,
                "title": previous.get("title"),
                "lead": previous.get("lead"),
                "body": previous.get("body"),
                "content_hash": digest,
            }
            yield item

    # ---- exports and re-extraction ------------------------------------------------------------------

    @staticmethod
    def _where(flt: ExportFilter) -> tuple[str, list[Any]]:
        clauses, params = _window("a.published_utc", flt)
        if flt.section:
            clauses.append("lower(a.section) = lower(?)")
            params.append(flt.section)
        if flt.changed_since:
            clauses.append("a.changed_at >= ?")
            params.append(flt.changed_since)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def count_export(self, flt: ExportFilter) -> int:
        where, params = self._where(flt)
        return int(self._read_one(f"SELECT count(*) FROM articles a{where}", params)[0])

    def iter_export(self, flt: ExportFilter) -> Iterator[dict[str, Any]]:
        """The current version of every matching article, oldest publication first (streamed)."""
        where, params = self._where(flt)
        rows = self._guarded(
            self._stream(
                "SELECT v.item FROM articles a JOIN versions v ON v.article_id = a.article_id AND v.version = a.version"
                f"{where} ORDER BY a.published_utc NULLS FIRST, a.article_id",
                params,
            )
        )
        for (item_json,) in rows:
            yield json.loads(item_json)

    def _reextract_where(self, flt: ExportFilter) -> tuple[str, list[Any]]:
        where, params = self._where(flt)
        extra = "p.article_id IS NOT NULL"
        return (where + " AND " + extra) if where else " WHERE " + extra, params

    def count_reextract(self, flt: ExportFilter) -> int:
        where, params = self._reextract_where(flt)
        return int(
            self._read_one(
                f"SELECT count(DISTINCT p.article_id) FROM pages p LEFT JOIN articles a USING (article_id){where}",
                params,
            )[0]
        )

    def iter_reextract(self, flt: ExportFilter) -> Iterator[tuple[str, int, str, str | None, bytes]]:
        """Per article, its best raw page: the latest that gave an article, else the latest fetched.

        Yields (article_id, page_id, url, encoding, zlib-compressed html)."""
        where, params = self._reextract_where(flt)
        rows = self._guarded(
            self._stream(
                "SELECT p.article_id, p.id, p.url, p.encoding, p.html FROM pages p LEFT JOIN articles a"
                f" USING (article_id){where} AND p.id = (SELECT p2.id FROM pages p2 WHERE p2.article_id = p.article_id"
                " ORDER BY p2.outcome = 'article' DESC, p2.fetched_at DESC, p2.id DESC LIMIT 1)"
                " ORDER BY p.article_id",
                params,
            )
        )
        for row in rows:
            yield str(row[0]), int(row[1]), str(row[2]), row[3], bytes(row[4])

    @classmethod
    def _pages_where(cls, flt: ExportFilter) -> tuple[str, list[Any]]:
        where, params = cls._where(flt)
        if not where:
            return "", params
        return f" WHERE p.article_id IN (SELECT a.article_id FROM articles a{where})", params

    def count_pages(self, flt: ExportFilter) -> int:
        where, params = self._pages_where(flt)
        return int(self._read_one(f"SELECT count(*) FROM pages p{where}", params)[0])

    def iter_pages(self, flt: ExportFilter) -> Iterator[StoredPage]:
        """Every stored raw page (of the matching articles, when filtered), in the order they were stored."""
        where, params = self._pages_where(flt)
        rows = self._guarded(
            self._stream(
                "SELECT p.id, p.article_id, p.url, p.status, p.headers, p.headers_minimal, p.fetched_at,"
                f" p.fetched_from, p.archived_at, p.outcome, p.html, p.encoding FROM pages p{where} ORDER BY p.id",
                params,
            )
        )
        for row in rows:
            headers = json.loads(row[4]) if row[4] else minimal_headers(row[11])
            yield StoredPage(
                id=int(row[0]),
                article_id=row[1],
                url=str(row[2]),
                status=row[3],
                headers=[(str(k), str(v)) for k, v in headers],
                headers_minimal=bool(row[5]) or not row[4],
                fetched_at=str(row[6]),
                fetched_from=str(row[7] or "live"),
                archived_at=row[8],
                outcome=str(row[9]),
                html=zlib.decompress(bytes(row[10])),
            )

    def _guarded(self, rows: Iterator[Any]) -> Iterator[Any]:
        """A streamed query whose driver errors (at any row) come out as StoreError."""
        try:
            yield from rows
        except Exception as exc:
            if not self._is_driver_error(exc):
                raise
            raise self._fail(exc) from None

    def consistency(self) -> str:
        """ "ok" when every article has its current version stored, else what is wrong (one line)."""
        missing = int(
            self._read_one(
                "SELECT count(*) FROM articles a LEFT JOIN versions v ON v.article_id = a.article_id"
                " AND v.version = a.version WHERE v.article_id IS NULL"
            )[0]
        )
        return "ok" if not missing else f"{missing} articles lack their current version"


def _json(value: Any, *, sort_keys: bool = False) -> str:
    """JSON for a run column, with any URL's password masked (run arguments and stats can name URLs)."""
    return redact_json(value, ensure_ascii=False, sort_keys=sort_keys)


__all__ = [
    "COMMIT_ITEMS",
    "COMMIT_SECONDS",
    "ZLIB_LEVEL",
    "Conflict",
    "SQLStore",
    "batched_write",
    "minimal_headers",
    "one_line",
]
