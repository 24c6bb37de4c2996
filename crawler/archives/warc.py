"""Read pages out of WARC and ARC files and write stored pages as WARC/1.1, with warcio.

Reading yields one `WarcPage` per HTML response of a wanted URL and one `WarcSkip` (with its file, offset and
reason) for every other record, so an import can count what it passed over and say where a bad record sits;
what warcio would print about a record comes as a one-line `WarcWarning`. Revisit records (which have no payload
of their own, whatever their WARC-Truncated header says) take the payload of the response they point at when that
response is in the same files. A corrupt record, a record cut short (its payload shorter than its length), or a
bad gzip member is reported and reading goes on from the next record or member: one bad byte in a
multi-gigabyte file must not cost the rest of it. Payloads are read in bounded memory: a record claiming more
than the page size limit is not read, and a payload that inflates past it is refused ("too large").
"""

from __future__ import annotations

import io
import logging
import re
import sys
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, BinaryIO

import warcio.archiveiterator
import warcio.bufferedreaders
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import iso_date_to_datetime
from warcio.warcwriter import WARCWriter

from crawler.core.urls import split_url

MAX_PAGE_BYTES = 16 * 1024 * 1024
"""The default page size limit (the DOWNLOAD_MAXSIZE setting): a payload past it is refused as too large."""

HEADER_ALLOWANCE = 1024 * 1024
"""Room for a record's HTTP headers beside its payload: a record claiming more than the page size limit plus
this is refused without reading it."""

_HTML = re.compile(r"text/html|application/xhtml", re.IGNORECASE)
# Headers that describe the bytes on the wire, not the decoded payload a WARC record here holds.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = re.compile(rb"(?:^|\r?\n)WARC/1\.[01]\r?\n")
_ONE_STREAM = "non-chunked gzip"
"""Words of warcio's error for a file gzipped as one stream instead of one gzip member per record."""


class _WarcioStderr:
    """Where warcio's multi-line warnings (it writes them straight to stderr) go instead: kept, newest last, for
    the reader to turn into one-line warnings of the record they belong to."""

    def __init__(self) -> None:
        self.messages: deque[str] = deque(maxlen=50)

    def write(self, text: str) -> int:
        self.messages.append(str(text))
        return len(text)

    def flush(self) -> None:
        return None

    def drain(self) -> list[str]:
        out = [_one_line(m) for m in self.messages]
        self.messages.clear()
        return [m for m in out if m]


class _SysWithQuietStderr:
    """The `sys` warcio's reading modules see: the real one, but stderr is the collector."""

    def __init__(self, collector: _WarcioStderr) -> None:
        self.stderr = collector

    def __getattr__(self, name: str) -> Any:
        return getattr(sys, name)


class _WarcioLog(logging.Handler):
    """warcio's logged warnings ("Replacing spaces in invalid WARC-Target-URI") into the same collector."""

    def emit(self, record: logging.LogRecord) -> None:
        WARCIO_WARNINGS.write(record.getMessage())


WARCIO_WARNINGS = _WarcioStderr()
for _module in (warcio.archiveiterator, warcio.bufferedreaders):
    _module.sys = _SysWithQuietStderr(WARCIO_WARNINGS)
_log = logging.getLogger("warcio")
_log.addHandler(_WarcioLog())
_log.propagate = False


def _one_line(message: str) -> str:
    """A warcio message as one clean line: its lines joined, "WARNING:"/"ERROR:" dropped, printable ASCII only."""
    words = " ".join(line.strip() for line in message.splitlines() if line.strip())
    words = re.sub(r"^(?:WARNING|ERROR):\s*", "", words)
    return "".join(ch if ch.isascii() and ch.isprintable() else "?" for ch in words)[:160]


@dataclass
class WarcPage:
    """One HTML response of a wanted URL, payload decoded (de-chunked, decompressed)."""

    url: str
    captured_at: datetime
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    file: str
    offset: int
    revisit: bool = False
    """True when the payload came from the response a revisit record points at."""


@dataclass
class WarcSkip:
    """A record that gave no page, and why ("other host", "request record", "truncated: length", ...)."""

    file: str
    offset: int
    reason: str
    url: str | None = None


@dataclass
class WarcWarning:
    """Something warcio noticed near a record (a bad Content-Length, a bad digest), as one line; not a record."""

    file: str
    offset: int
    message: str


class PayloadProblem(Exception):
    """A payload that cannot be a page: too large, or cut short."""


def read_payload(record: Any, max_bytes: int) -> bytes:
    """A record's decoded payload (de-chunked, decompressed) in at most `max_bytes` of memory.

    Raises PayloadProblem "too large" past the limit, and "corrupt record: cut short" when the record holds fewer
    bytes than its length says (a torn download, a record split across gzip members)."""
    body = record.content_stream().read(max_bytes + 1)
    if len(body) > max_bytes:
        raise PayloadProblem(f"too large: the payload inflates past the page size limit ({_mb(max_bytes)})")
    raw = record.raw_stream
    while raw.read(1 << 16):
        pass  # what decoding left (a chunked body's trailer) is part of the record, not missing from it
    missing = int(getattr(raw, "limit", 0) or 0)
    if missing > 0:
        declared = int(getattr(record, "length", 0) or 0)
        raise PayloadProblem(f"corrupt record: cut short ({missing} of its {declared} bytes missing)")
    return bytes(body)


def _mb(n: int) -> str:
    return f"{n / 1048576:g} MB"


def too_large_claim(record: Any, max_bytes: int) -> str | None:
    """The skip reason for a record whose declared length is past the page size limit (it is not read), or None."""
    length = int(getattr(record, "length", 0) or 0)
    if length > max_bytes + HEADER_ALLOWANCE:
        return f"too large: the record claims {length / 1e6:,.1f} MB, past the page size limit ({_mb(max_bytes)})"
    return None


@dataclass
class _Original:
    """Where a response a revisit may point at sits: its payload is read again only when a revisit needs it, so
    memory stays flat however many responses the files hold."""

    status: int
    headers: list[tuple[str, str]]
    content_type: str
    file: str
    offset: int

    def body(self, max_bytes: int) -> bytes:
        with open(self.file, "rb") as raw:
            raw.seek(self.offset)
            for record in ArchiveIterator(raw, arc2warc=True):
                return read_payload(record, max_bytes)
        return b""


@dataclass
class _Revisit:
    skip: WarcSkip
    digest: str
    when: datetime
    headers: list[tuple[str, str]]
    status: int


@dataclass
class _State:
    max_bytes: int
    originals: dict[str, _Original] = field(default_factory=dict)
    pending: list[_Revisit] = field(default_factory=list)


def read_pages(
    paths: Iterable[str | Path], wanted: Callable[[str], bool], *, max_bytes: int = MAX_PAGE_BYTES
) -> Iterator[WarcPage | WarcSkip | WarcWarning]:
    """Pages and skips of every record in the given WARC/ARC files (gzipped or not), in file order, with
    warcio's warnings as they come.

    `wanted(url)` says which target URLs are pages of interest; `max_bytes` is the page size limit. A revisit
    whose original comes later in the files is resolved at the end; one whose original is in none of them is a
    skip.
    """
    state = _State(max_bytes)
    WARCIO_WARNINGS.drain()
    for path in paths:
        yield from _read_file(str(path), wanted, state)
    for revisit in state.pending:
        original = state.originals.get(revisit.digest)
        if original is None:
            yield revisit.skip
        else:
            yield _resolved(revisit.skip, original, revisit.when, revisit.headers, revisit.status, state)


def _resolved(
    skip: WarcSkip, original: _Original, when: datetime, headers: list[tuple[str, str]], status: int, state: _State
) -> WarcPage | WarcSkip:
    """The page a revisit stands for, from its original response (or why it is none)."""
    if not _HTML.search(original.content_type):
        return WarcSkip(skip.file, skip.offset, f"not HTML ({original.content_type or 'no content type'})", skip.url)
    try:
        body = original.body(state.max_bytes)
    except PayloadProblem as exc:
        return WarcSkip(skip.file, skip.offset, f"revisit of a damaged record: {exc}", skip.url)
    except Exception as exc:  # the original's file changed or is damaged: this revisit has nothing to show
        return WarcSkip(skip.file, skip.offset, f"revisit of a damaged record: {_exc_line(exc)}", skip.url)
    assert skip.url is not None
    return WarcPage(
        skip.url,
        when,
        status or original.status,
        headers or original.headers,
        body,
        skip.file,
        skip.offset,
        revisit=True,
    )


def _status(http: StatusAndHeaders | None) -> int:
    if http is None:
        return 0
    try:
        return int(str(http.get_statuscode() or "0"))
    except ValueError:
        return 0


_PLAIN_WORDS = (
    ("Unknown archive format", "bytes that do not start a WARC or ARC record (the rest of a damaged one?)"),
    ("Invalid WARC record", "bytes that do not start a WARC or ARC record (the rest of a damaged one?)"),
    ("while decompressing", "a gzip member that does not inflate"),
    ("Compressed file ended", "the file ends inside a gzip member"),
)
"""warcio's errors on damaged records, in words a user reads."""


def _exc_line(exc: BaseException) -> str:
    """An exception as one readable line: what it means when warcio's words are known, else its first non-empty
    line, printable ASCII only (warcio quotes the garbage it met, and a report line must stay one clean line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = lines[0] if lines else ""
    for words, plain in _PLAIN_WORDS:
        if words in message:
            return plain
    if isinstance(exc, EOFError):
        return "the file ends inside a record"
    message = "".join(ch if ch.isascii() and ch.isprintable() else "?" for ch in message[:80])
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def one_stream_gzip(path: str | Path) -> bool:
    """True for a gzipped WARC/ARC file compressed as one stream (`gzip file.warc`) rather than one gzip member
    per record, which no archive tool can read record by record; warcio notices it at the second record."""
    with open(path, "rb") as raw:
        if raw.read(2) != b"\x1f\x8b":
            return False
        raw.seek(0)
        iterator = ArchiveIterator(raw, arc2warc=True)
        try:
            for number, _record in enumerate(iterator):
                if number >= 1:
                    break
        except Exception as exc:
            return _ONE_STREAM in str(exc)
        finally:
            WARCIO_WARNINGS.drain()
    return False


def _read_file(path: str, wanted: Callable[[str], bool], state: _State) -> Iterator[WarcPage | WarcSkip | WarcWarning]:
    with open(path, "rb") as raw:
        size = raw.seek(0, io.SEEK_END)
        start = 0
        while start < size:
            blank_led = start > 0 and _starts_blank(raw, start)
            raw.seek(start)
            iterator = ArchiveIterator(raw, arc2warc=True)
            if blank_led:
                # A record's closing blank lines written at the start of the next gzip member (warcio's own
                # "wrong chunks" test file): warcio would parse them as an empty record swallowing the one after
                # them, so they are read first, as warcio does between records.
                iterator.next_line, _ = iterator._consume_blanklines()
            offset = start
            try:
                for record in iterator:
                    # Where this record starts (absolute: the iterator began at the file's position). Not
                    # get_record_offset(), which reads the record to its end before its content is read.
                    offset = int(iterator.offset)
                    for message in WARCIO_WARNINGS.drain():
                        yield WarcWarning(path, offset, message)
                    if _garbled(record):
                        raise ValueError("garbled record headers")
                    yield from _record(record, path, offset, wanted, state)
                    for message in WARCIO_WARNINGS.drain():
                        yield WarcWarning(path, offset, message)
                return
            except Exception as exc:
                # warcio meets torn and garbled records with ArchiveLoadFailed, zlib errors, EOFError, ValueError
                # and, on a record cut inside its headers, AttributeError: whatever it is, it is this record's
                # fault, so report it and go on from the next record or member.
                # The start of the record being read; warcio's own count can fall behind (even below zero) on
                # garbage, and reading must move forward or it would never end.
                offset = max(start, int(getattr(iterator, "offset", offset)))
                for message in WARCIO_WARNINGS.drain():
                    yield WarcWarning(path, offset, message)
                if _ONE_STREAM in str(exc):
                    yield WarcSkip(
                        path,
                        offset,
                        "corrupt record: the file is gzipped as one stream, not one gzip "
                        f"member per record; run: warcio recompress {path} fixed.warc.gz",
                    )
                    return
                yield WarcSkip(path, offset, f"corrupt record: {_exc_line(exc)}")
                start = _next_record_start(raw, offset + 1, size)


def _starts_blank(raw: BinaryIO, start: int) -> bool:
    """True when the record or gzip member at `start` begins with a blank line (inflated, for a member)."""
    raw.seek(start)
    head = raw.read(4096)
    if head.startswith(_GZIP_MAGIC):
        try:
            head = zlib.decompressobj(31).decompress(head, 16)
        except zlib.error:
            return False
    return head[:1] in (b"\r", b"\n")


def _garbled(record: object) -> bool:
    """True when the record's type or target URI holds control bytes: warcio, failing to inflate a damaged gzip
    member, can fall back to reading its compressed bytes as an uncompressed record, which would swallow the
    good members after it; such a record is corrupt, and reading goes on from the next member."""
    headers = getattr(record, "rec_headers", None)
    values = [str(getattr(record, "rec_type", "") or "")]
    if headers is not None:
        values.append(str(headers.get_header("WARC-Target-URI") or ""))
    return any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for value in values for ch in value)


def _next_record_start(raw: BinaryIO, after: int, size: int, chunk: int = 1 << 20) -> int:
    """Where the next gzip member or uncompressed WARC record begins after `after` (or the end of the file),
    read in chunks so a huge file is never held whole. A gzip header counts only when what it inflates to
    starts like a record: a gzip-encoded payload stored inside a member carries gzip headers of its own."""
    pos = after
    while pos < size:
        raw.seek(pos)
        block = raw.read(chunk + 16)
        found = []
        match = _WARC_MAGIC.search(block)
        if match:
            found.append(match.start() + len(match.group(0)) - len(match.group(0).lstrip(b"\r\n")))
        member = block.find(_GZIP_MAGIC)
        while member >= 0 and not (found and member > found[0]):
            if _record_member(raw, pos + member):
                found.append(member)
                break
            member = block.find(_GZIP_MAGIC, member + 1)
        if found:
            return pos + min(found)
        pos += chunk
    return size


_RECORD_START = re.compile(rb"^[\r\n]*(?:WARC/|filedesc://|[a-z][\w+.-]{0,20}:\S* )", re.IGNORECASE)


def _record_member(raw: BinaryIO, at: int) -> bool:
    """True when the gzip member at `at` inflates to the start of a WARC or ARC record."""
    raw.seek(at)
    try:
        head = zlib.decompressobj(31).decompress(raw.read(4096), 64)
    except zlib.error:
        return False
    return bool(_RECORD_START.match(head))


def _record(
    record: Any, path: str, offset: int, wanted: Callable[[str], bool], state: _State
) -> Iterator[WarcPage | WarcSkip]:
    rec_type = str(getattr(record, "rec_type", "") or "")
    headers = record.rec_headers
    url = headers.get_header("WARC-Target-URI")
    if rec_type not in ("response", "revisit"):
        yield WarcSkip(path, offset, f"{rec_type} record" if rec_type else "record of no known type", url)
        return
    http = record.http_headers
    status = _status(http)
    header_list = [(k, v) for k, v in (http.headers if http is not None else [])]
    content_type = str(http.get_header("Content-Type") or "") if http is not None else ""
    digest = headers.get_header("WARC-Payload-Digest") or ""
    if url and split_url(url) is None:
        yield WarcSkip(path, offset, "malformed target URI", url)
        return
    if not url or not wanted(url):
        yield WarcSkip(path, offset, "other host", url)
        return
    if rec_type == "response" and digest and not headers.get_header("WARC-Truncated"):
        # Every complete response of a wanted URL, HTML or not, so a revisit of an image is told apart from one
        # of a page that is missing; only where it sits is kept (and headers only for a page), so memory stays
        # small however many records the files hold.
        html = bool(_HTML.search(content_type))
        state.originals.setdefault(digest, _Original(status, header_list if html else [], content_type, path, offset))
    when = _when(headers.get_header("WARC-Date"))
    if rec_type == "revisit":
        # A revisit has no payload of its own: Heritrix marks every one "WARC-Truncated: length", which says
        # nothing about the capture.
        skip = WarcSkip(path, offset, "revisit of a record not in these files", url)
        original = state.originals.get(digest)
        if original is None:
            state.pending.append(_Revisit(skip, digest, when, header_list, status))
            return
        yield _resolved(skip, original, when, header_list, status, state)
        return
    truncated = headers.get_header("WARC-Truncated")
    if truncated:
        yield WarcSkip(path, offset, f"truncated: {truncated}", url)
        return
    if not _HTML.search(content_type):
        yield WarcSkip(path, offset, f"not HTML ({content_type or 'no content type'})", url)
        return
    claim = too_large_claim(record, state.max_bytes)
    if claim:
        yield WarcSkip(path, offset, claim, url)
        return
    try:
        body = read_payload(record, state.max_bytes)
    except PayloadProblem as exc:
        yield WarcSkip(path, offset, str(exc), url)
        return
    yield WarcPage(url, when, status, header_list, body, path, offset)


def _when(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    try:
        parsed = iso_date_to_datetime(value)
    except ValueError:
        return datetime.now(UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---- writing ----------------------------------------------------------------------------------------------


@dataclass
class PageRecord:
    """What one stored page needs to become a WARC response record."""

    url: str
    fetched_at: datetime
    body: bytes
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)


def write_warc(out: BinaryIO, pages: Iterable[PageRecord], *, software: str, filename: str = "") -> int:
    """Write a warcinfo record and one WARC/1.1 response record per page (gzip member each); returns the count.

    The payload is the decoded body as stored, so headers that describe the wire form (Content-Encoding,
    Transfer-Encoding, Content-Length) are replaced by a Content-Length that fits it, as Common Crawl does.
    """
    writer = WARCWriter(out, gzip=True, warc_version="1.1")
    info = writer.create_warcinfo_record(
        filename or "crawler-export.warc.gz",
        {
            "software": software,
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        },
    )
    writer.write_record(info)
    count = 0
    for page in pages:
        kept = [(k, v) for k, v in page.headers if k.lower() not in _WIRE_HEADERS]
        if not any(k.lower() == "content-type" for k, _ in kept):
            kept.append(("Content-Type", "text/html; charset=utf-8"))
        kept.append(("Content-Length", str(len(page.body))))
        try:
            reason = HTTPStatus(page.status).phrase
        except ValueError:
            reason = "Unknown"
        http = StatusAndHeaders(f"{page.status} {reason}", kept, protocol="HTTP/1.1")
        when = page.fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        record = writer.create_warc_record(
            page.url,
            "response",
            payload=io.BytesIO(page.body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": when},
        )
        writer.write_record(record)
        count += 1
    return count


__all__ = [
    "MAX_PAGE_BYTES",
    "PageRecord",
    "PayloadProblem",
    "WarcPage",
    "WarcSkip",
    "WarcWarning",
    "one_stream_gzip",
    "read_pages",
    "read_payload",
    "too_large_claim",
    "write_warc",
]
