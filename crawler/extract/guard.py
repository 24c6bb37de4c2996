"""The last guard: remove and count any known boilerplate line that slipped through pruning."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crawler.outlet import Outlet


@dataclass
class GuardResult:
    """Text after the guard and the lines it had to remove (a layout-drift signal when non-empty)."""

    text: str
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Matcher:
    exact: frozenset[str]
    contains: re.Pattern[str] | None
    host_line: re.Pattern[str]


_MATCHERS: dict[int, tuple[Outlet, _Matcher]] = {}


def _matcher(outlet: Outlet) -> _Matcher:
    """The outlet's phrases compiled once: a set for whole-line phrases, one regex for contained ones."""
    cached = _MATCHERS.get(id(outlet))
    if cached is not None and cached[0] is outlet:
        return cached[1]
    contains = "|".join(re.escape(p) for p in outlet.contains_phrases)
    matcher = _Matcher(
        exact=frozenset(p.strip().rstrip(":").strip() for p in outlet.line_phrases),
        contains=re.compile(contains, re.IGNORECASE) if contains else None,
        host_line=outlet.host_line_regex,
    )
    _MATCHERS[id(outlet)] = (outlet, matcher)
    return matcher


def is_boilerplate_line(line: str, outlet: Outlet) -> bool:
    """True when a line is known furniture of the outlet: an exact phrase, a contained phrase, a bare host."""
    stripped = line.strip()
    if not stripped:
        return False
    m = _matcher(outlet)
    if stripped.rstrip(":").strip() in m.exact:
        return True
    if m.contains is not None and m.contains.search(stripped):
        return True
    return bool(m.host_line.match(stripped))


def guard_paragraphs(paragraphs: list[str], outlet: Outlet) -> GuardResult:
    """Drop boilerplate lines and return the paragraphs joined by blank lines, with what was dropped."""
    kept: list[str] = []
    removed: list[str] = []
    for para in paragraphs:
        good: list[str] = []
        for line in para.split("\n"):
            if not line.strip():
                continue
            if is_boilerplate_line(line, outlet):
                removed.append(line.strip())
            else:
                good.append(line.strip())
        if good:
            kept.append("\n".join(good))
    return GuardResult("\n\n".join(kept), removed)
