"""The last guard: remove and count any known boilerplate line that slipped through pruning."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.extract.tree import found_in
from crawler.outlet import Outlet


@dataclass
class GuardResult:
    """Text after the guard and the lines it had to remove (a layout-drift signal when non-empty)."""

    text: str
    removed: list[str] = field(default_factory=list)


def is_boilerplate_line(line: str, outlet: Outlet, contained: bool = True) -> bool:
    """True when a line is known furniture of the outlet: an exact phrase, a contained phrase, a bare host.

    `contained=False` skips the contained-phrase search (the caller found none in the whole text)."""
    stripped = line.strip()
    return bool(stripped) and _known_line(stripped, outlet, contained)


def _known_line(stripped: str, outlet: Outlet, contained: bool) -> bool:
    """is_boilerplate_line of a line already stripped, not empty."""
    # The profile's phrase matchers are compiled once, when it loads.
    if stripped.rstrip(":").strip() in outlet.line_phrase_set:
        return True
    if contained and outlet.contains_phrase_regex is not None and outlet.contains_phrase_regex.search(stripped):
        return True
    return bool(outlet.host_line_regex.match(stripped))


def guard_paragraphs(paragraphs: list[str], outlet: Outlet) -> GuardResult:
    """Drop boilerplate lines and return the paragraphs joined by blank lines, with what was dropped."""
    kept: list[str] = []
    removed: list[str] = []
    # The contained phrases are literal text: one search over all lines says whether any line holds one.
    contains = outlet.contains_phrase_regex
    text = "\n".join(paragraphs)
    contained = contains is not None and found_in(contains, text)
    if text.count("\n") == len(paragraphs) - 1:
        # Each paragraph one line (most bodies): the same steps, without cutting each into its lines.
        for para in paragraphs:
            line = para.strip()
            if line:
                (removed if _known_line(line, outlet, contained) else kept).append(line)
        return GuardResult("\n\n".join(kept), removed)
    for para in paragraphs:
        good: list[str] = []
        for line in para.split("\n"):
            if not line.strip():
                continue
            if is_boilerplate_line(line, outlet, contained):
                removed.append(line.strip())
            else:
                good.append(line.strip())
        if good:
            kept.append("\n".join(good))
    return GuardResult("\n\n".join(kept), removed)
