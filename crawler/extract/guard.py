"""The last guard: remove and count any known boilerplate line that slipped through pruning."""

from __future__ import annotations

from dataclasses import dataclass, field

from crawler.outlet import Outlet


@dataclass
class GuardResult:
    """Text after the guard and the lines it had to remove (a layout-drift signal when non-empty)."""

    text: str
    removed: list[str] = field(default_factory=list)


def is_boilerplate_line(line: str, outlet: Outlet) -> bool:
    """True when a line is known furniture of the outlet: an exact phrase, a contained phrase, a bare host."""
    stripped = line.strip()
    if not stripped:
        return False
    if any(stripped == p or stripped.rstrip(":") == p.rstrip(":") for p in outlet.line_phrases):
        return True
    lowered = stripped.lower()
    if any(p.lower() in lowered for p in outlet.contains_phrases):
        return True
    return bool(outlet.host_line_regex.match(stripped))


def guard_paragraphs(paragraphs: list[str], outlet: Outlet) -> GuardResult:
    """Drop boilerplate paragraphs and return the rest joined by blank lines, with what was dropped."""
    kept: list[str] = []
    removed: list[str] = []
    for para in paragraphs:
        lines = [ln for ln in para.split("\n") if ln.strip()]
        good = [ln for ln in lines if not is_boilerplate_line(ln, outlet)]
        removed.extend(ln.strip() for ln in lines if is_boilerplate_line(ln, outlet))
        if good:
            kept.append("\n".join(ln.strip() for ln in good))
    return GuardResult("\n\n".join(kept), removed)
