"""WARC import service: the outlet's article pages in WARC/ARC files, extracted on every core, stored as crawled.

It uses the WARC reader (`crawler.archives.warc.read_pages`), the crawl's extraction worker
(`crawler.pool.extraction.ExtractionPool`) and the store through their public APIs. Every record is read once, in file
order. What an import decides, per record of an outlet article URL:

- A capture older than a page the store already has for the article (an archive capture or a live fetch) is
  not stored ("older than stored"): the current version is always the newest capture. Captures met oldest
  first are stored in turn, so a text that changed between captures becomes a new version, as a crawl that
  had seen both would have stored it.
- A page the extractor refuses is recorded as a failure with its raw page, as in a crawl.
- Each handled record is remembered by (file identity, offset) in the same transaction as what it stored: a
  second import of the same files (at any path) adds nothing, and an interrupted one resumes where its last
  committed batch ended.

Other hosts, other URLs of the outlet, requests, metadata, non-HTML and non-2xx records are skipped and counted
by reason; truncated records, records cut short, corrupt records or gzip members, records past the page size
limit and revisits whose original is in none of the files are reported with their file and offset. Revisits
are resolved whatever their WARC-Truncated header says (they carry no payload of their own).
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import os
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.archives.warc import MAX_PAGE_BYTES, WarcPage, WarcSkip, WarcWarning, one_stream_gzip, read_pages
from crawler.core.page import Page
from crawler.core.urls import split_url
from crawler.outlet import load_outlet
from crawler.pool.extraction import Crashed, ExtractionPool, ExtractOutcome, PageArgs
from crawler.store import open_store
from crawler.store.when import utc_key

RUN_NAME = "import-warc"
"""The name the import's runs carry in the store's runs table (the `spider` column)."""

_KEY_SPAN = 1 << 20
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_PROBLEMS = ("corrupt record", "truncated", "revisit of", "too large")
"""Reasons (prefixes) that mean a record is damaged, incomplete or past a limit, reported one by one with file and
offset."""


class WarcInputError(ValueError):
    """A path or glob given to the import cannot be read as WARC/ARC (missing, matches nothing, not WARC)."""


@dataclass
class ImportCounts:
    """What one import did, by outcome; `skipped` counts records passed over by reason."""

    files: int = 0
    bytes: int = 0
    records: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    crashed: int = 0
    older: int = 0
    """Captures older than a page of the same article already stored."""
    already: int = 0
    """Records an earlier import of the same file already handled."""
    skipped: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    """Refused pages by reason ("not an outlet page", "seizure notice", ...)."""
    problems: list[WarcSkip] = field(default_factory=list)
    warnings: list[WarcWarning] = field(default_factory=list)
    """What warcio noticed about records (bad lengths, bad digests), one line each."""
    hosts: set[str] = field(default_factory=set)
    seconds: float = 0.0

    def line(self) -> str:
        """The one-line summary a user reads after the import."""
        mb = self.bytes / 1e6
        rate = self.records / self.seconds if self.seconds > 0 else 0.0
        why = ""
        if self.refusals:
            why = (
                " ("
                + ", ".join(
                    f"{reason} {n}" for reason, n in sorted(self.refusals.items(), key=lambda kv: (-kv[1], kv[0]))
                )
                + ")"
            )
        head = (
            f"{self.records} records in {self.files} file{'s' if self.files != 1 else ''} ({mb:.1f} MB, "
            f"{rate:.0f} records/s): {self.new} new articles, {self.updated} new versions, "
            f"{self.unchanged} unchanged, {self.refused} refused{why}, {self.crashed} crashed, "
            f"{self.older} older than stored, {self.already} already imported"
        )
        if self.skipped:
            head += "; skipped: " + ", ".join(
                f"{reason} {n}" for reason, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
            )
        return head

    def stats(self) -> dict[str, Any]:
        """The counts as the run's stats (what `crawler runs --json` and the runs table keep)."""
        out: dict[str, Any] = {
            f"warc/{k}": getattr(self, k)
            for k in (
                "files",
                "bytes",
                "records",
                "new",
                "updated",
                "unchanged",
                "refused",
                "crashed",
                "older",
                "already",
            )
        }
        out.update({f"warc/skipped/{reason}": n for reason, n in self.skipped.items()})
        out.update({f"warc/refused/{reason}": n for reason, n in self.refusals.items()})
        return out


def skip_key(reason: str) -> str:
    """The counting key of a skip reason: its words before any detail ("not HTML (image/png)" -> "not HTML")."""
    return re.sub(r"\s*(?:\(.*|:.*)$", "", reason).strip() or reason


def is_problem(skip: WarcSkip) -> bool:
    """True for a record that is damaged or incomplete (not merely of no interest)."""
    return skip.reason.startswith(_PROBLEMS)


# ---- inputs -------------------------------------------------------------------------------------------------


def resolve_inputs(patterns: Sequence[str]) -> list[Path]:
    """The files the arguments name: paths as given, globs expanded (sorted; `**` recurses), each once.

    Raises WarcInputError with one line for a missing file, a glob matching nothing, a folder, or a file that
    is not WARC or ARC."""
    files: list[Path] = []
    seen: set[str] = set()
    for pattern in patterns:
        expanded = os.path.expanduser(pattern)
        if glob.has_magic(expanded):
            matches = sorted(p for p in glob.glob(expanded, recursive=True) if os.path.isfile(p))
            if not matches:
                raise WarcInputError(f"no file matches {pattern}")
        elif os.path.isdir(expanded):
            raise WarcInputError(
                f"{pattern} is a folder; give WARC files or a glob such as {os.path.join(pattern, '*.warc.gz')}"
            )
        elif not os.path.exists(expanded):
            raise WarcInputError(f"no such file: {pattern}")
        elif not os.path.isfile(expanded):
            # A pipe or device: opening one with no writer would wait forever, and records are read by offset.
            raise WarcInputError(
                f"{pattern} is not a regular file (a pipe or device); save the WARC data to a "
                "file first, import-warc reads its records by offset"
            )
        else:
            matches = [expanded]
        for match in matches:
            real = os.path.realpath(match)
            if real not in seen:
                seen.add(real)
                check_warc(Path(match))
                files.append(Path(match))
    return files


def check_warc(path: Path) -> None:
    """WarcInputError unless the file starts like a WARC or ARC file (gzipped or not).

    A gzipped file whose first member does not inflate is let through: the reader reports that member with
    its offset and goes on, as it does for any corrupt member."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if not head:
                raise WarcInputError(f"{path} is empty, not a WARC or ARC file")
            if head.startswith(b"\x1f\x8b"):
                fh.seek(0)
                try:
                    with gzip.GzipFile(fileobj=fh) as inflated:
                        head = inflated.read(64)
                except (OSError, EOFError, zlib.error):
                    return
    except OSError as exc:
        raise WarcInputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not head.lstrip(b"\r\n").startswith((b"WARC/", b"filedesc://")):
        raise WarcInputError(f"{path} is not a WARC or ARC file (it does not start with a WARC or ARC header)")
    if one_stream_gzip(path):
        raise WarcInputError(
            f"{path} is gzipped as one stream, not one gzip member per record, so its records "
            f"cannot be read one by one; fix it with: warcio recompress {path} fixed.warc.gz"
        )


def file_key(path: Path) -> str:
    """A file's identity for resuming: its size and the SHA-256 of its first and last MiB (the same bytes under
    another name or folder are the same file; reading two MiB costs nothing beside reading the file)."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        digest.update(fh.read(_KEY_SPAN))
        if size > _KEY_SPAN:
            fh.seek(max(_KEY_SPAN, size - _KEY_SPAN))
            digest.update(fh.read(_KEY_SPAN))
    return f"{size}:{digest.hexdigest()}"


@dataclass
class _Pending:
    page: WarcPage
    article_id: str
    key: str
    captured: str
    """utc_key of the capture time."""


# ---- the import ---------------------------------------------------------------------------------------------


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _encoding(headers: list[tuple[str, str]]) -> str | None:
    for name, value in headers:
        if name.lower() == "content-type":
            match = _CHARSET.search(value)
            if match:
                return match.group(1).lower()
    return None


def _page_args(pending: _Pending) -> PageArgs:
    """What the extraction worker gets for a record: its payload, URL and the host that served it."""
    page = pending.page
    return page.body, page.url, urlsplit(page.url).netloc, {}


class WarcImport:
    """One import of WARC/ARC files into a store: read every record once, in file order; extract the outlet's
    article pages in the extraction workers; store each outcome in input order; remember each handled record.

    Built with what `import_warcs` takes; `run()` does the import and returns its counts.
    """

    def __init__(
        self,
        store_path: str,
        files: Sequence[Path],
        *,
        workers: int | None = None,
        outlet_name: str = "",
        progress: Callable[[int, int], object] | None = None,
        on_problem: Callable[[WarcSkip], object] | None = None,
        commit_items: int = 200,
        max_bytes: int = MAX_PAGE_BYTES,
    ) -> None:
        from crawler.services.reextract import default_outlet_name

        self.store_path = store_path
        self.workers = workers
        self.outlet_name = outlet_name or default_outlet_name()
        self.outlet = load_outlet(self.outlet_name)
        self.progress = progress
        self.on_problem = on_problem
        self.commit_items = commit_items
        self.max_bytes = max_bytes
        self.counts = ImportCounts()
        self.keys: dict[str, str] = {}
        """File path -> file identity (`file_key`), one path per identity."""
        self.offsets_before: dict[str, int] = {}
        """File path -> bytes of the files before it (for progress over all of them)."""
        self.position = 0
        """Bytes of the files read so far, for `progress`."""
        self._plan(files)

    def _plan(self, files: Sequence[Path]) -> None:
        total = 0
        for path in files:
            key = file_key(path)
            if key in self.keys.values():
                continue  # a copy of a file already in this import: its records are the same records
            self.keys[str(path)] = key
            self.offsets_before[str(path)] = total
            total += path.stat().st_size
        self.counts.files = len(self.keys)
        self.counts.bytes = total

    def run(self) -> ImportCounts:
        """Import the files (see `import_warcs`)."""
        started = time.monotonic()
        with open_store(self.store_path, lock=True, commit_items=self.commit_items) as store:
            self.store = store
            self.run_id = store.begin_run(RUN_NAME, {"files": list(self.keys)})
            self.done = {key: store.imported_offsets(key) for key in self.keys.values()}
            status, exit_status, reason = "failed", 1, "error"
            try:
                self._extract_and_store()
                status, exit_status, reason = "ok", 0, "finished"
            except KeyboardInterrupt:
                status, exit_status, reason = "stopped", 130, "interrupted"
                raise
            finally:
                self.counts.seconds = time.monotonic() - started
                try:
                    self._finish(status, exit_status, reason)
                except Exception:
                    if status == "ok":
                        raise
                    # The import is already failing for a reason of its own; that is the one to report.
        return self.counts

    def _extract_and_store(self) -> None:
        pool = ExtractionPool(self.outlet_name, self.workers, ignore_sigint=True)
        for pending, outcome in pool.map(self._jobs(), _page_args):
            self._store_one(pending, outcome)
        if self.progress is not None and self.position < self.counts.bytes:
            self.progress(0, self.counts.bytes - self.position)

    def _finish(self, status: str, exit_status: int, reason: str) -> None:
        """Commit what is done and record how the run ended."""
        counts = self.counts
        self.store.commit()
        self.store.finish_run(
            self.run_id,
            status=status,
            exit_status=exit_status,
            finish_reason=reason,
            new=counts.new,
            updated=counts.updated,
            unchanged=counts.unchanged,
            skipped=sum(counts.skipped.values()) + counts.older + counts.already,
            refused=counts.refused,
            failed=counts.crashed + len(counts.problems),
            mirrors=sorted(counts.hosts),
            warnings=[f"{p.file} at offset {p.offset}: {p.reason}" for p in counts.problems[:20]]
            + [f"{w.file} at offset {w.offset}: warcio: {w.message}" for w in counts.warnings[:20]],
            stats=counts.stats(),
        )

    # ---- reading: which records go to the extraction workers

    def _jobs(self) -> Iterator[_Pending]:
        is_outlet = self.outlet.is_outlet_host
        for item in read_pages(
            list(self.keys),
            lambda url: (parts := split_url(url)) is not None and is_outlet(parts.hostname or ""),
            max_bytes=self.max_bytes,
        ):
            if isinstance(item, WarcWarning):
                self._warn(item)
                continue
            self._advance(item)
            if isinstance(item, WarcSkip):
                self._skipped(item)
                continue
            pending = self._pending(item)
            if pending is not None:
                yield pending

    def _warn(self, warning: WarcWarning) -> None:
        self.counts.warnings.append(warning)
        if self.on_problem is not None:
            self.on_problem(WarcSkip(warning.file, warning.offset, f"warcio: {warning.message}"))

    def _advance(self, item: WarcPage | WarcSkip) -> None:
        self.counts.records += 1
        reached = self.offsets_before[item.file] + item.offset
        moved = max(0, reached - self.position)
        self.position = max(self.position, reached)
        if self.progress is not None:
            self.progress(1, moved)

    def _skip(self, reason: str) -> None:
        self.counts.skipped[skip_key(reason)] += 1

    def _skipped(self, item: WarcSkip) -> None:
        self._skip(item.reason)
        if is_problem(item):
            self.counts.problems.append(item)
            if self.on_problem is not None:
                self.on_problem(item)

    def _pending(self, item: WarcPage) -> _Pending | None:
        """The record as work for the extraction workers, or None when it is passed over (counted)."""
        key = self.keys[item.file]
        if item.offset in self.done[key]:
            self.counts.already += 1
            return None
        parsed = self.outlet.parse_article_url(item.url)
        if parsed is None:
            self._skip("not an article URL")
            return None
        if not 200 <= item.status < 300:
            self._skip(f"HTTP {item.status}" if item.status else "no HTTP status")
            return None
        pending = _Pending(item, parsed.article_id, key, utc_key(item.captured_at))
        if self._older_than_stored(pending):
            self._mark(pending, "older")
            return None
        return pending

    # ---- storing: what each outcome leaves in the store

    def _older_than_stored(self, pending: _Pending) -> bool:
        newest = self.store.newest_capture(pending.article_id)
        return newest is not None and newest > pending.captured

    def _mark(self, pending: _Pending, outcome: str) -> None:
        if outcome == "older":
            self.counts.older += 1
        self.store.mark_imported(pending.key, pending.page.offset, outcome, pending.article_id, self.run_id)
        self.done[pending.key].add(pending.page.offset)

    def _store_one(self, pending: _Pending, result: ExtractOutcome | Crashed) -> None:
        item = pending.page
        page = Page(
            url=item.url,
            html=item.body,
            status=item.status,
            encoding=_encoding(item.headers),
            fetched_at=_iso(item.captured_at),
            mirror=urlsplit(item.url).netloc,
            headers=list(item.headers),
            fetched_from="warc",
            archived_at=_iso(item.captured_at),
        )
        if isinstance(result, Crashed):
            self._failed(pending, page, "crashed", f"extraction crashed: {result.message}")
            self.counts.crashed += 1
            return
        page.compressed, page.sha256 = result.compressed, result.sha256
        if result.article is None:
            self._failed(pending, page, "refused", f"not an article: {result.refused or 'no article'}")
            self.counts.refused += 1
            self.counts.refusals[skip_key(result.refused or "no article")] += 1
            return
        if self._older_than_stored(pending):
            # A newer capture of the article was stored while this one was being extracted.
            self._mark(pending, "older")
            return
        article = result.article
        article.fetched_from = "warc"
        article.archived_at = page.archived_at
        outcome = self.store.save_article(article, page, self.run_id)
        setattr(self.counts, outcome, getattr(self.counts, outcome) + 1)
        self.counts.hosts.add(page.mirror or "")
        self._mark(pending, outcome)

    def _failed(self, pending: _Pending, page: Page, kind: str, message: str) -> None:
        self.store.record_failure(self.run_id, kind, page.url, pending.article_id, message, page.status, page)
        self._mark(pending, kind)


def import_warcs(
    store_path: str,
    files: Sequence[Path],
    *,
    workers: int | None = None,
    outlet_name: str = "",
    progress: Callable[[int, int], object] | None = None,
    on_problem: Callable[[WarcSkip], object] | None = None,
    commit_items: int = 200,
    max_bytes: int = MAX_PAGE_BYTES,
) -> ImportCounts:
    """Import the article pages of `files` (already checked by `resolve_inputs`) into the store at
    `store_path`, extracting with `workers` processes (default: every core). Takes the store's run lock and
    records the import as a run.

    `progress(records, bytes)` is called as records are read (how many more, how many more bytes of the files);
    `on_problem(skip)` for every damaged or incomplete record and every record past the page size limit
    `max_bytes` (bytes of decoded payload), and for each warcio warning (as a skip that is not counted).
    Ctrl-C (KeyboardInterrupt) stops the import after committing what is done; it is recorded as a stopped run
    and raised again.
    """
    return WarcImport(
        store_path,
        files,
        workers=workers,
        outlet_name=outlet_name,
        progress=progress,
        on_problem=on_problem,
        commit_items=commit_items,
        max_bytes=max_bytes,
    ).run()
