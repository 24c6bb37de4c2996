"""Turn raw page bytes into text safely: size and binary checks, charset detection, gzip files."""

from __future__ import annotations

import codecs
import gzip
import re
import zlib

from crawler.extract.errors import NotAnArticle

MAX_PAGE_BYTES = 16 * 1024 * 1024
"""Pages larger than this are refused: no real article page comes near it (Press TV pages are <200 KB)."""

MAX_GZIP_RATIO = 200
"""A .gz file that inflates more than this many times its size is treated as a gzip bomb."""

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.\-]+)""", re.IGNORECASE)


def gunzip_limited(data: bytes, limit: int = MAX_PAGE_BYTES) -> bytes:
    """Inflate gzip data, refusing output over `limit` bytes (so a bomb never fills memory)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise NotAnArticle(f"corrupt gzip data: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise NotAnArticle(f"page too large: inflates past {limit // (1024 * 1024)} MB (gzip bomb?)")
    return out


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in its first 4 KB (meta charset or http-equiv), if it names a known codec."""
    match = _META_CHARSET.search(data[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii", "replace")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


_MAGIC = (
    b"%PDF-",
    b"PK\x03\x04",
    b"\x89PNG",
    b"GIF87a",
    b"GIF89a",
    b"\xff\xd8\xff",
    b"RIFF",
    b"OggS",
    b"ID3",
    b"\x00\x00\x00\x18ftyp",
    b"\x00\x00\x00\x20ftyp",
    b"\x7fELF",
    b"BZh",
    b"\xfd7zXZ",
)
"""Leading bytes of file formats that are never a web page (PDF, zip, images, audio/video, executables)."""


_BINARY_CONTROLS = bytes([*range(0x00, 0x09), *range(0x0E, 0x20)])
"""The control bytes (below 9, and from 14 to 31) that make a page's head binary when there are many."""


def looks_binary(data: bytes) -> bool:
    """True for bodies that are not text: a known binary format, or many NUL/control bytes in the first 2 KB.

    A stray NUL or two in a real page is noise (dropped later), not a reason to refuse it.
    """
    head = data[:2048]
    if not head:
        return False
    if head.startswith(_MAGIC):
        return True
    controls = len(head) - len(head.translate(None, _BINARY_CONTROLS))  # counted in C
    return controls / len(head) > 0.05


_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f]")
"""C0 control characters: never page text, and libxml2 stops reading a document at a NUL.
(A regex, not str.translate: translate with a table costs ~20 ms on a 500 KB page, the regex ~1 ms.)"""


def decode_html(data: bytes | str, header_charset: str | None = None) -> str:
    """Page text from bytes, refusing empty, oversized and binary bodies; stray control characters dropped.

    Declarations lie (a page saying windows-1252 but sent as UTF-8, and the reverse), so strict UTF-8 is
    tried first: text that decodes as UTF-8 is almost never anything else. Then the declared charsets,
    then windows-1252, which decodes any byte.
    """
    return decode_page(data, header_charset)[0]


def decode_page(data: bytes | str, header_charset: str | None = None) -> tuple[str, bytes]:
    """decode_html's text, and that text as UTF-8 (what the HTML parser reads): the page's own bytes when they
    were that text in UTF-8 already (most pages), so they are not encoded again."""
    text, utf8 = _decode(data, header_charset)
    raw = utf8 if utf8 is not None else text.encode("utf-8", "surrogatepass")
    if len(raw.translate(None, _CONTROL_BYTES)) == len(raw):
        return text, raw
    text = _CONTROLS.sub("", text)
    return text, text.encode("utf-8", "surrogatepass")


_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20)])
"""The characters _CONTROLS matches, as UTF-8 bytes: no other character's UTF-8 form holds a byte below 0x80."""


def _decode(data: bytes | str, header_charset: str | None) -> tuple[str, bytes | None]:
    """The page's text, and the bytes it was decoded from when they are its UTF-8 form: bytes that decode as
    strict UTF-8 are exactly the text's UTF-8 (the strict decoder makes no surrogates), so they need no
    encoding again."""
    if isinstance(data, str):
        if len(data) > MAX_PAGE_BYTES:
            raise NotAnArticle(f"page too large: {len(data) // (1024 * 1024)} MB of text (limit 16 MB)")
        if not data.strip():
            raise NotAnArticle("empty page")
        if "\x00" in data[:2048]:
            raise NotAnArticle("binary body, not HTML")
        return data, None
    if data[:2] == b"\x1f\x8b":
        data = gunzip_limited(data)
    if len(data) > MAX_PAGE_BYTES:
        raise NotAnArticle(f"page too large: {len(data) // (1024 * 1024)} MB (limit 16 MB)")
    if not data.strip():
        raise NotAnArticle("empty page")
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace"), None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace"), None
    if looks_binary(data):
        raise NotAnArticle("binary body, not HTML")
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        pass
    for name in (header_charset, declared_charset(data)):
        if name and codecs.lookup(name).name not in ("utf-8", "ascii"):
            return data.decode(name, "replace"), None
    return data.decode("windows-1252", "replace"), None


def read_page_file(path: str) -> bytes:
    """Bytes of a saved page (`.html` or `.html.gz`), gzip inflated with the bomb guard."""
    with open(path, "rb") as fh:
        data = fh.read(MAX_PAGE_BYTES + 1)
    if path.endswith(".gz") or data[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as gz:
                data = gz.read(MAX_PAGE_BYTES + 1)
        except (OSError, EOFError) as exc:
            raise NotAnArticle(f"corrupt gzip file: {exc}") from None
    if len(data) > MAX_PAGE_BYTES:
        raise NotAnArticle(f"page too large: over {MAX_PAGE_BYTES // (1024 * 1024)} MB")
    return data
