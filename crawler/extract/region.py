"""Find an article's body region when no layout rule names it: text density, checked against trafilatura's choice.

Two independent views of where the article is: the element with the most prose of its own (paragraphs and text
between <br>s, links discounted), and the smallest element that holds most of what trafilatura's main-content
extraction (the generic path, run once on the page) kept. Density alone is exact on pages whose body sits in one
container, but takes a comment thread that outweighs a short article, or one half of a body split over two
containers; trafilatura knows comments and navigation but keeps stray lines. Where the two agree the denser,
tighter region wins; where trafilatura's region holds the densest block and more, the body was split and the
larger region is taken, but only when what it adds reads as more of the article (it follows the headline, or
sits in a container built like the densest block with no thematic break between), not as the page around a
short article (an author's bio, a company note, a print notice above the headline); where they disagree, the
one trafilatura chose, unless the densest block shares the headline's container and trafilatura's does not.
"""

from __future__ import annotations

import re
import unicodedata

from lxml import etree

from crawler.core.items import normalise_text
from crawler.extract.tree import is_inside, node_text

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "a", "p"})
_PARA_TAGS = ("p", "blockquote", "h3", "h4", "ul", "ol", "pre")
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_MIN_START = 25
"""Characters of a paragraph's start used to find it again in the page (shorter runs of text are not indexed)."""
_HEAD = 120
"""Characters of a run of text normalised to make its key (whitespace runs rarely eat more than the spare)."""
SHARE = 0.8
"""Share of trafilatura's matched text the located region must hold."""
SMALL = 0.1
"""Size of trafilatura's region, relative to the densest block, under which trafilatura is taken to have failed."""
SPLIT = 0.3
"""Share of trafilatura's matched text outside the densest block above which the body is split over several
blocks and the larger region is taken."""


SPLIT_MAX_GROWTH = 3.0
"""A region holding a split body has at most this many times the text of its densest part; a larger one is the
page around the article, whose furniture trafilatura kept."""


def densest(root: etree._Element) -> etree._Element | None:
    """The element that holds the most prose of its own, links discounted."""
    body = root.find("body")
    start = body if body is not None else root
    if not isinstance(start.tag, str) or start.tag in _SKIP:
        return None
    best: etree._Element | None = None
    best_score = 0.0
    stack = [start]
    while stack:
        el = stack.pop()
        text = el.text
        own = len(text.strip()) if text else 0
        prose: list[float] = []
        inner: list[etree._Element] = []
        for child in el:  # one pass over the children: own text, paragraphs, and the children to visit
            tail = child.tail
            if tail:
                own += len(tail.strip())
            tag = child.tag
            if not isinstance(tag, str):
                continue
            if tag in _PARA_TAGS:
                para = node_text(child)
                if len(para) >= 25:
                    linked = sum(len(node_text(a)) for a in child.iter("a"))
                    prose.append(len(para) * (1.0 - linked / len(para)))
            if tag not in _SKIP:
                inner.append(child)
        score = float(own - 25) if own > 25 else 0.0
        for part in prose:  # added in document order, as ever: the same float sum
            score += part
        if score > best_score:
            best, best_score = el, score
        stack.extend(inner)
    return best


_UNINDEXED = frozenset({"script", "style", "noscript", "template", "title"})


_LEAD = re.compile(r"\s*(\S)(.?)", re.DOTALL)
"""A run's first character other than whitespace, and the one after it."""


def _starts(root: etree._Element, firsts: set[str]) -> dict[str, etree._Element]:
    """Start of every run of text an element holds itself (its text, and the text after each <br> or child) ->
    the element: one pass, no element's whole text is built. Only runs whose start may begin with one of
    `firsts` are indexed (the first letters of the keys looked for): a run that opens with a printable ASCII
    character followed by another ASCII one starts its key with that character in lower case (nothing in
    normalising changes or drops it), so the others are passed over unread."""
    index: dict[str, etree._Element] = {}
    body = root.find("body")
    for el in (body if body is not None else root).iter(etree.Element):
        if el.tag in _UNINDEXED:
            continue
        text = el.text
        runs = [text] if text and len(text) >= _MIN_START else []
        for child in el:
            tail = child.tail
            if tail and len(tail) >= _MIN_START:
                runs.append(tail)
        for piece in runs:
            lead = _LEAD.match(piece)
            if lead is None:
                continue  # whitespace only: no key
            first, after = lead.group(1), lead.group(2)
            if "!" <= first <= "~" and after.isascii() and first.lower() not in firsts:
                continue
            # Only the start is needed: a long run is normalised in part (the cut can only change the
            # last character or two of what is normalised, far past the key).
            key = normalise_text(piece[:_HEAD])
            if len(key) < _MIN_START + 5 and len(piece) > _HEAD:
                key = normalise_text(piece)
            if len(key) >= _MIN_START:
                index.setdefault(key[:_MIN_START].casefold(), el)
    return index


def _matched(root: etree._Element, lines: list[str]) -> dict[etree._Element, int]:
    """The element holding the start of each given line (of six words or more) -> the text of its lines."""
    # The words past the sixth are not split off.
    keyed = [(line, _line_key(line)) for line in lines if len(line.split(None, 5)) >= 6]
    if not keyed:
        return {}  # the page's text is not indexed when no line can be matched
    index = _starts(root, {key[:1] for _, key in keyed})
    matched: dict[etree._Element, int] = {}
    for line, key in keyed:
        el = index.get(key)
        if el is not None:
            matched[el] = matched.get(el, 0) + len(line)
    return matched


def _line_key(line: str) -> str:
    """normalise_text(line)[:_MIN_START].casefold(). A line already in NFC (ASCII, or most text) is normalised in
    part: the start of such a line is in NFC too, and dropping control characters and joining words with one
    space work character by character, so its normalised start is the start of its whole normalised text."""
    if len(line) > _HEAD and (line.isascii() or unicodedata.is_normalized("NFC", line)):
        head = normalise_text(line[:_HEAD])
        if len(head) >= _MIN_START:
            return head[:_MIN_START].casefold()
    return normalise_text(line)[:_MIN_START].casefold()


Region = tuple[etree._Element | None, dict[etree._Element, int], int]


def text_region(root: etree._Element, lines: list[str]) -> Region:
    """The deepest element holding most of the given lines (the text an extractor kept as the page's main
    content), with the matched text per element (every ancestor of a matched block counts it) and the total."""
    return _region_of(_matched(root, lines))


def _region_of(matched: dict[etree._Element, int]) -> Region:
    """text_region from the lines' matched elements."""
    weight: dict[etree._Element, int] = {}
    total = 0
    for el, size in matched.items():
        total += size
        node: etree._Element | None = el
        while node is not None:
            weight[node] = weight.get(node, 0) + size
            node = node.getparent()
    if not total:
        return None, {}, 0
    holding = [el for el, w in weight.items() if w >= SHARE * total]
    # The deepest of them: each holds the next one up, so the one with most ancestors.
    return max(holding, key=lambda el: sum(1 for _ in el.iterancestors())), weight, total


def _twin(el: etree._Element, dense: etree._Element, depth: int) -> bool:
    """True when `el` sits in a container of the dense block's tag, at its depth, and with at least half of their
    class words in common (or, like it, without one): the body continued in a second container built like the first."""
    words = set((dense.get("class") or "").split())
    for anc in el.iterancestors():
        if anc.tag == dense.tag and sum(1 for _ in anc.iterancestors()) == depth:
            other = set((anc.get("class") or "").split())
            return 2 * len(words & other) >= len(words | other)
    return False


def _continued(
    root: etree._Element, dense: etree._Element, matched: dict[etree._Element, int], headline: etree._Element | None
) -> int:
    """Text of the generic lines outside the dense block that read as more of the same article: the lines
    between the headline (when known) and the dense block, and the lines after it in a container built like
    it (and before any thematic break, <hr>, below the body). Lines above the headline, and after the body in
    blocks of another kind (an author's bio, a company's "About" note, teasers, a footer), are the page around
    the article."""
    outside = {el: size for el, size in matched.items() if not is_inside(el, dense)}
    depth = sum(1 for _ in dense.iterancestors())
    started, before, ended, total = headline is None, True, False, 0
    for el in root.iter():
        if el is headline:
            started = True
        elif el is dense:
            before = False
        elif el.tag == "hr" and not before and not is_inside(el, dense):
            ended = True  # a thematic break after the body: what follows it is another text
        elif el in outside and ((before and started) or (not ended and _twin(el, dense, depth))):
            total += outside[el]
    return total


def _headline_depth(el: etree._Element, headline: etree._Element) -> int:
    """Depth of the innermost element holding both `el` and the headline: the deeper, the nearer `el` sits to
    the headline in the page's structure."""
    above = set(headline.iterancestors())  # the elements themselves: a proxy's id() is not stable
    for anc in (el, *el.iterancestors()):
        if anc in above:
            return sum(1 for _ in anc.iterancestors())
    return 0


def _nearer_headline(a: etree._Element, b: etree._Element, headline: etree._Element | None) -> bool:
    """True when `a` shares the headline's container more closely than `b` does."""
    return headline is not None and _headline_depth(a, headline) > _headline_depth(b, headline)


def find_body_region(
    root: etree._Element, lines: list[str], headline: etree._Element | None = None
) -> etree._Element | None:
    """Where the article body is, whatever the markup calls it (see the module docstring); `lines` are the
    paragraphs the generic extractor kept from the same tree, `headline` the article's headline when known."""
    return locate_body(root, lines, headline)[0]


def locate_body(
    root: etree._Element, lines: list[str], headline: etree._Element | None = None
) -> tuple[etree._Element | None, etree._Element | None]:
    """find_body_region's choice, and the block holding most of the lines (text_region's, which beside_headline
    can then take as it is)."""
    matched = _matched(root, lines)
    found = _region_of(matched)
    return _choose(root, densest(root), matched, found, headline), found[0]


def _choose(
    root: etree._Element,
    dense: etree._Element | None,
    matched: dict[etree._Element, int],
    found: Region,
    headline: etree._Element | None,
) -> etree._Element | None:
    """find_body_region's choice between the densest block and the lines' block (`found`, with its weights)."""
    located, weight, total = found
    if located is None:
        return dense
    if dense is None:
        return located
    if dense is located or is_inside(located, dense):
        return dense
    if is_inside(dense, located):
        if weight.get(dense, 0) >= (1 - SPLIT) * total:
            return dense  # trafilatura only added a lead or a caption line around the dense block
        if len(node_text(located)) > SPLIT_MAX_GROWTH * len(node_text(dense)):
            return dense  # not the halves of one body: trafilatura kept the page's furniture around it
        if 2 * _continued(root, dense, matched, headline) < total - weight.get(dense, 0):
            return dense  # what trafilatura added is the page around the body, not another part of it
        return located
    # They disagree. A comment thread can outweigh the article, but trafilatura also fails now and then and
    # keeps one stray line: its choice wins unless it is a small fraction of the densest block, or the densest
    # block shares the headline's container and trafilatura's does not (a grid of teasers below the article).
    if len(node_text(located)) < SMALL * len(node_text(dense)):
        return dense
    if _nearer_headline(dense, located, headline):
        return dense
    return located


def beside_headline(
    root: etree._Element,
    region: etree._Element,
    lines: list[str],
    headline: etree._Element | None,
    located: etree._Element | None = None,
) -> bool:
    """True when the region and the block holding most of the generic extractor's text are apart and the region
    shares the headline's container more closely: the generic text is then another block of the page (a grid
    of teasers), and its disagreeing with the region does not make it the body. `located`: that block as
    locate_body found it in the same tree, when known (else it is looked for; None either way gives False)."""
    if located is None:
        located = text_region(root, lines)[0]
    if headline is None or located is None or is_inside(region, located) or is_inside(located, region):
        return False
    return _nearer_headline(region, located, headline)


__all__ = ["beside_headline", "densest", "find_body_region", "locate_body", "text_region"]
