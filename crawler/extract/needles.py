"""Needles: strings every match of a regex holds, for a C-level `in` test before the regex runs.

A profile's patterns (share links, bylines, the alternate-address note) are long, case-blind alternations that
nearly every text fails; reading what each match must contain from the pattern's own syntax tree lets most texts
be turned away by a substring test. A pattern whose tree this cannot read has no needles and always runs.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

_SRE: Any = importlib.import_module("re._parser")
"""The standard library's own reader of pattern syntax (what re.compile parses with; no stub, hence Any)."""

_MAX_NEEDLES = 16
"""A set of alternative needles is never larger than this (a branch inside a branch multiplies them)."""

_FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f", "\u212a")
"""The only characters a case-blind pattern takes for an ASCII character (İ, ı, long s, the Kelvin sign): text
holding one is searched by the pattern itself, never by a needle."""

_FOLDS_TO_ASCII_UTF8 = tuple(c.encode() for c in _FOLDS_TO_ASCII)

Needles = tuple[frozenset[str], ...]
"""Sets of lower-case ASCII strings: every match of the pattern holds at least one string of each set. The sets
of the longest strings come first: the likeliest to be missing from a text."""


@lru_cache(maxsize=32)
def needles_of(pattern: re.Pattern[str]) -> Needles | None:
    """The needles of a pattern, read from its syntax tree (None when the tree is not one this reads: the
    pattern is then always run)."""
    try:
        found = _sequence_needles(list(_SRE.parse(pattern.pattern, pattern.flags).data))
    except Exception:  # a syntax tree of another shape: no needles, never a wrong one
        return None
    found.sort(key=lambda needles: -min(map(len, needles)))
    return tuple(found)


def _sequence_needles(items: list[tuple[Any, Any]]) -> list[frozenset[str]]:
    """Needle sets of a sequence of pattern items: the runs of literal text in it (a short branch of literals
    spelled out), and what each group, branch or repeated item that must match holds."""
    found: list[frozenset[str]] = []
    run: set[str] | None = None  # the literal text matched since the last item that is not literal

    def close() -> None:
        if run and "" not in run:
            found.append(frozenset(run))

    for op, av in items:
        strings = _literal_strings(op, av)
        if strings is not None:
            if run is None or len(run) * len(strings) > _MAX_NEEDLES:
                close()
                run = set(strings)
            else:
                run = {r + s for r in run for s in strings}
            continue
        close()
        run = None
        found.extend(_item_needles(op, av))
    close()
    return found


def _literal_strings(op: Any, av: Any) -> set[str] | None:
    """Every string an item can match when it matches only a few fixed ASCII strings (a character, a class of
    a few characters, a group or branch of such), lower-cased; else None."""
    if op is _SRE.LITERAL:
        char = chr(av)
        return {char.lower()} if char.isascii() and char != "\n" else None
    if op is _SRE.IN:
        if not all(kind is _SRE.LITERAL for kind, _ in av):
            return None  # a range, a category or a negated class
        chars = {chr(code) for _, code in av}
        return {c.lower() for c in chars} if all(c.isascii() and c != "\n" for c in chars) else None
    if op is _SRE.SUBPATTERN:
        return _all_strings(list(av[-1].data))
    if op is _SRE.BRANCH:
        strings: set[str] = set()
        for branch in av[1]:
            more = _all_strings(list(branch.data))
            if more is None:
                return None
            strings |= more
        return strings if len(strings) <= _MAX_NEEDLES else None
    return None


def _all_strings(items: list[tuple[Any, Any]]) -> set[str] | None:
    """Every string a sequence of items matches, when each item matches fixed strings and they are few."""
    strings = {""}
    for op, av in items:
        more = _literal_strings(op, av)
        if more is None or len(strings) * len(more) > _MAX_NEEDLES:
            return None
        strings = {s + m for s in strings for m in more}
    return strings


def _item_needles(op: Any, av: Any) -> list[frozenset[str]]:
    """Needle sets of an item that is not literal text: a group's, a branch's (one set: of each alternative, the
    set whose shortest needle is longest), an item repeated at least once; none for anything else."""
    if op is _SRE.SUBPATTERN:
        return _sequence_needles(list(av[-1].data))
    if op in (_SRE.MAX_REPEAT, _SRE.MIN_REPEAT) and av[0] >= 1:
        return _sequence_needles(list(av[2].data))
    if op is _SRE.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            sets = _sequence_needles(list(branch.data))
            if not sets:
                return []  # an alternative without needles: the branch has none
            union |= max(sets, key=lambda needles: (min(map(len, needles)), -len(needles)))
        return [frozenset(union)]
    return []


def may_match(needles: Needles | None, texts: Iterable[str]) -> bool:
    """False only when no match of the pattern can lie in the texts: some needle set has no needle in them."""
    if needles is None:
        return True
    text = "\n".join(texts)
    low = text.lower()
    if all(any(n in low for n in needle_set) for needle_set in needles):
        return True
    return not text.isascii() and any(c in text for c in _FOLDS_TO_ASCII)


@lru_cache(maxsize=32)
def _needle_patterns(pattern: re.Pattern[str]) -> tuple[re.Pattern[str], ...] | None:
    """Each needle set of the pattern as one search (for short texts: one call instead of a test per needle)."""
    needles = needles_of(pattern)
    if needles is None:
        return None
    return tuple(re.compile("|".join(re.escape(n) for n in sorted(found))) for found in needles)


def may_match_one(pattern: re.Pattern[str], text: str) -> bool:
    """may_match for one short text (a link target)."""
    searches = _needle_patterns(pattern)
    if searches is None:
        return True
    low = text.lower()
    if all(search.search(low) for search in searches):
        return True
    return not text.isascii() and any(c in text for c in _FOLDS_TO_ASCII)


def may_match_utf8(needles: Needles | None, data: bytes) -> bool:
    """may_match for UTF-8 text: its ASCII letters lower-cased alone (far cheaper), enough since a needle is
    ASCII and no other character but those of _FOLDS_TO_ASCII matches an ASCII one."""
    if needles is None:
        return True
    low = data.lower()
    if all(any(n.encode() in low for n in needle_set) for needle_set in needles):
        return True
    # Each byte of a folding character is looked for alone first (a one-byte search is the cheapest).
    return any(all(bytes((b,)) in data for b in char) and char in data for char in _FOLDS_TO_ASCII_UTF8)


__all__ = ["Needles", "may_match", "may_match_one", "may_match_utf8", "needles_of"]
