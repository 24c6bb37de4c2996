"""Read pages out of WARC and ARC files and write stored pages as WARC/1.1, with warcio.

Reading yields one `WarcPage` per HTML response of a wanted URL and one `WarcSkip` (with its file, offset and
reason) for every other record, so an import can count what it passed over and say where a bad record sits.
Revisit records take the payload of the response they point at when that response is in the same files. A
corrupt record or gzip member is reported and reading goes on from the next record or member: one bad byte in a
multi-gigabyte file must not cost the rest of it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import iso_date_to_datetime
from warcio.warcwriter import WARCWriter

_HTML = re.compile(r"text/html|application/xhtml", re.IGNORECASE)
# Headers that describe the bytes on the wire, not the decoded payload a WARC record here holds.
_WIRE_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})
_GZIP_MAGIC = b"\x1f\x8b\x08"
_WARC_MAGIC = re.compile(rb"(?:^|\r?\n)WARC/1\.[01]\r?\n")


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
class _Original:
    """Where a response a revisit may point at sits: its payload is read again only when a revisit needs it, so
    memory stays flat however many responses the files hold."""

    status: int
    headers: list[tuple[str, str]]
    file: str
    offset: int

    def body(self) -> bytes:
        with open(self.file, "rb") as raw:
            raw.seek(self.offset)
            for record in ArchiveIterator(raw, arc2warc=True):
                return bytes(record.content_stream().read())
        return b""


@dataclass
class _State:
    originals: dict[str, _Original] = field(default_factory=dict)
    pending: list[tuple[WarcSkip, str, str | None, datetime, list[tuple[str, str]], int]] = field(default_factory=list)


def read_pages(paths: Iterable[str | Path], wanted: Callable[[str], bool]) -> Iterator[WarcPage | WarcSkip]:
    """Pages and skips of every record in the given WARC/ARC files (gzipped or not), in file order.

    `wanted(url)` says which target URLs are pages of interest. A revisit whose original comes later in the
    files is resolved at the end; one whose original is in none of them is a skip.
    """
    state = _State()
    for path in paths:
        yield from _read_file(str(path), wanted, state)
    for skip, digest, url, when, headers, status in state.pending:
        original = state.originals.get(digest)
        if original is None or url is None:
            yield skip
        else:
            yield WarcPage(url, when, status or original.status, headers or original.headers, original.body(),
                           skip.file, skip.offset, revisit=True)


def _status(http: StatusAndHeaders | None) -> int:
    if http is None:
        return 0
    try:
        return int(str(http.get_statuscode() or "0"))
    except ValueError:
        return 0


def _read_file(path: str, wanted: Callable[[str], bool], state: _State) -> Iterator[WarcPage | WarcSkip]:
    with open(path, "rb") as raw:
        size = raw.seek(0, io.SEEK_END)
        start = 0
        while start < size:
            raw.seek(start)
            iterator = ArchiveIterator(raw, arc2warc=True)
            offset = start
            try:
                for record in iterator:
                    # Where this record starts (absolute: the iterator began at the file's position). Not
                    # get_record_offset(), which reads the record to its end before its content is read.
                    offset = int(iterator.offset)
                    if _garbled(record):
                        raise ValueError("garbled record headers")
                    yield from _record(record, path, offset, wanted, state)
                return
            except Exception as exc:
                # warcio meets torn and garbled records with ArchiveLoadFailed, zlib errors, EOFError, ValueError
                # and, on a record cut inside its headers, AttributeError: whatever it is, it is this record's
                # fault, so report it and go on from the next record or member.
                # The start of the record being read; warcio's own count can fall behind (even below zero) on
                # garbage, and reading must move forward or it would never end.
                offset = max(start, int(getattr(iterator, "offset", offset)))
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                # Only readable ASCII: warcio quotes the garbage it met, and a report line must stay one clean line.
                message = "".join(ch if ch.isascii() and ch.isprintable() else "?" for ch in message[:80])
                yield WarcSkip(path, offset, f"corrupt record: {type(exc).__name__}: {message}")
                start = _next_record_start(raw, offset + 1, size)


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
    read in chunks so a huge file is never held whole."""
    pos = after
    while pos < size:
        raw.seek(pos)
        block = raw.read(chunk + 16)
        found = [p for p in (block.find(_GZIP_MAGIC),) if p >= 0]
        match = _WARC_MAGIC.search(block)
        if match:
            found.append(match.start() + len(match.group(0)) - len(match.group(0).lstrip(b"\r\n")))
        if found:
            return pos + min(found)
        pos += chunk
    return size


def _record(record: object, path: str, offset: int, wanted: Callable[[str], bool],
            state: _State) -> Iterator[WarcPage | WarcSkip]:
    rec_type = str(getattr(record, "rec_type", ""))
    headers = record.rec_headers  # type: ignore[attr-defined]
    url = headers.get_header("WARC-Target-URI")
    if rec_type not in ("response", "revisit"):
        yield WarcSkip(path, offset, f"{rec_type or 'unknown'} record", url)
        return
    if not url or not wanted(url):
        yield WarcSkip(path, offset, "other host", url)
        return
    truncated = headers.get_header("WARC-Truncated")
    if truncated:
        yield WarcSkip(path, offset, f"truncated: {truncated}", url)
        return
    when = _when(headers.get_header("WARC-Date"))
    http = record.http_headers  # type: ignore[attr-defined]
    status = _status(http)
    header_list = [(k, v) for k, v in (http.headers if http is not None else [])]
    digest = headers.get_header("WARC-Payload-Digest") or ""
    if rec_type == "revisit":
        original = state.originals.get(digest)
        if original is None:
            skip = WarcSkip(path, offset, "revisit of a record not in these files", url)
            state.pending.append((skip, digest, url, when, header_list, status))
            return
        yield WarcPage(url, when, status or original.status, header_list or original.headers, original.body(),
                       path, offset, revisit=True)
        return
    content_type = http.get_header("Content-Type") if http is not None else ""
    if not _HTML.search(content_type or ""):
        yield WarcSkip(path, offset, f"not HTML ({content_type or 'no content type'})", url)
        return
    body = record.content_stream().read()  # type: ignore[attr-defined]
    if digest:
        state.originals[digest] = _Original(status, header_list, path, offset)
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
    info = writer.create_warcinfo_record(filename or "crawler-export.warc.gz", {
        "software": software,
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
    })
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
        record = writer.create_warc_record(page.url, "response", payload=io.BytesIO(page.body), http_headers=http,
                                           warc_headers_dict={"WARC-Date": when})
        writer.write_record(record)
        count += 1
    return count


__all__ = ["PageRecord", "WarcPage", "WarcSkip", "read_pages", "write_warc"]
