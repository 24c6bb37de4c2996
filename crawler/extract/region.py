"""Find an article's body region when no layout rule names it: text density, checked against trafilatura's choice.

Two independent views of where the article is: the element with the most prose of its own (paragraphs and text
between <br>s, links discounted), and the smallest element that holds most of what trafilatura's main-content
extraction (the generic path, run once on the page) kept. Density alone is exact on pages whose body sits in one
container, but takes a comment thread that outweighs a short article, or one half of a body split over two
containers; trafilatura knows comments and navigation but keeps stray lines. Where the two agree the denser,
tighter region wins; where trafilatura's region holds the densest block and more, the body was split and the
larger region is taken, but only when what it adds reads as more of the article (it follows the headline, or
sits in a container built like the densest block with no thematic break between), not as the page around a
short article (an author's bio, a company note, a print notice above the headline), and lines between the
headline and the densest block in a container built like it are judged so however few they are; where they
disagree, the one trafilatura chose, unless the densest block shares the headline's container and trafilatura's
does not. A densest block apart from the headline's part of the page (a dialog hidden by the site's stylesheet,
a legal footer, a company's note) gives way to the densest block on the headline's side when trafilatura's
lines there make an article; and no text after the page's copyright line is taken for more of the body.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

from lxml import etree

from crawler.core.items import normalise_text
from crawler.extract.tree import already_normal, is_inside, runs_outside

_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "a", "p"})
_PARA_TAGS = ("p", "blockquote", "h3", "h4", "ul", "ol", "pre")
_PARA_SET = frozenset(_PARA_TAGS)
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_RIGHTS = re.compile(r"©|\bcopyright\b|\ball rights reserved\b", re.IGNORECASE)
"""A copyright line: the page's legal footer, after which nothing is more of the article."""
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

SIDE_SHARE = 0.2
"""Share of the densest block's generic text that the generic lines nearer the headline must reach for the
headline's side of the page to hold the body instead."""

SIDE_MIN = 500
"""Characters of generic lines (of SIDE_LINES lines or more) nearer the headline than the densest block under
which they are the headline's surroundings (a standfirst, a caption), not an article."""

SIDE_LINES = 3

SIDE_HELD = 0.6
"""Share of the generic text nearer the headline that the densest block there must hold to be taken."""

SIDE_APART = 0.5
"""Share of the generic text away from the headline that the densest block must hold to be one block apart from
the article; less, and that text is spread over many blocks (the items of a long article), the body itself."""


def densest(root: etree._Element) -> etree._Element | None:
    """The element that holds the most prose of its own, links discounted."""
    body = root.find("body")
    start = body if body is not None else root
    if not isinstance(start.tag, str) or start.tag in _SKIP:
        return None
    best: etree._Element | None = None
    best_score = 0.0
    known: dict[etree._Element, int] = {}  # lengths of the blocks inside a list or a quote, found with it
    stack = [start]
    while stack:
        el = stack.pop()
        text = el.text
        own = len(text.strip()) if text else 0
        prose: list[float] | None = None  # (made only for the few elements with paragraphs)
        # One pass over the children: own text, paragraphs, and the children to visit, pushed in order (the score
        # below does not touch the stack).
        for child in el:
            tail = child.tail
            if tail:
                own += len(tail.strip())
            tag = child.tag
            if tag in _PARA_SET:
                size = known.pop(child, None) if known else None
                if size is None:
                    size = _text_length(child) if tag == "p" else _block_length(child, known)
                if size >= 25:
                    # (A paragraph without children holds no link: most of them.)
                    linked = sum(_text_length(a) for a in child.iter("a")) if len(child) else 0
                    if prose is None:
                        prose = []
                    prose.append(size * (1.0 - linked / size))
                if tag not in _SKIP:
                    stack.append(child)
            elif isinstance(tag, str) and tag not in _SKIP:
                stack.append(child)
        score = float(own - 25) if own > 25 else 0.0
        if prose is not None:
            for part in prose:  # added in document order, as ever: the same float sum
                score += part
        if score > best_score:
            best, best_score = el, score
    return best


def _text_length(el: etree._Element) -> int:
    """len(node_text(el)), without normalising text that is normal already (most paragraphs of a page)."""
    return _normal_length(" ".join(el.itertext()) if len(el) else (el.text or ""))


def _block_length(el: etree._Element, known: dict[etree._Element, int]) -> int:
    """_text_length(el) for a list or a quote, with the lengths of the blocks it holds kept in `known`: a list in a
    list is measured again when its own turn comes, and lists nest deep on some pages. Lengths add up as in
    _text_lengths."""
    if next(el.iterdescendants(*_PARA_TAGS), None) is None:
        return _text_length(el)
    rest: list[str] = []
    held: list[etree._Element] = []
    runs_outside(el, _PARA_SET, rest, held)
    size = _normal_length(" ".join(rest))
    for block in held:
        part = known[block] = _text_length(block) if block.tag == "p" else _block_length(block, known)
        size += part + (1 if size and part else 0)
    return size


def _normal_length(text: str) -> int:
    return len(text) if already_normal(text) else len(normalise_text(text))


def _text_lengths(outer: etree._Element, inner: etree._Element) -> tuple[int, int]:
    """(_text_length(outer), _text_length(inner)) for an element inside the other, the inner one's text read once.

    Normalising joins the words of the text's runs with single spaces, and a space between two runs bounds
    what NFC composes or reorders (it is a starter in no canonical decomposition): the normalised runs of the
    outer element are those of the inner one and those of the rest, in whatever order, so its length is the
    two lengths plus the space between them when both hold a word."""
    inside = _text_length(inner)
    rest: list[str] = []
    node = inner
    while node is not outer:
        parent = node.getparent()
        if parent is None:
            raise ValueError("the inner element is not inside the outer one")
        if parent.text:
            rest.append(parent.text)
        for child in parent:
            if child is not node and isinstance(child.tag, str):
                rest.extend(child.itertext())  # (a comment's text is not the page's: its tail is)
            if child.tail:
                rest.append(child.tail)
        node = parent
    around = _normal_length(" ".join(rest))
    return around + inside + (1 if around and inside else 0), inside


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
        text = el.text
        runs = [text] if text and len(text) >= _MIN_START else None  # (most elements have none)
        for child in el:
            tail = child.tail
            if tail and len(tail) >= _MIN_START:
                if runs is None:
                    runs = [tail]
                else:
                    runs.append(tail)
        if runs is None or el.tag in _UNINDEXED:
            continue
        for piece in runs:
            lead = _LEAD.match(piece)
            if lead is None:
                continue  # whitespace only: no key
            first, after = lead.group(1), lead.group(2)
            if "!" <= first <= "~" and after.isascii() and first.lower() not in firsts:
                continue
            # A run whose first _MIN_START + 1 characters past its leading whitespace are printable ASCII without
            # two spaces running starts its normalised text with them (nothing there is dropped, collapsed or
            # composed, and the text goes on after them): its key is read off unnormalised.
            start = piece[lead.start(1) : lead.start(1) + _MIN_START + 1]
            if len(start) > _MIN_START and start.isascii() and start.isprintable() and "  " not in start:
                index.setdefault(start[:_MIN_START].casefold(), el)
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
    space work character by character, so its normalised start is the start of its whole normalised text. A line
    that opens with _MIN_START + 1 printable ASCII characters without two spaces running (most) starts its
    normalised text with them, as in _starts."""
    start = line[: _MIN_START + 1]
    if len(start) > _MIN_START and start[0] != " " and start.isascii() and start.isprintable() and "  " not in start:
        return start[:_MIN_START].casefold()
    if len(line) > _HEAD and (line.isascii() or unicodedata.is_normalized("NFC", line)):
        head = normalise_text(line[:_HEAD])
        if len(head) >= _MIN_START:
            return head[:_MIN_START].casefold()
    return normalise_text(line)[:_MIN_START].casefold()


Region = tuple[etree._Element | None, dict[etree._Element, int], int]


class Located(NamedTuple):
    """What locate_body learnt of the page besides its choice, for the second opinion on the same tree."""

    matched: dict[etree._Element, int]
    """The generic lines matched to the page's elements (text per element)."""
    found: Region
    """The block holding most of those lines, with the weights."""
    side: etree._Element | None
    """The densest block on the headline's side, taken over a densest block apart from the article (None when
    that step did not apply)."""


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


def _ends_text(el: etree._Element) -> bool:
    """True for a thematic break (<hr>) and for an element whose own text is a copyright line."""
    if el.tag == "hr":
        return True
    return el.tag not in ("script", "style") and bool(el.text) and _RIGHTS.search(el.text) is not None


def _twins_above(
    dense: etree._Element, matched: dict[etree._Element, int], headline: etree._Element | None
) -> list[etree._Element]:
    """The elements holding generic lines between the headline and the dense block, in a container built like it
    (the body's opening paragraphs in a block of their own): however little text they add, they may be more of
    the body."""
    depth = sum(1 for _ in dense.iterancestors())
    below_headline = _Place(headline) if headline is not None else None
    above_dense = _Place(dense)
    return [
        el
        for el in matched
        if above_dense.side(el) < 0
        and (below_headline is None or below_headline.side(el) > 0)
        and _twin(el, dense, depth)
    ]


class _Place:
    """Where elements stand in the page against one element: before it, inside or around it, or after it."""

    def __init__(self, el: etree._Element) -> None:
        self.chain = [el, *el.iterancestors()]
        self.index = {node: i for i, node in enumerate(self.chain)}

    def side(self, el: etree._Element) -> int:
        """-1 when `el` starts before the element and does not hold it, 1 when it starts after it, else 0."""
        child = el
        for anc in (el, *el.iterancestors()):
            i = self.index.get(anc)
            if i is not None:
                if i == 0 or anc is child:
                    return 0  # the element itself, inside it, or one of its ancestors
                return -1 if anc.index(child) < anc.index(self.chain[i - 1]) else 1
            child = anc
        return 0


def _holding(dense: etree._Element, others: list[etree._Element]) -> etree._Element:
    """The smallest element holding the dense block and all the others."""
    for anc in dense.iterancestors():
        if all(is_inside(el, anc) for el in others):
            return anc
    return dense


def _continued(
    root: etree._Element, dense: etree._Element, matched: dict[etree._Element, int], headline: etree._Element | None
) -> int:
    """Text of the generic lines outside the dense block that read as more of the same article: the lines
    between the headline (when known) and the dense block, and the lines after it in a container built like
    it (and before any thematic break, <hr>, or copyright line below the body). Lines above the headline, and
    after the body in blocks of another kind (an author's bio, a company's "About" note, teasers, a footer, an
    advert below the copyright line), are the page around the article."""
    # As read in the page's order: before the dense block a line counts once the headline has passed (never the
    # headline's own) or in a container built like it; after it, in such a container until the first break.
    # Each line is placed against the headline and the dense block instead of walking the whole page, and only
    # the stretch from the dense block's end to the last line that may count after it is searched for a break.
    outside = {el: size for el, size in matched.items() if not is_inside(el, dense)}
    depth = sum(1 for _ in dense.iterancestors())
    dense_at = _Place(dense)
    headline_at = _Place(headline) if headline is not None else None
    total = 0
    after: set[etree._Element] = set()  # lines after the dense block that count unless a break comes first
    for el, size in outside.items():
        if el is headline:
            continue
        if dense_at.side(el) > 0 and dense is not headline:  # (a headline taken as the dense block ends nothing)
            if _twin(el, dense, depth):
                after.add(el)
        elif headline_at is None or _follows(el, headline_at) or _twin(el, dense, depth):
            total += size
    if after:
        for el in _following(dense, root):
            if el is headline:
                continue
            if _ends_text(el):
                break  # a thematic break or a copyright line after the body: what follows is another text
            if el in after:
                total += outside[el]
                after.discard(el)
                if not after:
                    break
    return total


def _follows(el: etree._Element, at: _Place) -> bool:
    """True when `el` comes after the element `at` stands for in the page's order (inside it included)."""
    return at.side(el) > 0 or (el is not at.chain[0] and is_inside(el, at.chain[0]))


def _following(el: etree._Element, root: etree._Element) -> Iterator[etree._Element]:
    """The nodes after `el` and all it holds in the page's order (root.iter()'s), up to the end of root."""
    node: etree._Element | None = el
    while node is not None and node is not root:
        for sibling in node.itersiblings():
            yield from sibling.iter()
        node = node.getparent()


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


def _containers(headline: etree._Element) -> list[etree._Element]:
    """The headline's ancestors from the root down: the one at index i is at depth i."""
    return list(reversed(list(headline.iterancestors())))


def _headline_side(
    dense: etree._Element,
    matched: dict[etree._Element, int],
    weight: dict[etree._Element, int],
    headline: etree._Element | None,
) -> etree._Element | None:
    """The densest block among the generic lines that share the headline's container more closely than the
    densest block does, when they hold an article's worth of text: the densest block is then apart from the
    article (a dialog the site's stylesheet hides, a legal footer, a company's note below a short article),
    whatever its size."""
    if headline is None:
        return None
    # The lines sharing the headline's container more closely than the densest block does are those inside
    # the headline's ancestor one level below the container the two share (weight counts them there).
    chain = _containers(headline)
    depth = _headline_depth(dense, headline)
    if depth + 1 >= len(chain):
        return None
    branch = chain[depth + 1]
    size, own = weight.get(branch, 0), weight.get(dense, 0)
    if size < SIDE_MIN or size < SIDE_SHARE * own:
        return None
    if own < SIDE_APART * (sum(matched.values()) - size):
        return None  # the text away from the headline is spread over many blocks: the body goes on there
    near = {el: n for el, n in matched.items() if is_inside(el, branch)}
    if len(near) < SIDE_LINES:
        return None
    side = _region_of(near)[0]
    if side is None:
        return None
    found = densest(side)
    if found is None or is_inside(dense, found) or weight.get(found, 0) < SIDE_HELD * size:
        return None  # the densest block there holds only a part of that text: it is not one article's body
    # Blocks of one body split around a picture sit close together; a block apart from the article shares with
    # it only a container holding much of the page besides them.
    common = next(anc for anc in found.iterancestors() if is_inside(dense, anc))
    if _text_length(common) <= SPLIT_MAX_GROWTH * (_text_length(found) + _text_length(dense)):
        return None
    return found


def find_body_region(
    root: etree._Element, lines: list[str], headline: etree._Element | None = None
) -> etree._Element | None:
    """Where the article body is, whatever the markup calls it (see the module docstring); `lines` are the
    paragraphs the generic extractor kept from the same tree, `headline` the article's headline when known."""
    return locate_body(root, lines, headline)[0]


def locate_body(
    root: etree._Element, lines: list[str], headline: etree._Element | None = None
) -> tuple[etree._Element | None, Located]:
    """find_body_region's choice, and the lines as matched to the page (which beside_headline can then take as
    they are)."""
    matched = _matched(root, lines)
    found = _region_of(matched)
    dense = densest(root)
    side = None
    if dense is not None and found[0] is not None:
        side = _headline_side(dense, matched, found[1], headline)
    return _choose(root, dense if side is None else side, matched, found, headline), Located(matched, found, side)


def _choose(
    root: etree._Element,
    dense: etree._Element | None,
    matched: dict[etree._Element, int],
    found: Region,
    headline: etree._Element | None,
) -> etree._Element | None:
    """find_body_region's choice between the densest block (the one on the headline's side when that step
    applied) and the lines' block (`found`, with its weights)."""
    located, weight, total = found
    if located is None:
        return dense
    if dense is None:
        return located
    nested = is_inside(located, dense) or is_inside(dense, located)
    twins = _twins_above(dense, matched, headline) if nested else []
    if dense is located or is_inside(located, dense):
        if not twins:
            return dense
        located = _holding(dense, twins)  # trafilatura's lines in blocks built like the dense one: judged below
    if is_inside(dense, located):
        if weight.get(dense, 0) >= (1 - SPLIT) * total and not twins:
            return dense  # trafilatura only added a lead or a caption line around the dense block
        whole, part = _text_lengths(located, dense)
        if whole > SPLIT_MAX_GROWTH * part:
            return dense  # not the halves of one body: trafilatura kept the page's furniture around it
        if 2 * _continued(root, dense, matched, headline) < total - weight.get(dense, 0):
            return dense  # what trafilatura added is the page around the body, not another part of it
        return located
    # They disagree. A comment thread can outweigh the article, but trafilatura also fails now and then and
    # keeps one stray line: its choice wins unless it is a small fraction of the densest block, or the densest
    # block shares the headline's container and trafilatura's does not (a grid of teasers below the article).
    if _text_length(located) < SMALL * _text_length(dense):
        return dense
    if _nearer_headline(dense, located, headline):
        return dense
    return located


TEASER_ITEMS = 3
"""Sibling blocks alike (same tag and class), each headed by a link, that make a list of other stories."""

TEASER_LEVELS = 4
"""Levels above a line of text at which its teaser item may sit."""


def _linked_heading(item: etree._Element) -> bool:
    """True when a heading of the block links to another page (not to a place in this one: a section's anchor)."""
    return any(
        not (a.get("href") or "#").strip().startswith("#")
        for h in item.iter("h2", "h3", "h4", "h5", "h6")
        for a in h.iter("a")
    )


def _in_teaser_list(el: etree._Element, region: etree._Element) -> bool:
    """True when `el` sits in one of TEASER_ITEMS or more sibling blocks alike, each with a heading that links
    elsewhere (a list of other stories with their teasers), none of them holding the region."""
    item = el
    for _ in range(TEASER_LEVELS):
        parent = item.getparent()
        if parent is None or is_inside(region, parent):
            return False
        alike = [c for c in parent if c.tag == item.tag and c.get("class") == item.get("class")]
        if len(alike) >= TEASER_ITEMS and all(_linked_heading(c) for c in alike):
            return True
        item = parent
    return False


def _teasers_outside(region: etree._Element, matched: dict[etree._Element, int]) -> bool:
    """True when nearly all the generic text outside the region sits in lists of other stories' teasers."""
    outside = {el: size for el, size in matched.items() if not is_inside(el, region)}
    teasers = sum(size for el, size in outside.items() if _in_teaser_list(el, region))
    return teasers >= SHARE * sum(outside.values()) > 0


def beside_headline(
    root: etree._Element,
    region: etree._Element,
    lines: list[str],
    headline: etree._Element | None,
    known: Located | None = None,
) -> bool:
    """True when the generic extractor's text disagreeing with the region does not make it the body: the block
    holding most of it is apart from the region and the region shares the headline's container more closely
    (the generic text is another block of the page, a grid of teasers), or that block holds the region, which
    was taken on the headline's side of the page over a denser block apart from the article. `known`: the lines
    as locate_body found them in the same tree (else the page is read again)."""
    if known is None:
        known = locate_body(root, lines, headline)[1]
    located = known.found[0]
    if located is None or located is region or is_inside(located, region):
        return False
    if is_inside(region, located):
        return _teasers_outside(region, known.matched) or known.side is region
    return _nearer_headline(region, located, headline)


__all__ = ["beside_headline", "densest", "find_body_region", "locate_body", "text_region"]
