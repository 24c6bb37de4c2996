"""WARC import service: the outlet's article pages in WARC/ARC files, extracted on every core, stored as crawled.

It uses the WARC reader (`crawler.archives.warc.read_pages`), the crawl's extraction worker
(`crawler.crawl.pipelines.extract_page`) and the store through their public APIs. Every record is read once, in file
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
import signal
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
from crawler.crawl.handoff import ExtractOutcome
from crawler.outlet import load_outlet
from crawler.services.workpool import default_workers, ordered_map
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
            why = " (" + ", ".join(f"{reason} {n}" for reason, n in sorted(
                self.refusals.items(), key=lambda kv: (-kv[1], kv[0]))) + ")"
        head = (f"{self.records} records in {self.files} file{'s' if self.files != 1 else ''} ({mb:.1f} MB, "
                f"{rate:.0f} records/s): {self.new} new articles, {self.updated} new versions, "
                f"{self.unchanged} unchanged, {self.refused} refused{why}, {self.crashed} crashed, "
                f"{self.older} older than stored, {self.already} already imported")
        if self.skipped:
            head += "; skipped: " + ", ".join(f"{reason} {n}" for reason, n in sorted(
                self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))
        return head

    def stats(self) -> dict[str, Any]:
        """The counts as the run's stats (what `crawler runs --json` and the runs table keep)."""
        out: dict[str, Any] = {f"warc/{k}": getattr(self, k) for k in (
            "files", "bytes", "records", "new", "updated", "unchanged", "refused", "crashed", "older", "already")}
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
            raise WarcInputError(f"{pattern} is a folder; give WARC files or a glob such as "
                                 f"{os.path.join(pattern, '*.warc.gz')}")
        elif not os.path.exists(expanded):
            raise WarcInputError(f"no such file: {pattern}")
        elif not os.path.isfile(expanded):
            # A pipe or device: opening one with no writer would wait forever, and records are read by offset.
            raise WarcInputError(f"{pattern} is not a regular file (a pipe or device); save the WARC data to a "
                                 "file first, import-warc reads its records by offset")
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
        raise WarcInputError(f"{path} is gzipped as one stream, not one gzip member per record, so its records "
                             f"cannot be read one by one; fix it with: warcio recompress {path} fixed.warc.gz")


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


# ---- extraction (in pool processes) --------------------------------------------------------------------------

def _worker_init() -> None:
    # Ctrl-C is the importing process's to handle: it stops reading, commits what is done and shuts the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from crawler.crawl.pipelines import _warm_up

    _warm_up()


def extract_pending(chunk: list[_Pending], outlet_name: str) -> list[ExtractOutcome | str]:
    """Worker: each page's extraction outcome, or the crash message for a page the extractor raised on."""
    from crawler.crawl.pipelines import extract_page

    out: list[ExtractOutcome | str] = []
    for pending in chunk:
        page = pending.page
        try:
            out.append(extract_page(page.body, page.url, urlsplit(page.url).netloc, outlet_name))
        except Exception as exc:  # one page's crash is counted, the others go on
            out.append(f"extraction crashed: {type(exc).__name__}: {exc}")
    return out


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


def import_warcs(store_path: str, files: Sequence[Path], *, workers: int | None = None, outlet_name: str = "",
                 progress: Callable[[int, int], object] | None = None,
                 on_problem: Callable[[WarcSkip], object] | None = None,
                 commit_items: int = 200, max_bytes: int = MAX_PAGE_BYTES) -> ImportCounts:
    """Import the article pages of `files` (already checked by `resolve_inputs`) into the store at
    `store_path`, extracting with `workers` processes (default: every core). Takes the store's run lock and
    records the import as a run.

    `progress(records, bytes)` is called as records are read (how many more, how many more bytes of the files);
    `on_problem(skip)` for every damaged or incomplete record and every record past the page size limit
    `max_bytes` (bytes of decoded payload), and for each warcio warning (as a skip that is not counted).
    Ctrl-C (KeyboardInterrupt) stops the import after committing what is done; it is recorded as a stopped run
    and raised again.
    """
    from crawler.services.reextract import default_outlet_name

    outlet_name = outlet_name or default_outlet_name()
    outlet = load_outlet(outlet_name)
    counts = ImportCounts()
    started = time.monotonic()
    keys: dict[str, str] = {}
    offsets_before: dict[str, int] = {}
    total_before = 0
    for path in files:
        key = file_key(path)
        if key in keys.values():
            continue  # a copy of a file already in this import: its records are the same records
        keys[str(path)] = key
        offsets_before[str(path)] = total_before
        total_before += path.stat().st_size
    counts.files = len(keys)
    counts.bytes = total_before
    position = 0

    with open_store(store_path, lock=True, commit_items=commit_items) as store:
        run_id = store.begin_run(RUN_NAME, {"files": list(keys)})
        done = {key: store.imported_offsets(key) for key in keys.values()}

        def advance(item: WarcPage | WarcSkip) -> None:
            nonlocal position
            counts.records += 1
            reached = offsets_before[item.file] + item.offset
            moved = max(0, reached - position)
            position = max(position, reached)
            if progress is not None:
                progress(1, moved)

        def skip(reason: str) -> None:
            counts.skipped[skip_key(reason)] += 1

        def older_than_stored(article_id: str, captured: str) -> bool:
            newest = store.newest_capture(article_id)
            return newest is not None and newest > captured

        def jobs() -> Iterator[_Pending]:
            for item in read_pages(list(keys), lambda url: outlet.is_outlet_host(urlsplit(url).hostname or ""),
                                   max_bytes=max_bytes):
                if isinstance(item, WarcWarning):
                    counts.warnings.append(item)
                    if on_problem is not None:
                        on_problem(WarcSkip(item.file, item.offset, f"warcio: {item.message}"))
                    continue
                advance(item)
                if isinstance(item, WarcSkip):
                    skip(item.reason)
                    if is_problem(item):
                        counts.problems.append(item)
                        if on_problem is not None:
                            on_problem(item)
                    continue
                key = keys[item.file]
                if item.offset in done[key]:
                    counts.already += 1
                    continue
                parsed = outlet.parse_article_url(item.url)
                if parsed is None:
                    skip("not an article URL")
                    continue
                if not 200 <= item.status < 300:
                    skip(f"HTTP {item.status}" if item.status else "no HTTP status")
                    continue
                pending = _Pending(item, parsed.article_id, key, utc_key(item.captured_at))
                if older_than_stored(pending.article_id, pending.captured):
                    _mark(pending, "older")
                    continue
                yield pending

        def _mark(pending: _Pending, outcome: str) -> None:
            if outcome == "older":
                counts.older += 1
            store.mark_imported(pending.key, pending.page.offset, outcome, pending.article_id, run_id)
            done[pending.key].add(pending.page.offset)

        def store_one(pending: _Pending, result: ExtractOutcome | str) -> None:
            item = pending.page
            captured = _iso(item.captured_at)
            host = urlsplit(item.url).netloc
            page = Page(url=item.url, html=item.body, status=item.status, encoding=_encoding(item.headers),
                        fetched_at=captured, mirror=host, headers=list(item.headers), fetched_from="warc",
                        archived_at=captured)
            if isinstance(result, str):
                store.record_failure(run_id, "crashed", item.url, pending.article_id, result, item.status, page)
                counts.crashed += 1
                _mark(pending, "crashed")
                return
            page.compressed, page.sha256 = result.compressed, result.sha256
            if result.article is None:
                store.record_failure(run_id, "refused", item.url, pending.article_id,
                                     f"not an article: {result.refused or 'no article'}", item.status, page)
                counts.refused += 1
                counts.refusals[skip_key(result.refused or "no article")] += 1
                _mark(pending, "refused")
                return
            if older_than_stored(pending.article_id, pending.captured):
                # A newer capture of the article was stored while this one was being extracted.
                _mark(pending, "older")
                return
            article = result.article
            article.fetched_from = "warc"
            article.archived_at = captured
            outcome = store.save_article(article, page, run_id)
            setattr(counts, outcome, getattr(counts, outcome) + 1)
            counts.hosts.add(host)
            _mark(pending, outcome)

        status, exit_status, reason = "failed", 1, "error"
        try:
            for chunk, results in ordered_map(extract_pending, jobs(), workers=default_workers(workers),
                                              args=(outlet_name,), initializer=_worker_init):
                for pending, result in zip(chunk, results, strict=True):
                    store_one(pending, result)
            if progress is not None and position < counts.bytes:
                progress(0, counts.bytes - position)
            status, exit_status, reason = "ok", 0, "finished"
        except KeyboardInterrupt:
            status, exit_status, reason = "stopped", 130, "interrupted"
            raise
        finally:
            counts.seconds = time.monotonic() - started
            try:
                store.commit()
                store.finish_run(
                    run_id, status=status, exit_status=exit_status, finish_reason=reason, new=counts.new,
                    updated=counts.updated, unchanged=counts.unchanged,
                    skipped=sum(counts.skipped.values()) + counts.older + counts.already, refused=counts.refused,
                    failed=counts.crashed + len(counts.problems), mirrors=sorted(counts.hosts),
                    warnings=[f"{p.file} at offset {p.offset}: {p.reason}" for p in counts.problems[:20]]
                    + [f"{w.file} at offset {w.offset}: warcio: {w.message}" for w in counts.warnings[:20]],
                    stats=counts.stats())
            except Exception:
                if status == "ok":
                    raise
                # The import is already failing for a reason of its own; that is the one to report.
    return counts

