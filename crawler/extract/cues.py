"""Layout-independent outlet cues: date lines, breadcrumbs, navigation boxes, bylines and captions found by
structure, text density and the site's own phrases and date formats, never by class names.

They run on every page of an outlet, whether or not a layout rule of the profile matched: a layout rule is a
fast path that a redesign can break, and these cues are what still holds when it does. Everything they take
out of the page is counted per reason, like the boilerplate guard, so a run shows how much they had to do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from lxml import etree

from crawler.core.items import normalise_text
from crawler.extract.dates import parse_site_datetime, split_updated
from crawler.extract.furniture import is_share_text
from crawler.extract.needles import may_match_one
from crawler.extract.tree import node_text, own_text_length, remove_node
from crawler.outlet import Outlet

SHORT_LINE_WORDS = 16
"""A date line, breadcrumb, navigation row or box heading is never longer than this."""

CAPTION_MAX_WORDS = 60
"""A photo caption is never longer than this."""

NAV_ITEM_WORDS = 3
"""Items of a tab strip or menu ("Today", "Last Week") have at most this many words."""

LINK_LIST_DENSITY = 0.8
"""Share of a block's text inside links above which a block of two or more links is a link list."""

CRUMB_WINDOW = 15
"""A breadcrumb stands within this many elements of the headline (in document order, before or after it)."""

MAX_CRUMBS = 5
"""A breadcrumb has at most this many entries; a longer list of short links is a menu."""

_HEADINGS = frozenset({"h1", "h2", "h3", "h4"})
_YEAR = re.compile(r"\b(?:19|20)\d\d")
_CLOCK = re.compile(r"\d:\d")
_NAV_SPLIT = re.compile(r"\s*[|•·]\s*")
_CRUMB_SPLIT = re.compile(r"\s+/\s+|\s*[»›]\s*")
_SENTENCE_END = re.compile(r"[.!?\"”’:;]$")
# Elements that never carry article furniture of their own or whose text is not page text.
_SKIP = frozenset({"script", "style", "noscript", "template", "head", "title", "meta", "link", "img", "br", "hr"})
# Inline elements: removed only when they stand alone on their line (a link inside a sentence is text).
_INLINE = frozenset({"a", "span", "b", "strong", "em", "i", "font", "small", "time", "label", "u", "abbr"})
_BLOCKISH = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "blockquote",
        "table",
        "tr",
        "td",
        "th",
        "tbody",
        "thead",
        "section",
        "article",
        "figure",
        "figcaption",
        "header",
        "footer",
        "dd",
        "dt",
        "dl",
        "main",
        "aside",
        "nav",
        "form",
        "center",
        "menu",
        "address",
        "caption",
    }
)
_CARD_TAGS = frozenset({"div", "blockquote", "section", "aside", "figure", "p", "article"})
_CHROME = frozenset({"header", "footer", "nav", "aside", "menu", "form"})


@dataclass
class Cues:
    """What the cues found on one page: metadata, and every removal by reason."""

    published: datetime | None = None
    modified: datetime | None = None
    published_has_time: bool = False
    section: str | None = None
    authors: list[str] = field(default_factory=list)
    caption: str | None = None
    image: str | None = None
    """The src of the image whose caption block the cues removed (the article's lead image)."""
    removed: dict[str, list[str]] = field(default_factory=dict)
    headline: etree._Element | None = None
    """The page's headline element: a breadcrumb names the section only when it stands beside it."""
    plain: set[str] = field(default_factory=set, repr=False)
    """Lines already found to be no furniture line (a wrapper and its only child say the same line): whether a
    line is one depends on its text alone."""

    def note(self, reason: str, text: str) -> None:
        """Count one removal under its reason."""
        self.removed.setdefault(reason, []).append(text[:200])

    def beside_headline(self, el: etree._Element) -> bool:
        """True when `el` stands within a few elements of the headline, before or after it (a breadcrumb does;
        a site menu at the top of the page, a footer or a sidebar list does not)."""
        head = self.headline
        if head is None:
            return False
        text = node_text(head)
        window = f"following::*[position() <= {CRUMB_WINDOW}] | preceding::*[position() <= {CRUMB_WINDOW}]"
        for node in el.xpath(window):
            if node is head or (text and node.tag in _HEADINGS and node_text(node) == text):
                return True
        return False


# ---- one line of text ---------------------------------------------------------------------------------


def _dateline(text: str, outlet: Outlet, cues: Cues) -> bool:
    """True for a line that is only a date in one of the site's formats (with an optional "[Updated: ...]");
    the first one with a time (else the first one) becomes `published`."""
    if ("19" not in text and "20" not in text) or not _YEAR.search(text):
        return False  # a year starts with 19 or 20: most lines hold neither, and the pattern is not even run
    pub_text, upd_text = split_updated(text, outlet)
    match = outlet.updated_regex.search(text) if upd_text is not None and outlet.updated_regex else None
    if match is not None and text[match.end() :].strip():
        return False  # more than a date line (a breadcrumb after it, say): its parts are judged one by one
    published = parse_site_datetime(pub_text, outlet)
    if published is None:
        return False
    has_time = bool(_CLOCK.search(pub_text))
    if cues.published is None or (has_time and not cues.published_has_time):
        cues.published, cues.published_has_time = published, has_time
        cues.modified = parse_site_datetime(upd_text, outlet) if upd_text else None
    return True


def section_from_crumbs(parts: list[str], outlet: Outlet) -> str | None:
    """The section a breadcrumb names: its last entry that is not a generic one ("News", "Home")."""
    names = [p.strip() for p in parts if p.strip() and p.strip().casefold() not in outlet.breadcrumb_skip]
    return names[-1] if names else None


def _breadcrumb(text: str, outlet: Outlet, cues: Cues, beside: Callable[[], bool]) -> bool:
    """True for "News / Politics"-like lines: short parts split by slashes, one a generic or known section.
    Only a short one beside the headline names the section (a menu never does)."""
    if ("/" not in text and "»" not in text and "›" not in text) or not _CRUMB_SPLIT.search(text):
        return False  # one part only: most lines (without a separator at all: the pattern is not even run)
    parts = [p.strip() for p in _CRUMB_SPLIT.split(text)]
    if len(parts) < 2 or any(not p or len(p.split()) > 4 or _SENTENCE_END.search(p) for p in parts):
        return False
    known = {s.casefold() for s in outlet.sections.values()}
    if not any(p.casefold() in outlet.breadcrumb_skip or p.casefold() in known for p in parts):
        return False
    if cues.section is None and len(parts) <= MAX_CRUMBS and beside():
        cues.section = section_from_crumbs(parts, outlet)
    return True


def _never() -> bool:
    return False


def _nav_row(text: str) -> bool:
    """True for "Share | Email | Print"-like rows: three or more short items split by bars or bullets."""
    if ("|" not in text and "•" not in text and "·" not in text) or not _NAV_SPLIT.search(text):
        return False  # no bar or bullet: most lines
    parts = [p for p in _NAV_SPLIT.split(text) if p.strip()]
    return len(parts) >= 3 and all(len(p.split()) <= NAV_ITEM_WORDS for p in parts)


def line_reason(line: str, outlet: Outlet, cues: Cues, beside: Callable[[], bool] = _never) -> str | None:
    """Why a short line of page text is furniture ("dateline", "breadcrumb", ...), or None when it may be text.

    Date lines fill `cues.published` the first time they are seen; a breadcrumb fills `cues.section` when
    `beside()` says it stands beside the headline.
    """
    # A longer line (most of a body's) is passed over without normalising it: printable text has no control
    # character to drop and no whitespace but the plain space, and NFC changes neither, so its words are those.
    if line.isprintable() and len(line.split(None, SHORT_LINE_WORDS)) > SHORT_LINE_WORDS:
        return None
    return _text_reason(normalise_text(line), outlet, cues, beside)


def _text_reason(text: str, outlet: Outlet, cues: Cues, beside: Callable[[], bool]) -> str | None:
    """line_reason for text already normalised (an element's node_text)."""
    # Normalised text has one space between words: counting spaces counts words, without splitting.
    if not text or text in cues.plain or text.count(" ") >= SHORT_LINE_WORDS:
        return None
    if outlet.site_clock_regex.match(text):
        return "site-clock"
    if _dateline(text, outlet, cues):
        return "dateline"
    if outlet.box_heading_regex.match(text):
        return "box-heading"
    if _breadcrumb(text, outlet, cues, beside):
        return "breadcrumb"
    if _nav_row(text):
        return "nav-row"
    if is_share_text(text, outlet):
        return "share"
    if outlet.initials_regex.match(text):
        return "initials"
    if outlet.byline_place_regex.match(text):
        return "byline"
    byline = outlet.byline_line_regex
    # The byline pattern's lazy name group makes a failed match costly, and nearly every line fails it: a line
    # without the pattern's needles is passed over.
    match = byline.match(text) if may_match_one(byline, text) else None
    if match:
        name = match.group("name").strip()
        if name not in cues.authors:
            cues.authors.append(name)
        return "byline"
    cues.plain.add(text)
    return None


# ---- the page tree ------------------------------------------------------------------------------------


_TEXT, _LINK_TEXT, _LINKS, _IMGS, _PARAS = range(5)
_UNMEASURED = frozenset({"script", "style", "noscript", "template"})
_BITS = 40
"""An element's five figures are kept packed in one int, each in a field of this many bits (no page holds 2**40
characters or elements): a parent's figures are its children's summed in one addition, and an int is no object
the garbage collector tracks (a page has thousands of elements)."""
_MASK = (1 << _BITS) - 1
_AT = [i * _BITS for i in range(5)]
"""Where each figure's field starts."""
_LINKS_AT, _IMGS_AT, _PARAS_AT = _AT[_LINKS], _AT[_IMGS], _AT[_PARAS]
_ONE_LINK, _ONE_IMAGE, _ONE_PARA = 1 << _LINKS_AT, 1 << _IMGS_AT, 1 << _PARAS_AT


def _figures(packed: int) -> list[int]:
    """[text, link text, links, images, long paragraphs] of one element, from its packed figures."""
    return [
        packed & _MASK,
        packed >> _BITS & _MASK,
        packed >> 2 * _BITS & _MASK,
        packed >> 3 * _BITS & _MASK,
        packed >> 4 * _BITS,
    ]


def _figure(packed: int, index: int) -> int:
    """One of an element's packed figures."""
    return packed >> (index * _BITS) & _MASK


def _measure(root: etree._Element) -> dict[etree._Element, int]:
    """The [text, link text, links, images, long paragraphs] of every element, packed (_figures unpacks them), in
    one pass from the leaves up (no recursion: pages nest deeply).

    Script-like elements get no entry, so nothing inside them counts for the elements around them (what lies
    inside them is measured too, but never asked for: the page walk does not enter them)."""
    stats: dict[etree._Element, int] = {}
    get = stats.get
    if root.tag in _UNMEASURED:
        return stats
    for el in reversed(list(root.iter(etree.Element))):
        tag = el.tag
        if tag in _UNMEASURED:
            continue
        text = el.text
        figures = len(text.strip()) if text else 0  # its own text, then its children's figures and tails
        if len(el):  # (about half of a page's elements are leaves)
            for child in el:
                tail = child.tail
                if tail:
                    figures += len(tail.strip())
                figures += get(child, 0)
        if tag == "a":  # all of a link's text is link text
            figures += ((figures & _MASK) - (figures >> _BITS & _MASK) << _BITS) + _ONE_LINK
        elif tag == "img":
            figures += _ONE_IMAGE
        elif tag == "p" and figures & _MASK > 80:
            figures += _ONE_PARA
        stats[el] = figures
    return stats


def _standalone(el: etree._Element) -> bool:
    """True when an inline element is alone on its line: nothing but whitespace beside it in its parent."""
    if el.tag not in _INLINE:
        return True
    parent = el.getparent()
    if parent is None:
        return True
    if (parent.text or "").strip() or (el.tail or "").strip():
        return False
    if any((sib.tail or "").strip() for sib in parent if sib is not el):
        return False
    # An inline parent that holds blocks (a <span> wrapping a whole article body) is used as a block.
    return parent.tag not in _INLINE or any(isinstance(c.tag, str) and c.tag in _BLOCKISH for c in parent)


def _short_items_list(el: etree._Element) -> bool:
    """A list whose items are all one to three words: a tab strip or a menu, never prose."""
    items = [c for c in el if isinstance(c.tag, str) and c.tag == "li"]
    if len(items) < 2:
        return False
    return all(0 < len(node_text(li).split()) <= NAV_ITEM_WORDS for li in items)


def _caption_block(el: etree._Element, s: list[int], stats: dict[etree._Element, int]) -> str | None:
    """The caption text of an image block: an element holding one image and exactly one piece of text (its
    own, or one child's that holds no image). A block with two pieces of text (caption and lead, say) is not
    one: its children are judged instead."""
    if el.tag == "figcaption":
        text = node_text(el)
        return text or None
    if s[_IMGS] != 1 or s[_PARAS] > 1 or s[_TEXT] == 0:
        return None
    pieces = [c for c in el if isinstance(c.tag, str) and stats.get(c, 0) & _MASK > 0]
    if (own_text_length(el) > 0) + len(pieces) != 1 or (pieces and _figure(stats[pieces[0]], _IMGS)):
        return None
    if s[_PARAS] and (el.tag == "p" or pieces[0].tag != "p"):
        return None  # a long line of text with an image in it is a paragraph; a photo block's <p> is its caption
    para = el.getparent()
    para_figures = stats.get(para, 0) if para is not None and para.tag == "p" else 0
    if _figure(para_figures, _PARAS) and 2 * s[_TEXT] > para_figures & _MASK:
        return None  # most of a long paragraph, an image set in its text (<p><strong><img>Text</strong></p>)
    text = node_text(el)
    if len(text.split()) > CAPTION_MAX_WORDS or s[_LINK_TEXT] > 0.5 * max(1, s[_TEXT]):
        return None
    return text


def clean_page(start: etree._Element, outlet: Outlet, cues: Cues, keep: set[etree._Element]) -> None:
    """Remove furniture from a page (or from one region of it) by structure and the site's phrases, filling
    `cues` on the way.

    `keep` holds elements that must stay (the headline, a known body region, and their ancestors): they are
    searched inside but never removed whole.
    """
    if start.tag == "html":
        body = start.find("body")
        start = body if body is not None else start
    stats = _measure(start)
    texts: dict[etree._Element, str] = {}
    stack = [start]
    while stack:
        el = stack.pop()
        packed = stats.get(el, 0)  # none for what is no element (and for script-like elements)
        if not packed & _MASK or el.tag in _SKIP:
            continue  # no text in it: nothing in it is furniture a line or block rule could take (all need text)
        reason = None if el in keep else _reason(el, packed, stats, outlet, cues, texts)
        if reason is not None:
            text = texts.get(el) or node_text(el)
            if reason == "box":
                _remove_box(el, outlet, cues)
                continue
            if reason == "caption" and cues.caption is None:
                cues.caption = text
                img = el.find(".//img") if el.tag != "img" else el
                if img is None and el.getprevious() is not None:
                    prev = el.getprevious()
                    img = prev if prev.tag == "img" else prev.find(".//img")
                cues.image = img.get("src") if img is not None else None
            if reason == "byline" and outlet.byline_place_regex.match(text):
                _take_byline_name(el, cues)
            cues.note(reason, text)
            remove_node(el)
            continue
        stack.extend(reversed(el))  # in document order (what is no element is passed over above)


def _take_byline_name(place: etree._Element, cues: Cues) -> None:
    """The reporter's name next to a "Press TV, Tehran" line: a short line without sentence punctuation."""
    for sib in (place.getprevious(), place.getnext()):
        if sib is None or not isinstance(sib.tag, str):
            continue
        name = node_text(sib)
        if name and len(name.split()) <= 5 and not _SENTENCE_END.search(name) and not any(c.isdigit() for c in name):
            if name not in cues.authors:
                cues.authors.append(name)
            cues.note("byline", name)
            remove_node(sib)
            return


def _line_text(el: etree._Element, texts: dict[etree._Element, str]) -> str:
    """node_text(el), known already when el is the only content of a parent whose text was read (a wrapper and
    its child say the same line); el's text is then kept for el and its only child."""
    text = texts.get(el)
    if text is None:
        # node_text of an element without children is its normalised text (most lines here are leaves).
        text = texts[el] = node_text(el) if len(el) else normalise_text(el.text or "")
    if len(el) == 1 and not (el.text or "").strip() and not (el[0].tail or "").strip():
        texts[el[0]] = text
    return text


def _reason(
    el: etree._Element,
    packed: int,
    stats: dict[etree._Element, int],
    outlet: Outlet,
    cues: Cues,
    texts: dict[etree._Element, str],
) -> str | None:
    # The element's figures, each unpacked where a rule asks for it (most elements meet only the first rules).
    size = packed & _MASK
    if size == 0:
        return None
    paras = packed >> _PARAS_AT  # the last field: nothing above it
    tag = el.tag
    if tag in _CHROME and paras == 0 and not _section_header(el, packed):
        return "page-chrome"
    # A block is always on a line of its own: only an inline element's siblings are looked at.
    if size <= 200 and (tag in _BLOCKISH or (tag in _INLINE and _standalone(el))):
        text = _line_text(el, texts)
        # Most lines are known text already or long (the first test of _text_reason): no closure made for them.
        if text and text not in cues.plain and text.count(" ") < SHORT_LINE_WORDS:
            reason = _text_reason(text, outlet, cues, lambda: cues.beside_headline(el))
            if reason == "box-heading":
                return "box"
            if reason is not None:
                return reason
    if tag in ("ul", "ol", "menu") and _short_items_list(el):
        items = [node_text(li) for li in el if isinstance(li.tag, str) and li.tag == "li"]
        if items[0].casefold() in outlet.breadcrumb_skip:  # "News > Society > Reports" as a list
            if cues.section is None and len(items) <= MAX_CRUMBS and cues.beside_headline(el):
                cues.section = section_from_crumbs(items, outlet)
            return "breadcrumb"
        return "nav-block"
    links = packed >> _LINKS_AT & _MASK
    if links:
        linked = packed >> _BITS & _MASK
        if links >= 2 and linked >= LINK_LIST_DENSITY * size and paras == 0:
            return "link-list"
        if (
            linked >= 0.9 * size
            and tag in _CARD_TAGS  # blocks all: on a line of their own
            and len((texts.get(el) or node_text(el)).split()) <= (15 if tag == "p" else 25)
        ):
            return "related-card"  # an embedded story card: a headline linking to another article
    # Only a figcaption or a block holding one image can be a caption block (tested here: most elements are neither).
    if (tag == "figcaption" or packed >> _IMGS_AT & _MASK == 1) and _caption_block(
        el, _figures(packed), stats
    ) is not None:
        return "caption"
    if size <= 600 and paras <= 1 and _credit_line(el, outlet, texts):
        return "caption"  # a credited line right under a photo: "... (Photo by Reuters)"
    return None


def _section_header(el: etree._Element, packed: int) -> bool:
    """True for the <header> of a part of the article: a subheading (and perhaps a label), no links."""
    return el.tag == "header" and _figure(packed, _LINKS) == 0 and any(c.tag in ("h2", "h3", "h4") for c in el)


def _credit_line(el: etree._Element, outlet: Outlet, texts: dict[etree._Element, str]) -> bool:
    """A line right under a photo that ends in its credit. A line first in its parent (many) is passed over at
    once; else its text is read only when it does follow an image; when the text is known already, the credit
    (rarer) is looked for first."""
    prev = el.getprevious()
    while prev is not None and not isinstance(prev.tag, str):
        prev = prev.getprevious()
    if prev is None:
        return False
    known = texts.get(el)
    if known is not None:
        return bool(outlet.caption_regex.search(known)) and _holds_image(prev)
    return _holds_image(prev) and bool(outlet.caption_regex.search(node_text(el)))


def _holds_image(el: etree._Element) -> bool:
    """True for an image or an element with one inside (iter() finds it in C; find() would parse a path in
    Python)."""
    return next(el.iter("img"), None) is not None


def _remove_box(heading: etree._Element, outlet: Outlet, cues: Cues) -> None:
    """Remove a box heading ("Latest From Middle East") and the lists, links and short items after it."""
    cues.note("box-heading", node_text(heading))
    sibling = heading.getnext()
    remove_node(heading)
    while sibling is not None:
        nxt = sibling.getnext()
        if not isinstance(sibling.tag, str):
            sibling = nxt
            continue
        text = node_text(sibling)
        links = sum(len(node_text(a)) for a in sibling.iter("a"))
        is_item = (
            sibling.tag in ("ul", "ol", "a", "br")
            or not text
            or links >= LINK_LIST_DENSITY * len(text)
            or len(text.split()) <= NAV_ITEM_WORDS
        )
        if not is_item:
            break
        if text:
            cues.note("box-item", text)
        remove_node(sibling)
        sibling = nxt


# ---- paragraphs of extracted text ----------------------------------------------------------------------


def clean_paragraphs(paragraphs: list[str], outlet: Outlet, cues: Cues) -> list[str]:
    """Drop furniture lines that reached the body text (a date line between two <br>s, say) and editor
    initials glued to the last line."""
    kept: list[str] = []
    for i, para in enumerate(paragraphs):
        # A breadcrumb that reached the text names the section only where the headline was: at the top.
        reason = line_reason(para, outlet, cues, (lambda: True) if i == 0 and not kept else _never)
        if reason is not None:
            cues.note(reason, para)
            continue
        kept.append(para)
    if kept:
        last = kept[-1]
        match = outlet.initials_regex.search(last)
        if match and match.start() > 0:
            cues.note("initials", match.group(0).strip())
            kept[-1] = last[: match.start()].rstrip()
    return kept


__all__ = ["Cues", "clean_page", "clean_paragraphs", "line_reason", "section_from_crumbs"]
