"""Shared lxml helpers of the extractors: cached XPaths, node text, meta tags, node removal, the result type."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from lxml import etree

from crawler.core.items import Article, normalise_text
from crawler.core.urls import join_url

LOCAL = threading.local()


def xp(expr: str, smart_strings: bool = True) -> etree.XPath:
    """A compiled XPath (profiles are data, so expressions are compiled on first use and kept).

    Kept per thread: lxml does not promise that one compiled XPath may run in two threads at once.
    `smart_strings=False`: strings found are plain ones, without a link to their element (cheaper to make).
    """
    cache: dict[tuple[str, bool], etree.XPath] | None = getattr(LOCAL, "xpaths", None)
    if cache is None:
        cache = LOCAL.xpaths = {}
    key = (expr, smart_strings)
    compiled = cache.get(key)
    if compiled is None:
        compiled = cache[key] = etree.XPath(expr, smart_strings=smart_strings)
    return compiled


def doc_iter(tree: etree._Element, *tags: str) -> Iterator[etree._Element]:
    """The document's elements of the given tags in document order, as the XPath `//tag | ...` finds them (also
    in what a broken page puts beside its root element), walked in C without building a node-set."""
    root = tree.getroottree().getroot()
    for top in (*reversed(list(root.itersiblings(preceding=True))), root, *root.itersiblings()):
        yield from top.iter(*tags)


def node_text(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return normalise_text(node)
    if not len(node) and isinstance(node.tag, str):
        return normalise_text(node.text or "")  # an element without children: its text is all of it
    return normalise_text(" ".join(node.itertext()))


def first_match(tree: etree._Element, xpaths: tuple[str, ...]) -> Any:
    """The first node (or attribute string) with text that one of the XPaths finds, trying them in order."""
    for expr in xpaths:
        found = xp(expr)(tree)
        if isinstance(found, list):
            for node in found:
                if node_text(node):
                    return node
    return None


def meta_map(tree: etree._Element) -> dict[str, str]:
    """name/property/itemprop (lower case) -> content of the page's first non-empty <meta> of that name.

    Read once per page (kept for the last tree this thread looked at): several fields ask for meta tags.
    """
    cached = getattr(LOCAL, "meta", None)
    if cached is not None and cached[0] is tree:
        return cached[1]
    found: dict[str, str] = {}
    for node in doc_iter(tree, "meta"):
        if node.get("content") is None:
            continue
        key = (node.get("name") or node.get("property") or node.get("itemprop") or "").strip().lower()
        if key and key not in found and node.get("content", "").strip():
            found[key] = normalise_text(node.get("content", ""))
    LOCAL.meta = (tree, found)
    return found


def meta_value(tree: etree._Element, *names: str) -> str:
    """Content of the first non-empty <meta> whose name, property or itemprop is one of `names` (in order)."""
    found = meta_map(tree)
    for name in names:
        value = found.get(name.lower())
        if value:
            return value
    return ""


_SPACE_NOT_XML = re.compile("[\x0b\x0c\x1c-\x1f]")
_NOT_XML = re.compile("[\x00-\x08\x0e-\x1b\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    """Text lxml takes back into a tree. A page's character references (`&#27;`) put characters in its text that
    lxml refuses to set again: they are dropped, and the ones str.split counts as whitespace made spaces, which
    leaves what normalise_text makes of the text as it was."""
    return _NOT_XML.sub("", _SPACE_NOT_XML.sub(" ", text))


def set_text(el: etree._Element, text: str | None, *, tail: bool = False) -> None:
    """el.text = text (el.tail with `tail`), made acceptable to lxml when it is not (see xml_text)."""
    attr = "tail" if tail else "text"
    try:
        setattr(el, attr, text)
    except ValueError:
        setattr(el, attr, xml_text(text or ""))


def runs_outside(el: etree._Element, tags: frozenset[str], rest: list[str], held: list[etree._Element]) -> None:
    """The text runs of `el` outside the elements of these tags it holds (into `rest`), and those elements (into
    `held`), in document order."""
    if el.text:
        rest.append(el.text)
    for child in el:
        tag = child.tag
        if tag in tags:
            held.append(child)
        elif isinstance(tag, str):
            runs_outside(child, tags, rest, held)  # (a comment's text is not the page's: its tail is)
        if child.tail:
            rest.append(child.tail)


def remove_node(node: etree._Element) -> None:
    """Remove a node but keep its tail text (lxml's drop_tree semantics for any element)."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        prev = node.getprevious()
        if prev is not None:
            set_text(prev, (prev.tail or "") + node.tail, tail=True)
        else:
            set_text(parent, (parent.text or "") + node.tail)
    parent.remove(node)


def is_inside(node: etree._Element, ancestor: etree._Element) -> bool:
    """True when `node` is `ancestor` or one of its descendants."""
    return node is ancestor or any(a is ancestor for a in node.iterancestors())


def already_normal(text: str) -> bool:
    """True when normalise_text(text) is the text itself, by cheap tests: printable (no whitespace but the space,
    no control character), no two spaces running, none at either end, and in NFC (ASCII always is)."""
    return (
        text.isprintable()
        and "  " not in text
        and text[:1] != " "
        and text[-1:] != " "
        and (text.isascii() or unicodedata.is_normalized("NFC", text))
    )


def split_paragraphs(text: str) -> list[str]:
    # Most lines (trafilatura's output) are normal already: they are kept as they are.
    return [ln if already_normal(ln) else normalise_text(ln) for ln in text.split("\n") if ln.strip()]


def link_density(region: etree._Element) -> float:
    text = node_text(region)
    if not text:
        return 0.0
    linked = sum(len(node_text(a)) for a in region.iter("a"))
    return linked / len(text)


def page_language(tree: etree._Element, default: str) -> str:
    lang = str(xp("string(/html/@lang)")(tree)).strip().lower()[:2]  # (compiled once, not per page)
    return lang if lang.isalpha() and len(lang) == 2 else default


def absolute_url(url: str | None, base: str) -> str | None:
    if not url:
        return None
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    return join_url(base, url)  # (None for a malformed one)


def iso_date(text: str) -> str | None:
    """ISO 8601 with offset from a machine-readable date; a date without zone is taken as UTC."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat(timespec="seconds")


MIN_BODY_WORDS = 25
"""A page of a known outlet whose cleaned body has fewer words than this is not an article."""


@dataclass
class Extraction:
    """An extracted article plus what the cleaning steps removed (kept apart from the item for run statistics)."""

    article: Article
    guard_removed: list[str]
    """Lines the last boilerplate guard removed (a layout-drift signal when non-empty)."""
    layout: str
    """The profile layout that matched, or "unknown" (also for hosts no profile knows)."""
    removed: dict[str, list[str]] = field(default_factory=dict)
    """What the layout-independent cues removed, by reason (e.g. "dateline", "nav-block"): counted per reason
    in run stats like the guard."""
    layout_misses: list[str] = field(default_factory=list)
    """On a page of a known layout, the layout's rules that missed while the cues did their job: "date",
    "breadcrumb" or "caption" (the rule found nothing, the cues supplied the field) and "prune" (furniture
    reached the body region and the cues removed it). A run counts them: many misses mean the layout drifted."""


_WORD = re.compile(r"\w+")


_PUNCTUATION = "".join(
    c for c in "\u2019\u2018\u201c\u201d\u2014\u2013\u2011\u2026\u2022\xa0\xab\xbb" if not _WORD.match(c)
)
"""The characters other than ASCII that English text holds most (curly quotes, dashes, ellipsis, no-break space),
none of them one \\w matches."""


_LOWER_WORDS = bytes(ord(c.lower()) if c.isalnum() or c == "_" else ord(" ") for c in map(chr, range(128))) + bytes(
    range(128, 256)
)
"""ASCII text's bytes to their lower case, every one \\w does not match to a space (bytes.translate: a table look-up
a byte, where str.translate of ASCII text pays a dictionary look-up a character)."""

_WORD_MARKS = bytes(ord("a") if c.isalnum() or c == "_" else ord(" ") for c in map(chr, range(128))) + bytes(
    range(128, 256)
)
"""ASCII text's bytes to "a" where \\w matches them, else to a space: a word starts at each " a" (or an opening "a")."""


def _ascii_form(text: str) -> str | None:
    """An ASCII text with the same lower-case \\w+ words as `text` (`text` itself when it is ASCII), else None."""
    if text.isascii():
        return text  # (lower-casing ASCII text keeps it ASCII and each character a word character or not)
    low = text.lower()
    # Text that is ASCII but for punctuation \\w does not match has the same words with that punctuation made
    # spaces: cut by str.split, faster than the regex.
    for mark in _PUNCTUATION:
        if mark in low:
            low = low.replace(mark, " ")
    return low if low.isascii() else None


def lower_words(text: str) -> list[str]:
    """The lower-case \\w+ words of a text."""
    plain = _ascii_form(text)
    if plain is None:
        return _WORD.findall(text.lower())
    return plain.encode("ascii").translate(_LOWER_WORDS).decode("ascii").split()


def count_words(text: str) -> int:
    """len(lower_words(text)), without making the words: of ASCII text, how many runs of \\w characters it holds."""
    plain = _ascii_form(text)
    if plain is None:
        return len(_WORD.findall(text.lower()))
    marks = plain.encode("ascii").translate(_WORD_MARKS)
    # Each run starts after a space or at the start; two " a" never overlap, so count() finds every start.
    return marks.count(b" a") + marks.startswith(b"a")


def shingle_f1(a: str, b: str, n: int = 4) -> float:
    """How much two texts say the same: F1 of their n-word shingle counts (1.0 for two empty texts)."""
    return shingle_f1_words(lower_words(a), lower_words(b), n)


def paragraph_word_count(paragraphs: list[str], cache: dict[str, int]) -> int:
    """How many lower_words the paragraphs hold together, each distinct paragraph counted once (kept in `cache`)."""
    total = 0
    for para in paragraphs:
        found = cache.get(para)
        if found is None:
            found = cache[para] = count_words(para)
        total += found
    return total


def shared_paragraphs(a: list[str], b: list[str], words: dict[str, list[str]], n: int = 4) -> tuple[Counter[str], int]:
    """The paragraphs of at least n words two texts both hold, as a multiset, and how many n-word shingles lie
    inside them: shingles both texts share. The texts are given as their paragraphs' words joined by spaces (one
    string a paragraph: its hash is kept), `words` maps each to its words."""
    left = Counter(key for key in b if len(words[key]) >= n)
    same: Counter[str] = Counter()
    inner = 0
    for key in a:
        if left[key] > 0:  # (a paragraph under n words is never in `left`)
            left[key] -= 1
            same[key] += 1
            inner += len(words[key]) - n + 1
    return same, inner


def common_shingle_bounds(
    a: list[str], b: list[str], words: dict[str, list[str]], same: Counter[str], inner: int, n: int = 4
) -> tuple[int, int]:
    """Bounds of how many n-word shingles two texts of at least n words share, as shingle_f1_words counts them
    in their joined words; the texts are given as to shared_paragraphs, with its answer.

    Each text's shingles are those inside the shared paragraphs (the same multiset in both: `inner` of them)
    plus the rest, so the count is `inner` plus what the rests share, where min(inner + x, inner + y) = inner +
    min(x, y) for each shingle. Of the rests only sets are made (in C, where counting each shingle is not): each
    distinct shingle both rests hold counts min(its count in one, in the other) >= 1 times, the lower bound; the
    sum is at most those shingles' counts in one rest, above their number by at most that rest's repeats (its
    shingles less its distinct ones): the upper bound."""
    rest_a, size_a = _shingles_outside(a, words, same.copy(), n)
    rest_b, size_b = _shingles_outside(b, words, same.copy(), n)
    low = inner + len(rest_a & rest_b)
    return low, low + min(size_a - len(rest_a), size_b - len(rest_b))


def _shingles_outside(
    paragraphs: list[str], words: dict[str, list[str]], skip: Counter[str], n: int
) -> tuple[set[str], int]:
    """The distinct n-word shingles of the paragraphs' joined words but those inside a paragraph of `skip` (as
    many of each as it counts, the first ones), and how many shingles that leaves."""
    joined: list[str] = []
    cuts = []  # (first, last + 1) start of the shingles left out
    for key in paragraphs:
        if skip[key] > 0:
            skip[key] -= 1
            cuts.append((len(joined), len(joined) + len(words[key]) - n + 1))
        joined.extend(words[key])
    end = len(joined) - n + 1
    cuts.append((end, end))
    # Each shingle as its words joined by spaces (no word holds one, so two shingles join alike only when they
    # are alike): strings, unlike tuples, are no work for the garbage collector, and zip reuses its one tuple.
    found: set[str] = set()
    size = at = 0
    for first, last in cuts:
        if first > at:
            window = joined[at : first + n - 1]
            found.update(map(" ".join, zip(*(window[i:] for i in range(n)), strict=False)))
            size += first - at
        at = max(at, last)
    return found, size


def shingle_f1_words(wa: list[str], wb: list[str], n: int = 4) -> float:
    """shingle_f1 of two texts given as their lower-case words."""
    if wa == wb:
        return 1.0

    def grams(words: list[str]) -> Counter[tuple[str, ...]]:
        if len(words) < n:
            return Counter([tuple(words)] if words else [])
        return Counter(zip(*(words[i:] for i in range(n)), strict=False))

    ga, gb = grams(wa), grams(wb)
    size_a, size_b = sum(ga.values()), sum(gb.values())
    # Without repeated shingles the common count is a set intersection, in C.
    unique = len(ga) == size_a and len(gb) == size_b
    common = len(ga.keys() & gb.keys()) if unique else sum((ga & gb).values())
    if not common:
        return 0.0
    precision, recall = common / size_b, common / size_a
    return 2 * precision * recall / (precision + recall)


def own_text_length(el: etree._Element) -> int:
    """Characters of text an element holds itself (its text and its children's tails), stripped."""
    size = len((el.text or "").strip())
    for child in el:
        size += len((child.tail or "").strip())
    return size


# Characters other than ASCII letters that a case-blind pattern of ASCII lower-case letters matches ("ı", "ſ")
# or that lower-casing adds ("İ" becomes "i" and a combining dot): text holding one is searched as it is.
_FOLD_SPECIAL = ("\u0131", "\u017f", "\u0307")


@lru_cache(maxsize=16)
def _case_sensitive(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """The case-blind pattern as a case-sensitive one for lower-cased text, when it says the same there (an ASCII
    pattern without capitals: no \\S, \\W, \\B escapes or A-Z ranges), else None."""
    src = pattern.pattern
    if not pattern.flags & re.IGNORECASE or not src.isascii() or src != src.lower():
        return None
    return re.compile(src, pattern.flags & ~re.IGNORECASE)


def found_in(pattern: re.Pattern[str], text: str) -> bool:
    """pattern.search(text) for a case-blind pattern, faster: Python's case-blind search tests every position,
    a case-sensitive one of lower-case text skips to where its first letters occur."""
    fast = _case_sensitive(pattern)
    if fast is not None:
        low = text.lower()
        if low.isascii() or not any(c in low for c in _FOLD_SPECIAL):
            literals = _literals(fast)
            if literals is not None:  # a list of phrases: each found by str's own search, far faster than re's
                return any(literal in low for literal in literals)
            return fast.search(low) is not None
    return pattern.search(text) is not None


_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


@lru_cache(maxsize=16)
def _literals(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """The texts a pattern made only of escaped literal texts joined by `|` (re.escape's output) matches, else None.

    A piece that is not exactly re.escape of its own unescaped text (a class, a group, a repeat, an escaped `|`
    cut in two) makes the whole pattern None."""
    if pattern.flags & ~re.UNICODE:
        return None  # (re.VERBOSE, for one, would read the escaped spaces differently)
    literals = []
    for piece in pattern.pattern.split("|"):
        literal = _ESCAPED.sub(r"\1", piece)
        if re.escape(literal) != piece:
            return None
        literals.append(literal)
    return tuple(literals)
