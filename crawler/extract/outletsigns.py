"""Whether a page is the outlet's own: it carries one of the outlet's signs (site name, host, copyright, logo)
in its furniture, not merely in its text.

An outlet URL does not make an outlet page: a parked or seized domain, a hijacked mirror, a WARC record of
another site filed under an outlet URL all serve someone else's page there. The signs are profile data (the
outlet's [signs] table and its hosts); they are looked for where a site marks its pages as its own: the title,
meta and link tags, image addresses, structured data (JSON-LD), header, footer, logo and copyright elements and
the copyright line. An article that only mentions the outlet in its text is not the outlet's page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.outlet import Outlet

NOT_OUTLET_PAGE = "not an outlet page"
"""The refusal reason (and its counting key) for a page that carries none of the outlet's signs."""

_HEAD_BYTES = 512 * 1024
_TAIL_BYTES = 128 * 1024
"""Only a page's first 512 KB and last 128 KB are scanned: the head and the footer are where the signs are,
and a huge page of another site costs a bounded time (~100 ms)."""

_TAG = re.compile(rb"<([A-Za-z][\w:-]{0,30})([^<>]{0,2000})>")
"""An opening tag and its attributes; bounded and stopping at the next "<", so a scan stays linear in the page."""
_MARKED = re.compile(
    rb"""\b(?:class|id)\s*=\s*["']?[^"'<>]{0,300}?(?:logo|copyright|brand|footer|header)""", re.IGNORECASE
)
_ADDRESS_TAGS = frozenset({b"meta", b"link", b"img", b"base", b"script", b"source"})
_COPYRIGHT = re.compile(rb"&copy;|&#169;|&#xa9;|\xc2\xa9|copyright", re.IGNORECASE)
_SPACE = re.compile(rb"\s+|&nbsp;|&#160;")
_BUDGET = 1024 * 1024
"""At most this many bytes of furniture are compared per page, however the page is built."""


@dataclass(frozen=True)
class OutletSigns:
    """What marks a page as the outlet's: names (site name, copyright line, logo file) and hosts."""

    names: tuple[str, ...]
    hosts: tuple[str, ...]

    @classmethod
    def of(cls, names: Iterable[str], hosts: Iterable[str]) -> OutletSigns:
        return cls(tuple(n for n in names if n.strip()), tuple(h for h in hosts if h.strip()))

    def needles(self) -> list[bytes]:
        """Each sign lower-cased, spaces taken out (so "Press TV" and "PressTV" are one sign), as UTF-8."""
        out = {_SPACE.sub(b"", s.lower().encode("utf-8")) for s in (*self.names, *self.hosts)}
        return sorted(n for n in out if n)


def _until(part: bytes, start: int, limit: int, end: bytes = b"<") -> bytes:
    """The bytes from `start` up to `end` (or `limit` bytes): a tag's own text, never the article after it."""
    stop = part.find(end, start, start + limit)
    return part[start : stop if stop >= 0 else start + limit]


def _places(part: bytes) -> Iterator[bytes]:
    """The furniture of one stretch of a page: tag attributes and the text of marked tags."""
    lowered = part.lower()
    for match in _TAG.finditer(part):
        name, attrs, after = match.group(1).lower(), match.group(2), match.end()
        if name in _ADDRESS_TAGS:
            yield attrs
        if name == b"title":
            yield _until(part, after, 500)
        elif name in (b"header", b"footer"):
            yield _until(lowered, after, 5000, b"</" + name)
        elif name == b"script" and b"ld+json" in attrs.lower():
            yield _until(part, after, 20000)
        elif _MARKED.search(attrs):
            yield attrs + _until(part, after, 500)
    for match in _COPYRIGHT.finditer(part):
        yield _until(part, match.end(), 200)


def _furniture(html: bytes) -> Iterator[list[bytes]]:
    """The page's furniture in batches (the first small, so an outlet page's title settles it at once)."""
    budget, batch, size = _BUDGET, [], 8
    for part in (html[:_HEAD_BYTES], html[max(_HEAD_BYTES, len(html) - _TAIL_BYTES) :]):
        for text in _places(part):
            budget -= len(text)
            if budget < 0:
                break
            batch.append(text)
            if len(batch) >= size:
                yield batch
                batch, size = [], size * 8
    if batch:
        yield batch


def signs_found(html: bytes | str, signs: OutletSigns) -> list[str]:
    """The outlet's signs the page's furniture carries (lower-cased, spaces out); empty for another site's page."""
    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    needles = signs.needles()
    for batch in _furniture(data):
        # One haystack a batch (NUL between the pieces, so no sign is found across two of them): thousands of
        # tiny pieces cost one pass, not one each.
        haystack = _SPACE.sub(b"", b"\x00".join(batch).lower())
        found = [n for n in needles if n in haystack]
        if found:
            return sorted(n.decode("utf-8", "replace") for n in found)
    return []


def is_outlet_page(html: bytes | str, signs: OutletSigns) -> bool:
    """True when the page carries at least one of the outlet's signs (always True when the profile lists none)."""
    return not signs.needles() or bool(signs_found(html, signs))


def refusal(display_name: str, kinds: Sequence[str] = ("site name", "host", "copyright", "logo")) -> str:
    """The refusal reason a user reads for a page without the outlet's signs."""
    return f"{NOT_OUTLET_PAGE}: none of {display_name}'s signs ({', '.join(kinds)}) in its title, tags or footer"


def signs_of(outlet: Outlet) -> OutletSigns:
    """The outlet's signs: its [signs] names and its hosts."""
    return OutletSigns.of(outlet.signs, (outlet.canonical_host, *outlet.domains))


def outlet_page_refusal(html: bytes | str, outlet: Outlet) -> str | None:
    """The refusal reason when the page carries none of the outlet's signs (its [signs] names and its hosts),
    None for the outlet's own page: the check every extraction path (crawl, archive backfill, WARC import,
    re-extraction) makes on a page that became an article."""
    return None if is_outlet_page(html, signs_of(outlet)) else refusal(outlet.display_name)


__all__ = [
    "NOT_OUTLET_PAGE",
    "OutletSigns",
    "is_outlet_page",
    "outlet_page_refusal",
    "refusal",
    "signs_found",
    "signs_of",
]
