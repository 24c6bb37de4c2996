"""Furniture recognised by what it is, in any markup: share widgets, story cards, the alternate-address note.

Nothing here reads a class name or an id, save the two class words pages use to hide a block ("hide", "hidden":
text the page hides is not the article, see prune_hidden). A share widget is the links to share endpoints (the
profile's `share_link_regex`), the icon-only links and the label beside them; a story card is a block whose only
text is links to other articles of the outlet (their headline or their URL), with or without a label such as "Read
more:"; the alternate-address note is the profile's sentence and the outlet host links after it. Each block is
removed at the outermost wrapper that holds nothing else, however deep the markup nests it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from itertools import islice

from lxml import etree

from crawler.core.items import normalise_text
from crawler.core.urls import join_url, split_url
from crawler.extract.needles import may_match, may_match_one, may_match_utf8, needles_of
from crawler.extract.tree import found_in, node_text, remove_node
from crawler.outlet import Outlet

CARD_MAX_WORDS = 80
"""A story card's text (headline, URL, maybe a linked blurb) is never longer than this."""

TEASER_MAX_WORDS = 60
"""A story card's teaser (the other story's lead) is never longer than this."""

_ID_DIGITS = re.compile(r"\d\d\d\d")
"""Four digits in a row, spelled out: a pattern that starts with a class is searched for far faster than a
repeat."""
_STOP = frozenset({"html", "body", "head"})
_SKIP = frozenset({"script", "style", "noscript", "template"})


class _Page:
    """What the rules need to know about the page: its URL, its article id, the outlet, and its links (read once
    for all the rules)."""

    def __init__(self, outlet: Outlet, url: str, root: etree._Element) -> None:
        self.outlet = outlet
        self.url = url
        self.root = root
        self.own_id = outlet.article_id(url)
        self.targets: dict[str, bool] = {}
        self.shares: dict[str, bool] = {}
        """Whether each link target seen is a share endpoint: a widget's links are tested again at every level
        of the climb to its outermost block."""
        self._links: list[tuple[etree._Element, str | None]] | None = None

    def links(self) -> list[tuple[etree._Element, str | None]]:
        """Every link under the root (the root too), in document order, with its target (stripped; None without
        an href), as the page was when first asked: a rule skips the links an earlier rule removed (_attached)."""
        if self._links is None:
            self._links = [(a, None if (h := a.get("href")) is None else h.strip()) for a in self.root.iter("a")]
        return self._links

    def href(self, a: etree._Element) -> str:
        return (a.get("href") or "").strip()

    def is_share(self, a: etree._Element) -> bool:
        return self.is_share_href(self.href(a))

    def is_share_href(self, href: str) -> bool:
        known = self.shares.get(href)
        if known is None:
            regex = self.outlet.share_link_regex
            known = self.shares[href] = bool(href) and may_match_one(regex, href) and found_in(regex, href)
        return known

    def is_icon_only(self, a: etree._Element) -> bool:
        """A link without text of its own: an icon (<i>, <svg>, <img>) or nothing at all."""
        return not node_text(a)

    def other_article(self, a: etree._Element) -> bool:
        """True for a link to an article of the outlet other than this page's own."""
        href = self.href(a)
        if not href or href.startswith(("#", "javascript:", "mailto:")) or not _ID_DIGITS.search(href):
            return False  # every article URL of an outlet holds its numeric id
        known = self.targets.get(href)
        if known is None:
            known = self.targets[href] = self._other_article(href)
        return known

    def _other_article(self, href: str) -> bool:
        parts = split_url(href)
        if parts is None:
            return False  # a malformed link is no article's
        if parts.netloc and not self.outlet.is_outlet_host(parts.hostname or ""):
            # A link naming another host (most numbered links of a page): the URL joined to the page's names
            # that host too (urljoin keeps a link's own host), which the outlet's URL parser refuses.
            return False
        joined = join_url(self.url, href)
        target = self.outlet.article_id(joined) if joined is not None else None
        return target is not None and target != self.own_id

    def is_host_link(self, a: etree._Element) -> bool:
        """A link to one of the outlet's addresses itself (its home page on some host)."""
        joined = join_url(self.url, self.href(a))
        parts = split_url(joined) if joined is not None else None
        return parts is not None and self.outlet.is_outlet_host(parts.hostname or "") and parts.path in ("", "/")


def _text_without(el: etree._Element, drop: list[etree._Element]) -> str:
    """The element's text with the text of the given links left out (their tails stay)."""
    return normalise_text(" ".join(_pieces_without(el, set(drop).__contains__, None, [])))


def _climb(
    start: etree._Element, holds_only: Callable[[etree._Element], bool], keep: set[etree._Element]
) -> etree._Element:
    """The outermost ancestor of `start` (or itself) for which `holds_only(el)` is true, below `keep`."""
    node = start
    while True:
        parent = node.getparent()
        if parent is None or parent in keep or parent.tag in _STOP or not holds_only(parent):
            return node
        node = parent


def _standalone(node: etree._Element) -> bool:
    """True when nothing but whitespace sits beside the node in its parent's own text (not inside a sentence)."""
    parent = node.getparent()
    if parent is None:
        return True
    if (node.tail or "").strip():
        return False
    prev = node.getprevious()
    before = (prev.tail if prev is not None else parent.text) or ""
    return not before.strip()


def prune_share_widgets(
    root: etree._Element, outlet: Outlet, url: str, keep: set[etree._Element], removed: list[str]
) -> None:
    """Remove share widgets: links to share endpoints, the icon-only links and the label beside them."""
    _prune_share_widgets(_Page(outlet, url, root), keep, removed)


def _prune_share_widgets(page: _Page, keep: set[etree._Element], removed: list[str]) -> None:
    root, outlet = page.root, page.outlet
    targets = [h for a, h in page.links() if h is not None and a is not root]
    if not may_match(needles_of(outlet.share_link_regex), targets):
        return  # most pages: a needle of the pattern is missing from every link target
    # (The targets read with the links: a link is a share link by its target alone.)
    shares = [a for a, href in page.links() if href and page.is_share_href(href)]
    if not shares or not _any_share_link(page, targets, shares):
        return  # one search over all the page's link targets first: only then is a link removed
    for a in shares:
        if not _attached(a, root):
            continue
        widget = _share_widget(page, a, keep)
        removed.append(node_text(widget) or "(share links)")
        remove_node(widget)


def _share_widget(page: _Page, a: etree._Element, keep: set[etree._Element]) -> etree._Element:
    """The outermost ancestor of the share link `a` (or itself), below `keep`, whose text without its share and
    icon-only links is nothing or a share label (_climb with that test, each level's text read once: a level's
    pieces are its own and its children's, the pieces of the level below are those found the step before)."""
    dropped: dict[etree._Element, bool] = {}

    def drop(x: etree._Element) -> bool:
        known = dropped.get(x)
        if known is None:
            known = dropped[x] = page.is_share(x) or page.is_icon_only(x)
        return known

    node = a
    parts = _pieces_without(a, drop, None, [])
    while True:
        parent = node.getparent()
        if parent is None or parent in keep or parent.tag in _STOP:
            return node
        parts = _pieces_without(parent, drop, node, parts)
        rest = normalise_text(" ".join(parts))
        if rest and not is_share_text(rest, page.outlet):
            return node
        node = parent


def _pieces_without(
    el: etree._Element, drop: Callable[[etree._Element], bool], known: etree._Element | None, pieces: list[str]
) -> list[str]:
    """The text pieces of `el` (not its tail) that _text_without joins, leaving out the links `drop` says (their
    tails stay), where `pieces` are those of its child `known` (read already)."""
    # What holds no dropped link, script-like element or comment is read by lxml's itertext (in C: the same pieces,
    # empty ones aside, which add nothing once normalised); the rest is walked here.
    walked = _holding_left_out(el, drop, known)
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node is known:
            parts.extend(pieces)
        elif node not in walked:
            parts.extend(node.itertext())
        elif not (node.tag == "a" and drop(node)):
            if isinstance(node.tag, str) and node.tag not in _SKIP and node.text:
                parts.append(node.text)
            for child in node:
                walk(child)
        if node is not el and node.tail:
            parts.append(node.tail)

    walk(el)
    return parts


_LEFT_OUT = ("a", *_SKIP, etree.Comment, etree.ProcessingInstruction, etree.Entity)


def _holding_left_out(
    el: etree._Element, drop: Callable[[etree._Element], bool], known: etree._Element | None
) -> set[etree._Element]:
    """`el` and the elements under it (outside `known`) that are or hold what _text_without leaves out: a link
    `drop` says, a script-like element, or what is no element."""
    found = {el}
    for child in el:
        if child is known:
            continue
        for node in child.iter(*_LEFT_OUT):
            if node.tag == "a" and not drop(node):
                continue
            while node not in found:
                found.add(node)
                node = node.getparent()
    return found


@lru_cache(maxsize=8)
def _multiline(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern.pattern, pattern.flags | re.MULTILINE)


def _any_share_link(page: _Page, targets: list[str], shares: list[etree._Element]) -> bool:
    """True when the pattern finds a share endpoint among the link targets under the root searched one per line
    (`shares`: the links whose own target it finds). A target it finds alone it finds among the others, unless
    its match depends on what stands around it (then the search runs)."""
    regex = page.outlet.share_link_regex
    if not _LOOKS_AROUND.search(regex.pattern) and any(a is not page.root for a in shares):
        return True
    return found_in(_multiline(regex), "\n".join(targets))


_LOOKS_AROUND = re.compile(r"\\[AZ]|\(\?<?[=!]")
"""What lets a match in one target fail once other targets stand on the lines around it: the string's own start
or end, and lookarounds (which may see a line break)."""


def is_share_text(text: str, outlet: Outlet) -> bool:
    """True for a share label, service names after it, or the service names alone ("Facebook")."""
    # A [boilerplate] key without an attribute of its own: read from the profile's table directly (the attribute
    # lookup fails first and then falls back to that table, several times slower).
    pattern = outlet.boilerplate.get("share_line_regex") or outlet.share_line_regex
    match = pattern.match
    return bool(match(text) or match(f"share {text}"))


def _attached(el: etree._Element, root: etree._Element) -> bool:
    return el is root or any(anc is root for anc in el.iterancestors())


def prune_story_cards(
    root: etree._Element, outlet: Outlet, url: str, keep: set[etree._Element], removed: list[str]
) -> None:
    """Remove story cards: blocks whose text is only links to other articles of the outlet (their headline or
    URL), with or without a label ("Read more:", "Lire aussi"); a link inside a sentence stays."""
    _prune_story_cards(_Page(outlet, url, root), keep, removed)


def _prune_story_cards(page: _Page, keep: set[etree._Element], removed: list[str]) -> None:
    root, outlet = page.root, page.outlet
    # An article link holds the id's digits: the links without (most) are passed over before any other test.
    numbered = [a for a, href in page.links() if href and _ID_DIGITS.search(href)]
    for a in [a for a in numbered if page.other_article(a)]:
        if not _attached(a, root):
            continue

        def only_card(el: etree._Element) -> bool:
            links = list(el.iter("a"))
            if not links or not all(page.other_article(x) or page.is_icon_only(x) for x in links):
                return False
            rest = _text_without(el, links)
            if rest and not outlet.read_more_regex.match(rest):
                return False
            return len(node_text(el).split()) <= CARD_MAX_WORDS

        card = _climb(a, only_card, keep)
        if card is a and not _standalone(a):
            continue  # a linked phrase inside a sentence: text
        parent = a.getparent()
        if card is a and parent is not None:
            own = normalise_text(" ".join([parent.text or "", *(c.tail or "" for c in parent)]))
            if own and not outlet.read_more_regex.match(own):
                continue  # the link shares its line with other text
        # A card may also show the other story's teaser in a block of its own beside the linked headline.
        parent = card.getparent()
        while (
            parent is not None and parent not in keep and parent.tag not in _STOP and _with_teaser(parent, card, outlet)
        ):
            card, parent = parent, parent.getparent()
        removed.append(node_text(card))
        remove_node(card)


def _with_teaser(parent: etree._Element, card: etree._Element, outlet: Outlet) -> bool:
    """True when `parent` holds the card and, beside it, only labels and at most one short block of text
    without links (the other story's teaser): the whole block is the card."""
    if (parent.text or "").strip() or any((c.tail or "").strip() for c in parent):
        return False
    teasers = 0
    for child in parent:
        if child is card or not isinstance(child.tag, str) or child.tag in _SKIP:
            continue
        text = node_text(child)
        if not text or outlet.read_more_regex.match(text):
            continue
        if child.tag in ("a", "ul", "ol", "table") or list(child.iter("a")) or len(text.split()) > TEASER_MAX_WORDS:
            return False
        teasers += 1
    return teasers <= 1 and len(node_text(parent).split()) <= CARD_MAX_WORDS


def prune_alternate_addresses(
    root: etree._Element, outlet: Outlet, url: str, keep: set[etree._Element], removed: list[str]
) -> None:
    """Remove the alternate-address note and the outlet host links that follow it."""
    _prune_alternate_addresses(_Page(outlet, url, root), keep, removed)


def _prune_alternate_addresses(page: _Page, keep: set[etree._Element], removed: list[str]) -> None:
    root, outlet = page.root, page.outlet
    if not _may_hold_note(root, outlet.alternate_address_regex):
        return  # most pages: a needle of the note is missing from the page's text
    if not found_in(outlet.alternate_address_regex, _all_text(root, outlet.alternate_address_regex)):
        return  # one search over the whole text first: most pages have no note
    hits: list[etree._Element] = []
    for text in root.xpath(".//text()"):
        if outlet.alternate_address_regex.search(str(text)):
            parent = text.getparent()
            if parent is not None:
                hits.append(parent.getparent() if text.is_tail and parent.getparent() is not None else parent)
    for note in hits:
        if not _attached(note, root) or note in keep:
            continue

        def only_note(el: etree._Element) -> bool:
            links = list(el.iter("a"))
            if not all(page.is_host_link(x) or _host_text(node_text(x), outlet) for x in links):
                return False
            rest = _text_without(el, links)
            return bool(outlet.alternate_address_regex.search(rest)) and len(rest.split()) <= 30

        note = _climb(note, only_note, keep)
        sibling = note.getnext()
        while sibling is not None and _host_block(sibling, page):
            nxt = sibling.getnext()
            removed.append(node_text(sibling))
            remove_node(sibling)
            sibling = nxt
        removed.append(node_text(note))
        remove_node(note)


_CONTEXT = re.compile(r"[\^$]|\\[bBAZ]|\(\?<?[=!]")
"""What makes a pattern's match depend on the text around it: anchors, word boundaries, lookarounds."""


def _all_text(root: etree._Element, pattern: re.Pattern[str]) -> str:
    """Every text run under `root` in one string, in which `pattern` is found if it is in any one run: run into
    each other by libxml2 (far cheaper) when the pattern's matches do not depend on what stands around them."""
    if _CONTEXT.search(pattern.pattern):
        return "\n".join(root.itertext())
    return str(etree.tostring(root, method="text", encoding="unicode", with_tail=False))


def _may_hold_note(root: etree._Element, pattern: re.Pattern[str]) -> bool:
    """False when the pattern cannot match in the text _all_text searches: a needle is missing from the text run
    together (searched as UTF-8, whose ASCII letters lower-case far faster than a str's)."""
    if _CONTEXT.search(pattern.pattern):
        return True  # _all_text then searches the runs one per line, a text this does not look at
    data = etree.tostring(root, method="text", encoding="utf-8", with_tail=False)
    return may_match_utf8(needles_of(pattern), data)


def _host_text(text: str, outlet: Outlet) -> bool:
    words = text.split()
    return bool(words) and all(outlet.host_line_regex.match(w) for w in words)


def _host_block(el: etree._Element, page: _Page) -> bool:
    """A block of outlet host links or host names only (or an empty block, a break)."""
    if not isinstance(el.tag, str) or el.tag in ("br", "hr"):
        return True
    text = node_text(el)
    if not text:
        return not list(el.iter("img"))
    links = list(el.iter("a"))
    if links and all(page.is_host_link(x) or _host_text(node_text(x), page.outlet) for x in links):
        return not _text_without(el, links)
    return _host_text(text, page.outlet)


_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_HIDDEN_CLASSES = frozenset({"hide", "hidden"})
_SHOWN_AT = re.compile(r":(?:block|flex|grid|inline|inline-block|inline-flex|table|contents|visible)$")


def is_hidden(el: etree._Element) -> bool:
    """Whether the page itself hides the element from the reader: aria-hidden, an inline display:none or
    visibility:hidden, a class that says so ("hide", "hidden"), or a <dialog> without `open` (HTML shows none
    until a script opens it). A copy of the article kept for another screen size or for microdata, a closed
    dialog: text nobody reads as the article. (The `hidden` attribute is not enough: pages hide their article's
    sections that way until a script shows them.)"""
    return (
        el.get("aria-hidden") == "true"
        or (el.tag == "dialog" and el.get("open") is None)
        or bool(_HIDDEN_STYLE.search(el.get("style") or ""))
        or _hidden_by_class((el.get("class") or "").lower().split())
    )


def _hidden_by_class(classes: list[str]) -> bool:
    """A class "hide" or "hidden", unless another class shows the element at some screen width (utility
    classes such as "hidden md:block" hide it on phones only)."""
    return bool(_HIDDEN_CLASSES & set(classes)) and not any(_SHOWN_AT.search(c) for c in classes)


_HIDDEN_CANDIDATES = etree.XPath(
    "descendant::style | descendant-or-self::*/@aria-hidden[. = 'true']/.."
    " | descendant-or-self::*/@style[contains(., 'none') or contains(., 'hidden')]/.."
    " | descendant-or-self::*/@class[contains(., 'hid') or contains(., 'Hid')]/.. | descendant::dialog[not(@open)]"
)
"""A superset of what is_hidden says, found by compiled code (a walk in Python costs more than the rest); the
attributes are searched, not every element's (a third of the cost: most elements have none of them), and only on
elements ("descendant::" rather than ".//", which libxml2 reads as a step from every node, text too)."""


def prune_hidden(root: etree._Element, keep: set[etree._Element], found: list[str]) -> None:
    """Remove the elements the page hides (see is_hidden), never one of `keep` (the headline's blocks) or the
    page itself, and the style sheets inside the body (a <style> in a link would count as the link's text)."""
    hidden: list[etree._Element] = []
    gone: set[etree._Element] = set()
    page = -1  # the page's text length, measured once a hidden block with text is met (most pages have none)
    for el in _HIDDEN_CANDIDATES(root):  # document order: an ancestor comes before its descendants
        if el.getparent() in gone:
            gone.add(el)
            continue
        if el.tag != "style":
            if el.tag in _STOP or el in keep or not is_hidden(el):
                continue
            size = _text_size(el)
            if size and page < 0:
                page = _text_size(root)
            # A hidden block holding nearly all the page is the page itself, shown by a script once it has loaded.
            if size > PAGE_SHARE * page:
                continue
        hidden.append(el)
        gone.add(el)
    for el in hidden:
        text = normalise_text(" ".join(islice(el.itertext(), 8))) if el.tag != "style" else ""
        if text:
            found.append(text[:80])
        remove_node(el)


def _text_size(el: etree._Element) -> int:
    """Characters of text an element holds, unnormalised (only compared with another such size)."""
    return len(etree.tostring(el, method="text", encoding="unicode", with_tail=False).strip())


PAGE_SHARE = 0.9
"""Share of the page's text above which a hidden block is the page itself (a script shows it), not hidden text."""


def prune_furniture(
    root: etree._Element, outlet: Outlet, url: str, keep: set[etree._Element] | None = None
) -> dict[str, list[str]]:
    """Remove share widgets, story cards and the alternate-address note from `root` (a page or a region of
    it); `keep` holds elements never removed whole. Returns what went, by reason."""
    keep = keep or set()
    found: dict[str, list[str]] = {"share": [], "story-card": [], "alternate-address": []}
    page = _Page(outlet, url, root)
    _prune_share_widgets(page, keep, found["share"])
    _prune_alternate_addresses(page, keep, found["alternate-address"])
    _prune_story_cards(page, keep, found["story-card"])
    return {k: v for k, v in found.items() if v}


__all__ = [
    "is_hidden",
    "is_share_text",
    "prune_alternate_addresses",
    "prune_furniture",
    "prune_hidden",
    "prune_share_widgets",
    "prune_story_cards",
]
