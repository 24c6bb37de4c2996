"""`crawler diff`: what changed in an article between two stored versions, word by word (title, lead, body)."""

from __future__ import annotations

import argparse
import difflib
import sys
from dataclasses import dataclass

from crawler.cli.commands.argtypes import whole
from crawler.cli.commands.common import open_reader, store_path
from crawler.core.status import CommandError
from crawler.core.terminal import safe
from crawler.store import StoredVersion, StoreError

FIELDS = ("title", "lead", "body")
CONTEXT_WORDS = 8
"""Unchanged words shown on each side of a change."""
PARAGRAPH = "\n\n"
"""Paragraph breaks are words of their own, so a change never hides one."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diff",
        help="word-level diff of an article's title, lead and body between two stored versions",
        description="Show what changed between two stored versions of an article (default: the last two): "
        "removed words as [-...-], added ones as {+...+} (in colour on a terminal).",
    )
    p.add_argument("article_id", metavar="ARTICLE_ID", help="the article's id, e.g. 780001")
    p.add_argument(
        "--from",
        dest="from_version",
        type=whole(1, 10**9),
        metavar="N",
        help="older version (default: the one before --to)",
    )
    p.add_argument(
        "--to", dest="to_version", type=whole(1, 10**9), metavar="M", help="newer version (default: the latest)"
    )
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.set_defaults(func=run)


@dataclass
class Change:
    """One run of words: unchanged (`old` == `new`) or replaced/removed/added."""

    old: list[str]
    new: list[str]

    @property
    def equal(self) -> bool:
        return self.old == self.new


def words(text: str | None) -> list[str]:
    """The text's words, with each paragraph break as a word of its own."""
    out: list[str] = []
    for n, paragraph in enumerate((text or "").split(PARAGRAPH)):
        if n:
            out.append(PARAGRAPH)
        out.extend(paragraph.split())
    return out


def word_diff(old: str | None, new: str | None) -> list[Change]:
    """The word runs of `new` against `old`. Short coincidental matches inside a rewritten passage (a lone
    "the") are folded into the change around them, so a replaced sentence reads as one change."""
    a, b = words(old), words(new)
    changes = [
        Change(a[i1:i2], b[j1:j2])
        for _, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    ]
    return _fold(_merge_adjacent(changes))


def _size(change: Change) -> int:
    return max(len(change.old), len(change.new))


def _merge_adjacent(changes: list[Change]) -> list[Change]:
    out: list[Change] = []
    for change in changes:
        if out and not change.equal and not out[-1].equal:
            out[-1] = Change(out[-1].old + change.old, out[-1].new + change.new)
        else:
            out.append(change)
    return out


def _fold(changes: list[Change]) -> list[Change]:
    # An unchanged run no longer than the edits on both sides of it is noise inside one edit (the rule of
    # diff-match-patch's semantic cleanup).
    folded = True
    while folded:
        folded = False
        for i in range(1, len(changes) - 1):
            left, mid, right = changes[i - 1], changes[i], changes[i + 1]
            if mid.equal and not left.equal and not right.equal and len(mid.old) <= min(_size(left), _size(right)):
                changes[i - 1 : i + 2] = [Change(left.old + mid.old + right.old, left.new + mid.new + right.new)]
                folded = True
                break
    return changes


def _join(tokens: list[str]) -> str:
    # Page text is made inert here, before the diff's own colour codes go around it.
    return " ".join("¶" if t == PARAGRAPH else safe(t, newlines=False) for t in tokens)


def format_changes(changes: list[Change], *, color: bool) -> list[str]:
    """One line per hunk: nearby changes with the unchanged words between them and up to CONTEXT_WORDS
    unchanged words before and after."""
    if color:
        deleted, added = ("\x1b[31m[-", "-]\x1b[0m"), ("\x1b[32m{+", "+}\x1b[0m")
    else:
        deleted, added = ("[-", "-]"), ("{+", "+}")
    hunks: list[str] = []
    parts: list[str] = []
    for i, change in enumerate(changes):
        if change.equal:
            continue
        before = changes[i - 1].old if i and changes[i - 1].equal else []
        after = changes[i + 1].old if i + 1 < len(changes) and changes[i + 1].equal else []
        if not parts:
            parts.append(("… " if len(before) > CONTEXT_WORDS else "") + _join(before[-CONTEXT_WORDS:]))
        if change.old:
            parts.append(f"{deleted[0]}{_join(change.old)}{deleted[1]}")
        if change.new:
            parts.append(f"{added[0]}{_join(change.new)}{added[1]}")
        more = any(not c.equal for c in changes[i + 1 :])
        if more and len(after) <= 2 * CONTEXT_WORDS:
            parts.append(_join(after))
            continue
        parts.append(_join(after[:CONTEXT_WORDS]) + (" …" if len(after) > CONTEXT_WORDS else ""))
        hunks.append(" ".join(p for p in parts if p))
        parts = []
    return hunks


def render(article_id: str, older: StoredVersion, newer: StoredVersion, *, color: bool) -> str:
    """The diff of two versions as text: a header with both versions' times, then each field's changes."""
    lines = [
        f"article {safe(article_id)}  {safe(newer.item.get('url', ''), newlines=False)}",
        f"version {older.version} (stored {older.stored_at} UTC) -> version {newer.version} "
        f"(stored {newer.stored_at} UTC)",
    ]
    for name in FIELDS:
        changes = word_diff(older.item.get(name), newer.item.get(name))
        hunks = format_changes(changes, color=color)
        if not hunks:
            lines.append(f"{name}: unchanged")
            continue
        lines.append(f"{name}:")
        lines.extend(f"  {hunk}" for hunk in hunks)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    store = open_reader(store_path(args))
    try:
        versions = store.versions(args.article_id)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.close()
    if not versions:
        raise CommandError(f"article {args.article_id} is not in the store")
    by_number = {v.version: v for v in versions}
    newest = versions[-1].version
    to_version = newest if args.to_version is None else args.to_version
    from_version = to_version - 1 if args.from_version is None else args.from_version
    for flag, number in (("--to", to_version), ("--from", from_version)):
        if number not in by_number:
            if len(versions) == 1 and args.from_version is None and args.to_version is None:
                print(
                    f"article {args.article_id} has one version (stored {versions[0].stored_at} UTC): "
                    "nothing to compare",
                    file=sys.stderr,
                )
                return 0
            raise CommandError(f"{flag} {number}: article {args.article_id} has versions 1 to {newest}")
    if from_version == to_version:
        raise CommandError(f"--from and --to are both version {to_version}; give two different versions")
    print(render(args.article_id, by_number[from_version], by_number[to_version], color=sys.stdout.isatty()))
    return 0
