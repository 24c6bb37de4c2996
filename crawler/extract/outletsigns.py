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

_SCAN_BYTES = 2 * 1024 * 1024
"""Only a page's first 2 MB and last 256 KB are scanned: the head and the footer are where the signs are."""

_FLAGS = re.IGNORECASE | re.DOTALL
_PLACES = (
    re.compile(rb"<title\b[^>]*>(.{0,500}?)</title", _FLAGS),
    re.compile(rb"<(?:meta|link|img|base|script|source)\b([^>]{0,2000})>", _FLAGS),
    re.compile(rb"<script\b[^>]*ld\+json[^>]*>(.{0,20000}?)</script", _FLAGS),
    re.compile(rb"<(?:header|footer)\b[^>]*>(.{0,20000}?)</(?:header|footer)>", _FLAGS),
    re.compile(rb"<\w+\b[^>]*\b(?:class|id)\s*=\s*[\"']?[^\"'>]*(?:logo|copyright|brand|footer|header)[^>]*>"
               rb"(.{0,500})", _FLAGS),
    re.compile(rb"(?:&copy;|&#169;|&#xa9;|\xc2\xa9|\xa9|copyright)(.{0,200})", _FLAGS),
)
_SPACE = re.compile(rb"\s+|&nbsp;|&#160;")


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


def _furniture(html: bytes) -> Iterator[bytes]:
    head = html[:_SCAN_BYTES]
    tail = html[-_SCAN_BYTES // 8:] if len(html) > _SCAN_BYTES else b""
    for part in (head, tail):
        for place in _PLACES:
            for match in place.finditer(part):
                yield _SPACE.sub(b"", match.group(1).lower())


def signs_found(html: bytes | str, signs: OutletSigns) -> list[str]:
    """The outlet's signs the page's furniture carries (lower-cased, spaces out); empty for another site's page."""
    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    needles = signs.needles()
    found: set[bytes] = set()
    for text in _furniture(data):
        found.update(n for n in needles if n in text)
        if found:
            break  # one sign is enough
    return sorted(n.decode("utf-8", "replace") for n in found)


def is_outlet_page(html: bytes | str, signs: OutletSigns) -> bool:
    """True when the page carries at least one of the outlet's signs (always True when the profile lists none)."""
    return not signs.needles() or bool(signs_found(html, signs))


def refusal(display_name: str, kinds: Sequence[str] = ("site name", "host", "copyright", "logo")) -> str:
    """The refusal reason a user reads for a page without the outlet's signs."""
    return f"{NOT_OUTLET_PAGE}: none of {display_name}'s signs ({', '.join(kinds)}) in its title, tags or footer"


def outlet_page_refusal(html: bytes | str, outlet: Outlet) -> str | None:
    """The refusal reason when the page carries none of the outlet's signs (its [signs] names and its hosts),
    None for the outlet's own page: the check every extraction path (crawl, archive backfill, WARC import,
    re-extraction) makes on a page that became an article."""
    signs = OutletSigns.of(outlet.signs, (outlet.canonical_host, *outlet.domains))
    return None if is_outlet_page(html, signs) else refusal(outlet.display_name)


__all__ = ["NOT_OUTLET_PAGE", "OutletSigns", "is_outlet_page", "outlet_page_refusal", "refusal", "signs_found"]
