"""Generic extraction: trafilatura on any page, for hosts no profile knows and outlet pages in no known layout."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from lxml import etree
from trafilatura import settings as trafilatura_settings
from trafilatura.metadata import Document
from trafilatura.settings import Extractor
from trafilatura.xml import xmltotxt
from trafilatura.xpaths import BODY_XPATH

from crawler.core.items import EXTRACTOR_VERSION, Article, content_hash, normalise_text
from crawler.core.urls import split_url
from crawler.extract.dates import date_at_midnight, iso
from crawler.extract.errors import NotAnArticle
from crawler.extract.guard import guard_paragraphs
from crawler.extract.tree import (
    MIN_BODY_WORDS,
    Extraction,
    absolute_url,
    first_match,
    is_inside,
    iso_date,
    meta_value,
    node_text,
    page_language,
    remove_node,
    runs_outside,
    set_text,
    split_paragraphs,
    xp,
)
from crawler.outlet import Outlet

_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]+)"')


_JSONLD_MODIFIED = re.compile(r'"dateModified"\s*:\s*"([^"]+)"')


_TITLE_SPLIT = re.compile(r"\s+[|\-–—:]{1,2}\s+")

# A list of links counts as introduced by the block before it (or before the wrappers it opens, up to this many
# levels) when that block is a sentence of at least this many words ending in a colon.
_INTRO_MAX_LEVELS = 3
_INTRO_MIN_WORDS = 5


def _title_variants(tree: etree._Element) -> set[str]:
    """Normalised forms of the page's headline (og:title, <title> and its parts, first h1)."""
    found: set[str] = set()
    for value in (
        meta_value(tree, "og:title", "twitter:title"),
        node_text(tree.find(".//title")),
        node_text(first_match(tree, ("//h1",))),
    ):
        if value:
            found.add(value.casefold())
            found.update(part.casefold() for part in _TITLE_SPLIT.split(value) if len(part.split()) > 2)
    return found


def _chars(node: etree._Element) -> int:
    """Characters of a node's text other than whitespace: a cheap size for density ratios (no normalising)."""
    return len("".join("".join(node.itertext()).split()))


def _introduced(lst: etree._Element) -> bool:
    """True when the block just before a list (or before the wrapper it opens) is a sentence ending in a colon.

    Prose that announces a list ("The changes in this release:") makes the list part of the article, even
    when every item is a link; navigation and related-story lists follow a heading, a label or nothing.
    """
    node: etree._Element | None = lst
    for _ in range(_INTRO_MAX_LEVELS):
        if node is None:
            return False
        prev = node.getprevious()
        while prev is not None and not isinstance(prev.tag, str):
            prev = prev.getprevious()  # comments and processing instructions
        if prev is not None:
            text = " ".join(" ".join(prev.itertext()).split())
            return text.endswith(":") and len(text.split()) >= _INTRO_MIN_WORDS
        node = node.getparent()
    return False


# trafilatura's own vocabulary of cookie and consent banner classes and ids (banner compounds and consent
# platform names, never a bare "cookie"): it prunes them only for its baseline extractor, not before its main
# pass. A release without it leaves banners to trafilatura alone. The words every name of it holds come first:
# a substring test is far cheaper than the pattern, which then runs on the few names that hold one.
_CONSENT_NAMES: str | None = getattr(trafilatura_settings, "_COOKIE_CONSENT_RE", None)
_CONSENT_PATTERN = re.compile(_CONSENT_NAMES, re.IGNORECASE) if _CONSENT_NAMES else None
_CONSENT_WORDS = ("cookie", "consent", "borlabs", "cmplz", "onetrust", "moove")


def _join_stray_roots(tree: etree._Element) -> None:
    """Move what follows a stray </html> into the page's body, where browsers show it.

    lxml makes such markup a second root element beside the first, out of reach of anything that reads the
    tree from its root; some pages close their document early and hold the whole article after it.
    """
    body = tree.find("body")
    if body is None:
        return
    for stray in list(tree.itersiblings()):
        if not isinstance(stray.tag, str):
            continue
        for child in list(stray):
            if child.tag == "body":
                body.extend(list(child))
            elif child.tag != "head":
                body.append(child)


_NAMES = etree.XPath("//@class | //@id", smart_strings=False)

_CONSENT_WORD = re.compile("|".join(map(re.escape, _CONSENT_WORDS)))
"""Any of the words, for lower-cased text: one search in compiled code instead of a test for each word."""


def _names_hold(tree: etree._Element, words: tuple[str, ...]) -> bool:
    """Whether a class or id of the page holds one of the words (most pages name no banner: the names are then
    not read one by one)."""
    names = " ".join(_NAMES(tree)).lower()
    return any(word in names for word in words)


def _prune_furniture(tree: etree._Element) -> None:
    """Drop cookie and consent banners (text about the site, never the article) and lists of links."""
    _join_stray_roots(tree)
    if _CONSENT_PATTERN is not None and _names_hold(tree, _CONSENT_WORDS):
        for name in xp("//@class | //@id")(tree):
            if _CONSENT_WORD.search(name.lower()) and _CONSENT_PATTERN.search(name):
                banner = name.getparent()
                if banner is not None and banner.getparent() is not None and banner.tag != "body":
                    remove_node(banner)
    _prune_teaser_cards(tree)  # first: a card's "Read more" link may be a list of links
    _prune_link_lists(tree)


# Teaser cards: at least this many sibling elements of one tag and class, each under this many words, each with
# a heading that links to another page; the heading's card is at most this many levels above it.
_CARD_MIN_SIBLINGS = 3
_CARD_MAX_WORDS = 60
_CARD_MAX_LEVELS = 4
_HEADINGS = "//h2 | //h3 | //h4 | //h5"


def _site_url(tree: etree._Element) -> tuple[str, str]:
    """The page's own host (without "www.") and path as its canonical link or og:url names them (empty when
    neither does)."""
    # "/descendant::" and not "//": libxml2 reads "//name[test]" as a step from every node of the page.
    found = xp("/descendant::link[@rel='canonical']/@href | /descendant::meta[@property='og:url']/@content")(tree)
    parts = split_url(str(found[0]).strip()) if found else None
    return (_bare_host(parts.hostname), parts.path.rstrip("/")) if parts else ("", "")


def _bare_host(host: str | None) -> str:
    host = (host or "").lower()
    return host[4:] if host.startswith("www.") else host


def _links_within_site(card: etree._Element, site: tuple[str, str]) -> bool:
    """True when a block links to another page of the site: a link neither to a place in this page
    ("#section", a table of contents) nor to another host."""
    for link in card.iter("a"):
        parts = split_url((link.get("href") or "").strip())
        if parts is None:
            continue  # a malformed link leads nowhere
        if parts.fragment and parts.path.rstrip("/") in ("", site[1]):
            continue
        host = _bare_host(parts.hostname)
        if (parts.path or host) and (not host or host == site[0]):
            return True
    return False


def _prune_teaser_cards(tree: etree._Element) -> None:
    """Drop grids of teaser cards: three or more sibling elements alike (same tag and class), each a short
    block with a heading and a link to another page of the site ("More posts", "You may also like").

    An article's own sections have prose under their headings, far longer than a teaser's line or two; the
    items of a roundup link to other sites.
    """
    site: tuple[str, str] | None = None  # read at the first group big enough, before any card goes
    # Keyed by the parent element itself: an id() would be reused once the parent's proxy is freed.
    groups: dict[tuple[etree._Element, str, str], dict[int, etree._Element]] = {}
    for heading in xp(_HEADINGS)(tree):
        node = heading
        for _ in range(_CARD_MAX_LEVELS):
            parent = node.getparent()
            if parent is None:
                break
            groups.setdefault((parent, node.tag, node.get("class", "")), {})[id(node)] = node
            node = parent
    for cards in groups.values():
        if len(cards) < _CARD_MIN_SIBLINGS:
            continue
        if site is None:
            site = _site_url(tree)
        if all(
            len(" ".join(card.itertext()).split()) < _CARD_MAX_WORDS and _links_within_site(card, site)
            for card in cards.values()
        ):
            for card in cards.values():
                remove_node(card)


_LINK_TEXTS = etree.XPath(".//a//text()", smart_strings=False)
"""The text runs inside a block's links, as plain strings (a string that knows its element costs more to make)."""


def _prune_link_lists(tree: etree._Element) -> None:
    """Drop lists whose text is nearly all links (related stories, navigation) unless the article's prose
    introduces them."""
    known: dict[etree._Element, int] = {}  # sizes of the lists inside a list, found with it
    for lst in xp("/descendant::ul[li][li] | /descendant::ol[li][li]")(tree):
        if lst.getparent() is None:
            continue
        # (A list's text does not change before its turn: the lists removed so far come before it in the page
        # and hold none of it, and a removal moves only the removed list's tail.)
        text = known.pop(lst, None)
        if text is None:
            text = _list_chars(lst, known)
        if text and len("".join("".join(_LINK_TEXTS(lst)).split())) >= 0.8 * text and not _introduced(lst):
            remove_node(lst)


_LISTS = frozenset({"ul", "ol"})


def _list_chars(lst: etree._Element, known: dict[etree._Element, int]) -> int:
    """_chars(lst), with the sizes of the lists it holds kept in `known`: a list in a list is measured again when
    its own turn comes, and lists nest deep on some pages (a sum of the characters of each text run)."""
    if next(lst.iterdescendants("ul", "ol"), None) is None:
        return _chars(lst)
    rest: list[str] = []
    held: list[etree._Element] = []
    runs_outside(lst, _LISTS, rest, held)
    size = len("".join("".join(rest).split()))
    for inner in held:
        known[inner] = part = _list_chars(inner, known)
        size += part
    return size


def _generic_meta(tree: etree._Element, url: str) -> dict[str, Any]:
    published = iso_date(
        meta_value(
            tree,
            "article:published_time",
            "datePublished",
            "pubdate",
            "publishdate",
            "dc.date.issued",
            "dcterms.created",
            "date",
        )
    )
    modified = iso_date(meta_value(tree, "article:modified_time", "dateModified"))
    if published is None or modified is None:
        scripts = " ".join(t for t in xp("//script[@type='application/ld+json']/text()")(tree))
        if published is None and (m := _JSONLD_DATE.search(scripts)):
            published = iso_date(m.group(1))
        if modified is None and (m := _JSONLD_MODIFIED.search(scripts)):
            modified = iso_date(m.group(1))
    if published is None:
        times = xp("//time/@datetime")(tree)
        published = iso_date(str(times[0])) if times else None
    author = meta_value(tree, "author", "article:author", "byl")
    authors = (
        []
        if not author or "://" in author
        else [a.strip() for a in re.split(r"\s*[;,]\s*|\s+and\s+", author) if a.strip()]
    )
    title = meta_value(tree, "og:title", "twitter:title") or node_text(first_match(tree, ("//h1",)))
    if not title:
        node = tree.find(".//title")
        title = node_text(node) if node is not None else ""
    return {
        "title": title,
        "lead": meta_value(tree, "og:description", "description", "twitter:description"),
        "published": published,
        "modified": modified,
        "section": meta_value(tree, "article:section") or None,
        "authors": authors,
        "image_url": absolute_url(meta_value(tree, "og:image", "twitter:image"), url),
    }


# A container of an article split in parts must hold at least this many words of prose paragraphs.
_SPLIT_PART_MIN_WORDS = 30
# ... and share an ancestor at most this many levels above each part (parts of one body sit side by side).
_SPLIT_PART_MAX_LEVELS = 3
# ... and the parts hold at least half of the paragraph words under that ancestor (1 / this share).
_SPLIT_PART_MAX_SHARE = 2.0
# A block of fewer words than this with at least this share of its text in links is a pointer to another page.
_LINK_LINE_MAX_WORDS = 15
_LINK_LINE_SHARE = 0.8
# A linked heading followed by at least this many paragraphs of prose is an item's title.
_ITEM_MIN_PARAGRAPHS = 2
# A last block with at least this share of its text in links is furniture (tags, "more stories", follow us).
_EDGE_LINK_SHARE = 0.5
# Items of a list of story teasers (headline, maybe a one-line blurb) have at most this many words on average.
_TEASER_ITEM_WORDS = 25
# The page's headline within the first few lines of the body, after no more than this many words of
# kicker, breadcrumb or section labels, ends what comes before the article.
_HEADLINE_WITHIN_LINES = 5
_ABOVE_HEADLINE_MAX_WORDS = 30
# Elements that wrap an embedded post, and the few characters (a caption, "Embed") they may add to it.
_WRAPPER_TAGS = frozenset({"div", "figure", "span", "section"})
_WRAPPER_SLACK_CHARS = 5
# A fast extraction with fewer words than this share of the words in the page's <p> elements missed the article:
# trafilatura's full cascade runs instead (the fallback extractors the fast path skips).
RESCUE_SHARE = 0.3
# ... and its body is taken only when it holds more than this many times the words (a real rescue, not a variant).
RESCUE_GAIN = 5.0
# A fast extraction that is one block of more than this many words ran the page's blocks together; the full
# cascade's body replaces it when it keeps more than this share of its words.
_FLAT_BODY_WORDS = 300
_FLAT_KEEP_SHARE = 0.5
# A last block with fewer words than this ("Comments", "All...", "©") is a label, not prose.
_EDGE_MIN_WORDS = 2


def _prose_words(el: etree._Element) -> int:
    """Words in an element's own <p> children when they read as prose (under 30% link text), else 0."""
    paragraphs = el.findall("p")
    # Each paragraph's text read once: its words, and (joined) its characters other than whitespace (_chars).
    split = [("".join(p.itertext()) if len(p) else p.text or "").split() for p in paragraphs]
    words = sum(map(len, split))
    if words < _SPLIT_PART_MIN_WORDS:
        return words  # too short to count either way: spare the link count
    linked = sum(_chars(a) for p in paragraphs for a in p.iter("a"))
    return words if linked < 0.3 * sum(len("".join(parts)) for parts in split) else 0


def _common_ancestor(a: etree._Element, b: etree._Element) -> etree._Element | None:
    """The closest common ancestor of a and b when it is at most _SPLIT_PART_MAX_LEVELS above each, else None."""
    above_a = list(islice(a.iterancestors(), _SPLIT_PART_MAX_LEVELS))
    return next(
        (anc for anc in islice(b.iterancestors(), _SPLIT_PART_MAX_LEVELS) if any(anc is mine for mine in above_a)), None
    )


def _paragraph_words(el: etree._Element, known: dict[etree._Element, int] | None = None) -> int:
    """Words in the <p> elements under el (kept in `known`, when given, for a tree that does not change)."""
    if known is not None and el in known:
        return known[el]
    words = sum(map(_p_words, el.iter("p")))
    if known is not None:
        known[el] = words
    return words


def _p_words(p: etree._Element) -> int:
    """Words of an element's text runs joined by spaces (most <p>s hold no element: their text is all of it)."""
    if len(p):
        return len(" ".join(p.itertext()).split())
    return len(p.text.split()) if p.text else 0


def _fewer_than_share(got: int, tree: etree._Element) -> bool:
    """got < RESCUE_SHARE * _paragraph_words(tree), the paragraphs counted only until it holds (most pages: a
    third of them)."""
    total = 0
    for p in tree.iter("p"):
        total += _p_words(p)
        if got < RESCUE_SHARE * total:
            return True
    return False


def _parts_of_one_body(
    chosen: etree._Element,
    el: etree._Element,
    parts: list[etree._Element],
    known: dict[etree._Element, int] | None = None,
    lineage: dict[etree._Element, set[etree._Element]] | None = None,
) -> bool:
    """True when el and chosen are close in the tree and the parts hold most of the prose around them.

    Chunks of one body are separated by ads and embeds; when more paragraph text of other containers lies
    under their common ancestor than in the parts, the parts open and close a longer body (the items of a
    list article between an introduction and a conclusion) and belong with it, not with each other.
    """
    common = _common_ancestor(chosen, el)
    if common is None:
        return False
    if lineage is None:
        inside = sum(_paragraph_words(part, known) for part in parts if is_inside(part, common))
    else:  # each part's ancestors listed once for all the pairs (the same test as is_inside)
        inside = sum(_paragraph_words(part, known) for part in parts if common in _lineage(part, lineage))
    return _paragraph_words(common, known) <= _SPLIT_PART_MAX_SHARE * inside


def _may_join(parts: list[etree._Element]) -> bool:
    """Whether two of the parts pass the test below whichever of them trafilatura chooses (it reads the same both
    ways round): when no two do, no part is joined, and trafilatura's choice need not be known (its body XPaths
    cost more than the rest of the cleaning). Only one group can hold the chosen container, so the groups do not
    change each other's answer."""
    known: dict[etree._Element, int] = {}
    lineage: dict[etree._Element, set[etree._Element]] = {}
    above = [list(islice(el.iterancestors(), _SPLIT_PART_MAX_LEVELS)) for el in parts]
    for i, a in enumerate(parts):
        for j in range(i + 1, len(parts)):
            if not any(anc in above[i] for anc in above[j]):
                continue  # no common ancestor near both (most pairs): _common_ancestor would find none
            b = parts[j]
            if (
                b not in _lineage(a, lineage)
                and a not in _lineage(b, lineage)
                and _parts_of_one_body(a, b, parts, known, lineage)
            ):
                return True
    return False


def _lineage(el: etree._Element, known: dict[etree._Element, set[etree._Element]]) -> set[etree._Element]:
    """The element and its ancestors (kept in `known`): `anc in _lineage(el, known)` is is_inside(el, anc)."""
    found = known.get(el)
    if found is None:
        found = known[el] = {el, *el.iterancestors()}
    return found


def _may_be_chosen(parts: list[etree._Element]) -> bool:
    """Whether trafilatura's body XPaths may choose one of the parts: each XPath is run from the parts' parents
    only (a fraction of the page). An XPath that picks a part from the whole page picks it from the part's
    parent too (each picks the first element, in document order or among its siblings, whose own attributes
    match), so a part none of them picks there is never the one they choose. Nor is a part whose bare copy (its
    tag and attributes alone) none of them picks among the copies: a far smaller page, searched first (most
    pages' parts match none)."""
    if not _copies_picked(parts):
        return False
    parents = list({id(p): p for el in parts if (p := el.getparent()) is not None}.values())
    for expr in BODY_XPATH:
        for parent in parents:
            if any(found is el for found in expr(parent) for el in parts):
                return True
    return False


def _copies_picked(parts: list[etree._Element]) -> bool:
    """Whether one of trafilatura's body XPaths picks an element from bare copies of the parts, side by side."""
    page = etree.Element("div")
    try:
        for el in parts:
            etree.SubElement(page, el.tag, dict(el.attrib))
    except (TypeError, ValueError):  # a name or value the parser let through and lxml will not set: no shortcut
        return True
    return any(expr(page) for expr in BODY_XPATH)


def _merge_split_body(tree: etree._Element) -> None:
    """Join the parts of an article body split over several same-class containers into the first one.

    Some sites cut the body into chunks (between ads or embeds), each in a container of the same tag and class.
    trafilatura keeps the first container its body XPaths find and loses the rest; moving the later parts'
    blocks into that first container gives it the whole text. Only containers of prose paragraphs count,
    so repeated teaser or footer boxes of the same class are left alone, and only when the container
    trafilatura would choose is one of them and the parts are close in the tree (a box of the same class in
    a sidebar or footer shares only a distant ancestor with the article) and hold most of the prose between them.
    """
    groups: dict[tuple[str, str], list[etree._Element]] = {}
    for el in xp("//p/parent::div[@class] | //p/parent::section[@class]")(tree):  # from the <p>s: far fewer
        groups.setdefault((el.tag, el.get("class", "")), []).append(el)
    # Prose is counted only in containers whose tag and class repeat (most pages have none).
    split = [els for els in groups.values() if len(els) > 1]
    split = [[el for el in els if _prose_words(el) >= _SPLIT_PART_MIN_WORDS] for els in split]
    split = [els for els in split if len(els) > 1 and _may_join(els)]
    if not split or not _may_be_chosen([el for els in split for el in els]):
        return  # the common case: no need to run trafilatura's body XPaths on the whole page
    chosen = next((found[0] for expr in BODY_XPATH if (found := expr(tree))), None)
    for parts in split:
        if chosen is None or not any(el is chosen for el in parts):
            continue
        for el in parts:
            if (
                el is chosen
                or is_inside(el, chosen)
                or is_inside(chosen, el)
                or not _parts_of_one_body(chosen, el, parts)
            ):
                continue
            chosen.extend(list(el))
            remove_node(el)


def _block_text(el: etree._Element) -> str:
    return normalise_text(" ".join(el.itertext()))


def _block_stats(el: etree._Element, text: str | None = None) -> tuple[int, float]:
    """Words of a block of trafilatura's output and the share of its characters inside links (<ref>); `text` is
    the block's _block_text when already made.

    A heading's link to a place in a page (its own permalink, "#section" or "/this-page#section") points
    nowhere else: the heading is the section's title and its text does not count as link text.
    """
    text = _block_text(el) if text is None else text
    if not text:
        return 0, 0.0
    heading = el.tag == "head" or el.find(".//head") is not None
    linked = sum(
        len(normalise_text(" ".join(ref.itertext())))
        for ref in el.iter("ref")
        if not heading or "#" not in (ref.get("target") or "")
    )
    return len(text.split()), linked / len(text)


def _is_teaser_list(block: etree._Element, words: int) -> bool:
    """A list of story teasers: every item links somewhere and items are headline-short.

    "More stories" lists mix a linked headline with an unlinked blurb, so their link share stays under the
    edge threshold; a list of article prose has long items, most without a link.
    """
    return (
        block.tag == "list"
        and len(block) > 1
        and words / len(block) <= _TEASER_ITEM_WORDS
        and all(item.find(".//ref") is not None for item in block)
    )


def _drop_link_lines(body: etree._Element) -> None:
    """Drop short blocks that are nearly all link ("READ MORE: <headline>", "Don't miss" items) after the first.

    Inside an article they point to other stories; a long paragraph that happens to be one link (a product
    description on a deals page) stays, and so does the first block, which often opens with linked names.
    """
    blocks = list(body)
    for i, block in enumerate(blocks[1:], 1):
        if next(block.iter("ref"), None) is None:
            continue  # no link at all: its link share is 0 (the text is not read)
        text = _block_text(block)
        if len(text.split()) >= _LINK_LINE_MAX_WORDS:
            continue  # long enough to stay whatever its link share (the links are not read)
        words, link = _block_stats(block, text)
        if words < _LINK_LINE_MAX_WORDS and link >= _LINK_LINE_SHARE and not _heads_own_prose(blocks, i):
            body.remove(block)


def _heads_own_prose(blocks: list[etree._Element], i: int) -> bool:
    """True when block i is a heading followed by several paragraphs of prose: the title of an item of the
    article (a list article links its items' names), not a pointer to another story, which has a line of
    teaser at most."""
    if blocks[i].tag != "head":
        return False
    after = blocks[i + 1 : i + 1 + _ITEM_MIN_PARAGRAPHS]
    return len(after) == _ITEM_MIN_PARAGRAPHS and all(
        block.tag == "p" and _block_stats(block)[1] < _EDGE_LINK_SHARE for block in after
    )


def _trim_edges(body: etree._Element) -> None:
    """Drop furniture at the ends of trafilatura's output: what precedes and follows the article's prose.

    Leading headings are the page's headline, kicker or standfirst (fields of their own, or another story's);
    trailing headings announce a section that did not make it ("Comments", "Related"); link-heavy blocks at
    the end are tag lists and "more stories" (also teaser lists whose links are only the headlines), unless
    the prose announced the list; a one-word last line is a label. Measured on the public benchmark, each
    rule gains alone. Link-heavy blocks at the start are kept: dropping them lost more opening paragraphs
    (with linked names) than it removed furniture.
    """
    while len(body) > 1:
        words = len(_block_text(body[0]).split())
        if words and body[0].tag != "head":
            break
        body.remove(body[0])
    while len(body) > 1 and _is_trailing_furniture(body):
        body.remove(body[-1])


def _is_trailing_furniture(body: etree._Element) -> bool:
    """True when the body's last block is a heading, a label, link-heavy or a teaser list, and no list the
    article's prose announced (the block before it a sentence ending in a colon: "Further resources on ...:")."""
    last = body[-1]
    words, link = _block_stats(last)
    if words < _EDGE_MIN_WORDS or last.tag == "head":
        return True
    if link < _EDGE_LINK_SHARE and not _is_teaser_list(last, words):
        return False
    return not (last.tag == "list" and _announces(body[-2]))


def _announces(block: etree._Element) -> bool:
    """True when a block is a sentence ending in a colon, long enough not to be a label ("Related:")."""
    text = normalise_text(" ".join(block.itertext()))
    return text.endswith(":") and len(text.split()) >= _INTRO_MIN_WORDS


def _drop_above_headline(paragraphs: list[str], titles: set[str]) -> None:
    """Drop the headline and the short lines above it when it comes among the first lines of the body.

    What sits above a headline (breadcrumbs, "News>", a section or kicker, the page URL) is never article
    text. Only the headline counts here, not the description: many articles open with their description.
    """
    for i, para in enumerate(paragraphs[:_HEADLINE_WITHIN_LINES]):
        if para.casefold() in titles and len(paragraphs) > i + 1:
            if sum(len(p.split()) for p in paragraphs[:i]) <= _ABOVE_HEADLINE_MAX_WORDS:
                del paragraphs[: i + 1]
            return


def _unwrap_quoted_posts(tree: etree._Element) -> None:
    """Take embedded social posts (Twitter's <blockquote class="twitter-tweet">) out of their embed wrappers.

    Articles quote posts as they quote people, and the quoted text is part of the story; trafilatura drops
    the wrappers by their class words ("embed", "social", "widget") and the quote with them. A wrapper is
    replaced by its quote only when it holds nothing else, so a sidebar feed of posts stays a sidebar.
    """
    for quote in xp("/descendant::blockquote[contains(@class, 'tweet')]")(tree):  # not "//": see _site_url
        size = _chars(quote)
        wrapper, parent = quote, quote.getparent()
        while parent is not None and parent.tag in _WRAPPER_TAGS and _chars(parent) <= size + _WRAPPER_SLACK_CHARS:
            wrapper, parent = parent, parent.getparent()
        if wrapper is not quote and parent is not None:
            set_text(quote, wrapper.tail, tail=True)
            parent.replace(wrapper, quote)


def _words(body: etree._Element | None) -> int:
    """Words of an extracted body (0 for none)."""
    return len(" ".join(body.itertext()).split()) if body is not None else 0


_OPTIONS: dict[bool, Extractor] = {}


def _options(fast: bool) -> Extractor:
    """trafilatura's settings for a fast pass or for its full cascade, made once: it reads them from its config
    file's settings on every call otherwise, which costs more than the cleaning of a small page. None of them
    changes during an extraction (trafilatura copies them where it needs other ones), so one is shared.

    fast: skip trafilatura's fallback extractors; favor_recall: keep doubtful paragraphs (the title lines it
    then keeps are removed by the caller). include_links: the <ref> elements tell the edge trimming which blocks
    are links; they are stripped before the text is made. No url: trafilatura would only make the <ref> targets
    absolute, which costs time and is never used. Output "txt": only the body tree is read here, and for "python"
    trafilatura would also write it out as text (the format decides nothing else in bare_extraction).
    """
    found = _OPTIONS.get(fast)
    if found is None:
        found = _OPTIONS[fast] = Extractor(
            config=trafilatura_settings.DEFAULT_CONFIG,
            output_format="txt",
            fast=fast,
            recall=fast,
            comments=False,
            links=True,
            tables=True,
            dedup=False,
        )
    return found


# Elements of a page's <head> trafilatura's fast pass reads nothing in: its cleaning drops the whole <head>, and
# before that only JSON-LD scripts (a forum's posts, an article body for its baseline) are looked for.
_INERT_HEAD_TAGS = frozenset({"meta", "link", "title", "style", "base", "script"})


def _inert(el: etree._Element) -> bool:
    tag = el.tag
    return not isinstance(tag, str) or (
        tag in _INERT_HEAD_TAGS and not (tag == "script" and el.get("type") == "application/ld+json")
    )


def _inert_head_children(head: etree._Element) -> list[tuple[int, etree._Element]]:
    """(index, child) of the <head>'s children trafilatura's fast pass would read nothing in."""
    return [(i, el) for i, el in enumerate(head) if _inert(el) and all(map(_inert, el.iterdescendants()))]


def _bare_body(tree: etree._Element, fast: bool) -> etree._Element | None:
    """trafilatura's body for the tree: its fast pass, or its full cascade (the fallback extractors compared).

    For the fast pass the <head>'s meta tags, styles and plain scripts are set aside while trafilatura reads a
    page with a <body>: it copies the page three times and drops the whole <head> in its cleaning (the page's
    text it measures is its <body>'s)."""
    head = tree.find("head") if fast and tree.tag == "html" and tree.find("body") is not None else None
    aside = _inert_head_children(head) if head is not None else []
    if head is not None:
        for _, el in aside:
            head.remove(el)  # its tail goes with it
    try:
        document = trafilatura.bare_extraction(tree, options=_options(fast))
    finally:
        if head is not None:
            for index, el in aside:
                head.insert(index, el)
    return document.body if isinstance(document, Document) else None


def _extract_body(tree: etree._Element) -> etree._Element | None:
    """trafilatura's fast pass, read again by its full cascade when the fast pass plainly failed.

    It failed when it kept a fraction of the page's paragraph prose (it took a teaser or a sidebar block;
    the full cascade's body is taken when much longer), or when it returned a long text as one block (the
    page's blocks ran together, captions and bylines with the prose; the full cascade's body is taken
    when it keeps most of those words).
    """
    body = _bare_body(tree, fast=True)
    got = _words(body)
    if _fewer_than_share(got, tree):
        full = _bare_body(tree, fast=False)
        return full if _words(full) > RESCUE_GAIN * got else body
    if body is not None and len(body) == 1 and got > _FLAT_BODY_WORDS:
        full = _bare_body(tree, fast=False)
        return full if _words(full) > _FLAT_KEEP_SHARE * got else body
    return body


def _body_text(tree: etree._Element, link_share: list[float] | None = None) -> str:
    """The article text trafilatura finds in the tree, with its edges trimmed (empty when it finds none).

    `link_share`, when given, receives the share of the kept text that sits in links (a headline index is
    mostly links)."""
    _unwrap_quoted_posts(tree)
    _merge_split_body(tree)
    body = _extract_body(tree)
    if body is None:
        return ""
    _drop_link_lines(body)
    _trim_edges(body)
    if link_share is not None:
        text = _chars(body)
        link_share.append(sum(_chars(ref) for ref in body.iter("ref")) / text if text else 0.0)
    etree.strip_tags(body, "ref")
    return xmltotxt(body, False)


def generic_paragraphs(tree: etree._Element, link_share: list[float] | None = None) -> list[str]:
    """The article's paragraphs as the generic path finds them in the tree (cleaned in place first), without
    the headline and what stands above it; `link_share` as for the body text."""
    titles = _title_variants(tree)
    _prune_furniture(tree)
    paragraphs = split_paragraphs(_body_text(tree, link_share))
    while len(paragraphs) > 1 and paragraphs[0].casefold() in titles:
        paragraphs.pop(0)
    _drop_above_headline(paragraphs, titles)
    return paragraphs


def extract_generic(tree: etree._Element, url: str, outlet: Outlet | None = None) -> Extraction:
    """Extract an article from any page: metadata from meta tags and JSON-LD, the body from trafilatura.

    The tree is cleaned in place (link lists, quoted-post wrappers, split bodies) before trafilatura runs on
    it, and trafilatura's blocks are trimmed of furniture afterwards. With `outlet` (a page of a known outlet
    in no known layout) the outlet's standfirst, boilerplate guard, minimum length, title decoration and URL
    date apply as on its known layouts. Raises NotAnArticle when no body text is found (or, for an outlet,
    too little).
    """
    meta = _generic_meta(tree, url)
    titles = _title_variants(tree)
    skip = set(titles)
    if meta["lead"] and outlet is not None:
        # An outlet's description is the standfirst its pages show above the body (a field of its own).
        # Elsewhere the description is most often the article's first paragraph, copied: body text that
        # the public benchmark counts (dropping it cost 0.002 F1 there and gained on no page).
        skip.add(meta["lead"].casefold())
    lang = page_language(tree, outlet.language_for_host(urlsplit(url).hostname or "") if outlet else "en")
    _prune_furniture(tree)
    text = _body_text(tree)
    paragraphs = split_paragraphs(text)
    # The headline (and an outlet's standfirst) are fields of their own: drop them where the body starts
    # with them.
    while paragraphs and len(paragraphs) > 1 and paragraphs[0].casefold() in skip:
        paragraphs.pop(0)
    _drop_above_headline(paragraphs, titles)
    removed: list[str] = []
    if outlet is not None:
        guarded = guard_paragraphs(paragraphs, outlet)
        body, removed = guarded.text, guarded.removed
    else:
        body = "\n\n".join(paragraphs)
    if not body.strip():
        raise NotAnArticle("no article text found")
    parsed_url = outlet.parse_article_url(url) if outlet else None
    if outlet is not None and len(body.split()) < MIN_BODY_WORDS:
        raise NotAnArticle(f"too little text for an article ({len(body.split())} words; unknown layout)")
    published = meta["published"]
    if outlet is not None and published is None and parsed_url and parsed_url.path_date:
        published = iso(date_at_midnight(parsed_url.path_date, outlet.timezone))
    host = (urlsplit(url).hostname or "").lower()
    title = meta["title"]
    if outlet is not None:
        title = outlet.title_decoration_regex.sub("", title)
    if not title.strip():
        raise NotAnArticle("page has no headline")  # an item always has a title (the schema says so)
    article = Article(
        article_id=parsed_url.article_id if parsed_url else "",
        url=outlet.canonical_url(url) if outlet else url,
        source_url=url,
        mirror=host,
        title=title,
        lead=meta["lead"],
        body=body,
        published=published,
        modified=meta["modified"],
        section=meta["section"],
        authors=meta["authors"],
        image_url=meta["image_url"],
        language=lang,
        word_count=len(body.split()),
        content_hash=content_hash(body),
        extracted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extractor_version=EXTRACTOR_VERSION,
        layout="unknown",
    )
    return Extraction(article, removed, "unknown")
