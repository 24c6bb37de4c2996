"""Extract one article from one page: classify, read metadata, prune furniture, run trafilatura, guard."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import trafilatura
from lxml import etree

from crawler.core.items import EXTRACTOR_VERSION, Article, content_hash, normalise_text
from crawler.extract.cues import Cues, clean_page, clean_paragraphs
from crawler.extract.dates import date_at_midnight, iso, parse_site_datetime, split_updated
from crawler.extract.decode import decode_page
from crawler.extract.errors import NotAnArticle
from crawler.extract.furniture import prune_furniture, prune_hidden
from crawler.extract.generic import extract_generic, generic_paragraphs
from crawler.extract.guard import guard_paragraphs
from crawler.extract.region import beside_headline, locate_body
from crawler.extract.tree import (
    LOCAL,
    MIN_BODY_WORDS,
    Extraction,
    absolute_url,
    common_shingle_bounds,
    doc_iter,
    first_match,
    is_inside,
    link_density,
    lower_words,
    meta_value,
    node_text,
    page_language,
    paragraph_word_count,
    remove_node,
    shared_paragraphs,
    shingle_f1_words,
    split_paragraphs,
    xp,
)
from crawler.outlet import Layout, Outlet, outlet_for_url

MAX_LINK_DENSITY = 0.6
"""Share of the pruned body region's text inside links above which the page is a headline index."""

MAX_REGION_ELEMENTS = 5000
"""A body region with more elements than this (no real article comes near) skips trafilatura, whose cost
grows much faster than the page: the region's own paragraphs are taken as they are."""

TOO_LITTLE = "too little text for an article"
"""The start of the refusal reason for a page whose cleaned body is shorter than MIN_BODY_WORDS."""

SHORT_PAGE_WORDS = 150
"""Pages shorter than this are searched whole for notice phrases (longer ones only in title and headings)."""

_BLOCK_TAGS = frozenset(
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
        "pre",
        "table",
        "tr",
        "td",
        "th",
        "section",
        "article",
        "figure",
        "header",
        "footer",
        "dd",
        "dt",
        "dl",
        "main",
        "aside",
        "nav",
        "form",
        "fieldset",
        "address",
        "center",
    }
)


def _block_paragraphs(region: etree._Element) -> list[str]:
    """The region's text as paragraphs: a break at every block element and every <br>."""
    out: list[str] = []
    cur: list[str] = []

    def flush() -> None:
        if not cur:
            return  # (most breaks follow another: nothing to normalise)
        # The pieces as the page shows them, run together: an inline element's text and the text after it are
        # one word where no space parts them (a drop cap: <span>T</span>he); blocks and breaks flush.
        text = normalise_text("".join(cur))
        if text:
            out.append(text)
        cur.clear()

    def walk(el: etree._Element) -> None:
        tag = el.tag  # (lxml builds the tag and text strings at every access: each is read once)
        if not isinstance(tag, str):
            pass
        elif tag == "br":
            flush()
        elif tag not in ("script", "style", "noscript", "template"):
            block = tag in _BLOCK_TAGS
            if block:
                flush()
            text = el.text
            if text:
                cur.append(text)
            for child in el:
                walk(child)
            if block:
                flush()
        tail = el.tail
        if tail:
            cur.append(tail)

    if region.text:
        cur.append(region.text)
    for child in region:
        walk(child)
    flush()
    return out


# ---- classification --------------------------------------------------------------------------------


def _first_words(body: etree._Element | None, limit: int) -> list[str]:
    """The words of the page's text (its text pieces joined by spaces), read only until `limit` of them are
    found: a long page stops early, with `limit` words or one more."""
    words: list[str] = []
    for piece in body.itertext() if body is not None else ():
        # A long piece (a script's text) is split no further than the words still wanted, and one more: its
        # last part is then cut to its first word.
        wanted = limit - len(words)
        parts = piece.split(None, wanted)
        if len(parts) > wanted:
            parts[-1] = parts[-1].split(None, 1)[0]
        words.extend(parts)
        if len(words) >= limit:
            break
    return words


def classify_non_article(tree: etree._Element, outlet: Outlet | None, url: str, has_layout: bool = False) -> str | None:
    """The reason a page is not an article, or None when it may be one.

    Notice phrases (seizure, challenge, error) are looked for in the title and headings of any page, and in
    the whole text of short pages without an article layout, so an article that merely quotes "access
    denied" stays an article.
    """
    head_bits = [node_text(n) for n in islice(doc_iter(tree, "title", "h1", "h2", "h3"), 12)]
    head_text = " | ".join(b for b in head_bits if b).lower()
    if outlet is not None:
        short = False
        if not has_layout:  # the whole text is only read for pages without an article layout
            words = _first_words(tree.find("body"), SHORT_PAGE_WORDS)
            short = len(words) < SHORT_PAGE_WORDS
        lowered = " ".join(words).lower() if short else ""
        for kind, label in (
            ("seizure", "seizure notice"),
            ("challenge", "challenge or block page"),
            ("error", "error page"),
        ):
            for phrase in outlet.non_article.get(kind, ()):
                p = phrase.lower()
                if p in head_text or (short and p in lowered):
                    return label
        if not outlet.is_article_url(url):
            path = urlsplit(url).path
            low = path.lower()
            if outlet.listing_path_regex.search(path):
                return "section listing"
            if low in outlet.homepage_paths:
                return "homepage"
            return f"not an article URL: {path or '/'}"
    if not head_text and not xp("boolean(//body//text()[normalize-space()])")(tree):
        return "page has no text"
    return None


def _detect_layout(tree: etree._Element, outlet: Outlet) -> Layout | None:
    """The first of the outlet's layouts whose `detect` XPath matches the page.

    A detect XPath made only of class tests can match only where a class attribute holds one of its class
    words: the page's class attributes are read once, and a layout none of whose words they hold is passed
    over without running its XPath (most pages match no layout, and each XPath walks the whole page)."""
    classes: str | None = None
    for layout in outlet.layouts:
        needed = _class_words(layout.detect)
        if needed is not None:
            if classes is None:
                classes = "\n".join(xp("//@class", smart_strings=False)(tree))
            if not any(word in classes for word in needed):
                continue
        if xp(layout.detect)(tree):
            return layout
    return None


_NAME = r"//(?:\*|[A-Za-z][\w-]*)"
_CLASS_WORD = r"'\s*[!-&(-~]+\s*'"
"""A class word in quotes: printable ASCII without space or quote (spaces around it allowed)."""
_CLASS_TESTS = (
    # //div[contains(@class,'item-text')]
    re.compile(_NAME + r"\[\s*contains\(\s*@class\s*,\s*(" + _CLASS_WORD + r")\s*\)\s*\]"),
    # //div[contains(concat(' ', normalize-space(@class), ' '), ' details-page ')]
    re.compile(
        _NAME + r"\[\s*contains\(\s*concat\(\s*' '\s*,\s*normalize-space\(\s*@class\s*\)\s*,\s*' '\s*\)\s*,"
        r"\s*(" + _CLASS_WORD + r")\s*\)\s*\]"
    ),
    # //@class[contains(.,'ArticleTitle') or contains(.,'ArticleBody')]/..
    re.compile(
        r"//@class\[(\s*contains\(\s*\.\s*,\s*" + _CLASS_WORD + r"\s*\)"
        r"(?:\s+or\s+contains\(\s*\.\s*,\s*" + _CLASS_WORD + r"\s*\))*)\s*\]/\.\."
    ),
)
_QUOTED = re.compile(r"'\s*([!-&(-~]+)\s*'")


@lru_cache(maxsize=64)
def _class_words(detect: str) -> frozenset[str] | None:
    """The class words one of which a class attribute must hold for the detect XPath to match, when the XPath is
    a union of the class tests above (each branch matches only an element whose class holds one of its words,
    and the parsed attribute is what the XPath reads too); None for any other XPath, which is always run."""
    words: set[str] = set()
    for branch in detect.split("|"):
        found = next((m for t in _CLASS_TESTS if (m := t.fullmatch(branch.strip()))), None)
        if found is None:
            return None
        words.update(_QUOTED.findall(found.group(1)))  # the quoted words the branch tests, and no other
    return frozenset(words)


# ---- outlet pages ----------------------------------------------------------------------------------


def _byline_names(pieces: list[str], outlet: Outlet) -> list[str]:
    """Reporter names from byline text pieces: "Ali Musavi" + "Press TV, Tehran", or "Name, Press TV, London"."""
    names: list[str] = []
    for piece in pieces:
        for part in re.split(r"\s*/\s*|\s*\|\s*", piece):
            part = part.strip(" ,")
            if not part or outlet.byline_place_regex.match(part):
                continue
            part = re.split(r",?\s*\bPress\s*TV\b", part, flags=re.IGNORECASE)[0].strip(" ,")
            part = re.sub(r"^(?:by|reporter:|par)\s+", "", part, flags=re.IGNORECASE).strip()
            if part and len(part.split()) <= 5 and not any(ch.isdigit() for ch in part) and part not in names:
                names.append(part)
    return names


def _strip_byline_pair(paragraphs: list[str], outlet: Outlet) -> tuple[list[str], list[str]]:
    """Remove a report's byline pair (a short name line next to "Press TV, <City>") near either end of the body."""
    names: list[str] = []
    drop: set[int] = set()
    n = len(paragraphs)
    for i, para in enumerate(paragraphs):
        if not (i < 3 or i >= n - 3) or not outlet.byline_place_regex.match(para):
            continue
        drop.add(i)
        for j in (i - 1, i + 1):
            if 0 <= j < n and j not in drop:
                cand = paragraphs[j]
                if len(cand.split()) <= 5 and not cand.endswith((".", "?", "!", '"', "”", ":")):
                    names.extend(_byline_names([cand], outlet))
                    drop.add(j)
                    break
    return [p for i, p in enumerate(paragraphs) if i not in drop], names


def _prune_read_more(region: etree._Element, outlet: Outlet) -> None:
    """Remove inline "Read more:" labels and the related links, lists and cards that follow each one."""
    # An element's own leading text must be the label (cheap); its whole text is checked after that.
    match = outlet.read_more_regex.match
    # Elements only, chosen in C; each text read once (lxml builds the string at every access).
    candidates = [el for el in region.iter(etree.Element) if (text := el.text) and match(text) and el is not region]
    labels = []
    for el in candidates:
        if outlet.read_more_regex.match(node_text(el) or "-"):
            labels.append(el)
        elif el.getparent() is not None and _only_links_after_label(el):
            remove_node(el)  # "Read more: <a>Story</a>" on one line: label and link go together
    for label in labels:
        if label.getparent() is None:
            continue
        # Climb to the outermost element that holds only the label (<p><strong>Read more:</strong></p>).
        while (
            label.getparent() is not None
            and label.getparent() is not region
            and outlet.read_more_regex.match(node_text(label.getparent()) or "-")
        ):
            label = label.getparent()
        if label.tail and label.tail.strip():
            remove_node(label)  # real text follows on the same line: only the label goes
            continue
        sibling = label.getnext()
        while sibling is not None and _is_related(sibling):
            nxt = sibling.getnext()
            stop = bool(sibling.tail and sibling.tail.strip())
            remove_node(sibling)
            sibling = None if stop else nxt
        remove_node(label)


def _only_links_after_label(el: etree._Element) -> bool:
    """True when everything in `el` after its leading label text is link text."""
    rest = node_text(el)[len(normalise_text(el.text or "")) :].strip()
    return bool(rest) and rest == normalise_text(" ".join(node_text(a) for a in el.iter("a")))


def _is_related(node: etree._Element) -> bool:
    """True for what follows a "Read more:" label: link lists, link-only blocks, cards, breaks, empty blocks."""
    if not isinstance(node.tag, str):
        return True
    if node.tag in ("ul", "ol", "br", "a") or node.get("data-oembed-url") is not None:
        return True
    if node.tag in ("p", "div", "blockquote", "section"):
        text = node_text(node)
        if not text:
            return True
        linked = sum(len(node_text(a)) for a in node.iter("a"))
        return linked >= 0.9 * len(text)
    return False


def _region_text(region: etree._Element, url: str) -> str:
    """Paragraph text of a pruned region: trafilatura's, unless it dropped part of what the region holds.

    The region is already known to be the article, so trafilatura must not second-guess it: when a
    paragraph of the region's own block text is missing from trafilatura's output (it tends to drop text
    that sits straight in a <div> before a <br>), the region's own paragraphs are used.
    """
    own = _block_paragraphs(region)
    if sum(1 for _ in region.iter()) > MAX_REGION_ELEMENTS or sum(len(p.split()) for p in own) < MIN_BODY_WORDS:
        return "\n".join(own)  # too big for trafilatura, or too small to be an article at all
    # fast: no fallback extractors (the region is known); favor_recall: keep all of it.
    result = (
        trafilatura.extract(
            region,
            url=url,
            include_comments=False,
            include_tables=True,
            fast=True,
            favor_recall=True,
            deduplicate=False,
        )
        or ""
    )
    got = normalise_text(result)
    if any(len(p.split()) >= 2 and p not in got for p in own):
        return "\n".join(own)
    return result


def _section(crumb: Any, outlet: Outlet) -> str | None:
    if crumb is None:
        return None
    links = [node_text(a) for a in crumb.iter("a")]
    crumbs = [c for c in links if c] or [c.strip() for c in re.split(r"\s*/\s*", node_text(crumb))]
    crumbs = [c for c in crumbs if c and c.casefold() not in outlet.breadcrumb_skip]
    return crumbs[-1] if crumbs else None


def _plausible_region(tree: etree._Element, region: etree._Element) -> bool:
    """False when the page has more than twice as much prose in paragraphs outside a layout's body region as
    the region holds: the rule named the wrong block."""
    inside = len(node_text(region))
    outside = 0
    for para in xp("//body//p")(tree):
        if is_inside(para, region):
            continue
        text = node_text(para)
        if len(text) >= 40 and link_density(para) < 0.5:
            outside += len(text)
            if outside > 2 * inside:
                return False
    return True


TITLE_OVERLAP = 0.5
"""Share of the page title's words a heading must repeat to be taken for the headline the title rewords."""

_WORDS = re.compile(r"\w+")


def _title_node(tree: etree._Element, outlet: Outlet) -> etree._Element | None:
    """The headline element of a page no layout rule knows: the heading that repeats the page's title
    (og:title or <title> without the site's decoration), else the first h1 with a few words."""
    wanted = {
        outlet.title_decoration_regex.sub("", t).casefold()
        for t in (meta_value(tree, "og:title", "twitter:title"), node_text(tree.find(".//title")))
        if t
    }
    # The headings inside a <body> (//body//h1 | ...), found in one walk in C.
    headings = list(islice((h for h in doc_iter(tree, "h1", "h2", "h3") if _in_body(h)), 40))
    texts: list[str] = []  # each heading's text, built once for the three searches
    for node in headings:
        text = node_text(node)
        if text.casefold() in wanted:
            return node
        texts.append(text)
    # A headline the page's title rewords ("Rouhani in NY to ..." over "Iran president in New York to ..."):
    # the first heading that shares most of the title's words.
    title_words = [set(_WORDS.findall(t)) for t in wanted]
    for node, text in zip(headings, texts, strict=True):
        words = set(_WORDS.findall(text.casefold()))
        if len(words) >= 3 and any(len(words & t) >= TITLE_OVERLAP * len(t) for t in title_words if t):
            return node
    for node, text in zip(headings, texts, strict=True):
        if node.tag == "h1" and len(text.split()) >= 3:
            return node
    return None


def _in_body(el: etree._Element) -> bool:
    """True when a <body> holds the element."""
    return next(el.iterancestors("body"), None) is not None


def _same_text(a: str, b: str) -> bool:
    """True when two texts are the same lead: equal, or one a cut-off start of the other."""
    a, b = a.casefold().rstrip(" .…"), b.casefold().rstrip(" .…")
    if not a or not b:
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return short == long_ or (len(short) >= 60 and long_.startswith(short))


def _repeated(paragraphs: list[str], text: str) -> bool:
    """True when one of the paragraphs is the same lead as `text` (_same_text): the first letters are compared
    first (a text's first letter case-folded begins its case-folded text), and most paragraphs differ there."""
    first = text.casefold().rstrip(" .…")[:1]
    return bool(first) and any(p[:1].casefold()[:1] == first and _same_text(p, text) for p in paragraphs)


LEAD_MAX_WORDS = 120
"""A standfirst is never longer than this: a longer block that opens like the meta description is the body."""

_LEAD_END = re.compile(r"[.!?\"”’…)]$")
_LEAD_TAGS = frozenset({"p", "h2", "h3", "h4", "div", "strong"})


def _lead_node(tree: etree._Element, description: str) -> etree._Element | None:
    """The visible lead of a page no layout rule knows: the first block that repeats the page's meta
    description (which is often cut short)."""
    if not description:
        return None
    start = description.casefold()[:30]
    # Only text that starts like the description can open the lead: the elements' own first text runs are
    # scanned, not the text of every block (which costs a join per element).
    for node in _text_holders(tree, start[:1]):
        run = node.text
        text = " ".join(run.split()).casefold()[:30]
        if not text or text != start[: len(text)]:
            continue
        chain = [node]
        for anc in node.iterancestors():
            if anc.tag == "body" or len(node_text(anc)) > 2000 or not _same_text(node_text(anc), description):
                break
            chain.append(anc)
        blocks = [
            n
            for n in chain
            if n.tag in _LEAD_TAGS
            and _same_text(text := node_text(n), description)
            and len(text.split()) <= LEAD_MAX_WORDS
        ]
        if not blocks:
            continue
        top = blocks[-1]
        # The deepest block with that text: a wrapper holding only the lead says the same.
        inner = [c for c in top if isinstance(c.tag, str) and _same_text(node_text(c), node_text(top))]
        return inner[0] if inner else top
    return None


def _set_apart(node: etree._Element) -> bool:
    """True when a block that repeats the meta description is a standfirst set apart from the body, False when it
    is the body's own first paragraph: a <p> (the outermost element holding just its text) followed by two or more
    <p> siblings of its class. A standfirst differs from the paragraphs after it by element or class, or stands
    outside their container; a bold run inside an alike paragraph does not set it apart (Press TV's own 2019 pages
    open the body with such a paragraph)."""
    block = node
    # Up to the outermost element holding just this text: a parent with no other child and no text of its own.
    while (
        (parent := block.getparent()) is not None
        and parent.tag != "body"
        and len(parent) == 1
        and not (parent.text or "").strip()
        and not (block.tail or "").strip()
    ):
        block = parent
    if block.tag != "p":
        return True
    cls = block.get("class")
    alike = 0
    for sib in block.itersiblings():
        if sib.tag == "p" and sib.get("class") == cls and any(t.strip() for t in sib.itertext()):
            alike += 1
            if alike >= 2:
                return False
    return True


def _block_of(root: etree._Element, text: str) -> etree._Element | None:
    """The first element under `root` whose whole text is `text` (None when the text is only part of a block, as
    in a <div> of lines between <br>s)."""
    start = text[:1]
    for el in root.iter():
        if isinstance(el.tag, str) and (el.text or "").lstrip()[:1] == start and node_text(el) == text:
            return el
    return None


def _text_holders(tree: etree._Element, first: str) -> Iterator[etree._Element]:
    """The elements of the page's body whose own leading text opens (after white space) with a character that
    case-folds to begin with `first`, in document order: the cheap test first, as most do not."""
    for body in doc_iter(tree, "body"):
        for el in body.iter(etree.Element):  # elements only, chosen in C
            run = el.text  # (lxml builds the string at each access: read once)
            if run:
                lead = run[0]
                if lead.isspace():
                    lead = run.lstrip()[:1]
                if lead.casefold()[:1] == first:
                    yield el


@dataclass
class _Reading:
    """What one strategy read from a page: the fields it found and the body's paragraphs, before the shared
    finishing steps (field paragraphs dropped, captions, bylines, guard, line cues, fallbacks)."""

    layout: Layout | None
    cues: Cues
    title: str
    title_node: etree._Element | None
    description: str
    lead: str
    lead_node: etree._Element | None
    paragraphs: list[str]
    published: datetime | None = None
    modified: datetime | None = None
    section: str | None = None
    image_src: str | None = None
    image_caption: str | None = None
    caption_found: bool = False
    authors: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    furniture: dict[str, list[str]] = field(default_factory=dict)
    region: etree._Element | None = None
    """The body region a page no layout rule knows was read from (the lead is looked for above it)."""


def _headline(tree: etree._Element, title_node: etree._Element | None, outlet: Outlet) -> str:
    title = node_text(title_node) if title_node is not None else ""
    if not title:
        title = meta_value(tree, "og:title") or node_text(tree.find(".//title"))
    return outlet.title_decoration_regex.sub("", title)


def _read_layout(tree: etree._Element, url: str, outlet: Outlet, layout: Layout, region: etree._Element) -> _Reading:
    """The layout strategy: the layout's XPaths name the fields and the body region; the cues clean the region
    and fill each field a rule missed (the page's own date line beats the meta tag and the URL)."""
    cues = Cues()
    title_node = first_match(tree, layout.title)
    cues.headline = title_node
    date_node = first_match(tree, layout.date)
    published_text, updated_text = split_updated(node_text(date_node) if date_node is not None else "", outlet)
    crumb_node = first_match(tree, layout.breadcrumb)
    description = meta_value(tree, "og:description", "description")
    lead_node = first_match(tree, layout.lead)
    image_attr = first_match(tree, layout.image)
    caption_node = first_match(tree, layout.caption)
    byline_node = first_match(tree, layout.byline)
    reading = _Reading(
        layout=layout,
        cues=cues,
        title=_headline(tree, title_node, outlet),
        title_node=title_node,
        description=description,
        lead=(node_text(lead_node) if lead_node is not None else "") or description,
        lead_node=lead_node,
        paragraphs=[],
        published=parse_site_datetime(published_text, outlet) if published_text else None,
        modified=parse_site_datetime(updated_text, outlet) if updated_text else None,
        section=_section(crumb_node, outlet),
        image_src=str(image_attr) if image_attr is not None else None,
        image_caption=node_text(caption_node) if caption_node is not None else None,
        caption_found=caption_node is not None,
        authors=[] if byline_node is None else _byline_names([node_text(t) for t in byline_node.itertext()], outlet),
    )
    # Prune inside the region only: nothing outside it reaches the body.
    for expr in layout.prune:
        for node in xp(expr)(region):
            if isinstance(node, etree._Element) and node is not region and node.getparent() is not None:
                remove_node(node)
    for node in (title_node, lead_node, caption_node, byline_node, date_node, crumb_node):
        if (
            isinstance(node, etree._Element)
            and node is not region
            and node.getparent() is not None
            and (is_inside(node, region))
        ):
            remove_node(node)
    if link_density(region) > MAX_LINK_DENSITY:
        raise NotAnArticle("headline index (body is mostly links)")
    # Cards first, whole (headline, teaser, label); then what is left after a "Read more:" label.
    reading.furniture = prune_furniture(region, outlet, url, {region})
    _prune_read_more(region, outlet)
    clean_page(region, outlet, cues, {region})
    # Story cards in the body are the site's own (the "Read more:" pruning always took them): not a miss.
    if any(cues.removed.values()) or set(reading.furniture) - {"story-card"}:
        reading.misses.append("prune")
    if reading.published is None or reading.section is None or reading.image_caption is None:
        # A rule for the date, the section or the caption found nothing: the whole page is searched.
        clean_page(tree, outlet, cues, {region, *region.iterancestors()})
    reading.paragraphs = split_paragraphs(_region_text(region, url))
    return reading


def _read_structure(tree: etree._Element, url: str, outlet: Outlet) -> _Reading:
    """The structure-only strategy, for a page no layout rule knows: furniture is found by what it is (share
    links, story cards, the alternate-address note, date lines, breadcrumbs, menus, captions); the generic
    extractor runs once on the cleaned page, and the body is the text-densest region (checked against where the
    generic text lies) unless the two disagree, when the generic text is taken."""
    cues = Cues()
    title_node = _title_node(tree, outlet)
    cues.headline = title_node
    description = meta_value(tree, "og:description", "description")
    lead_node = _lead_node(tree, description)
    reading = _Reading(
        layout=None,
        cues=cues,
        title=_headline(tree, title_node, outlet),
        title_node=title_node,
        description=description,
        lead=(node_text(lead_node) if lead_node is not None else "") or description,
        lead_node=lead_node,
        paragraphs=[],
    )
    body = tree.find("body")
    page = body if body is not None else tree
    reading.furniture = prune_furniture(page, outlet, url)
    hidden: list[str] = []
    prune_hidden(page, set() if title_node is None else {title_node, *title_node.iterancestors()}, hidden)
    if hidden:
        reading.furniture["hidden"] = hidden
    # The page is cleaned first, so the density region is found among prose alone; the headline's blocks are
    # searched inside but never removed whole (a <header> holding headline, date line and breadcrumb).
    clean_page(tree, outlet, cues, set() if title_node is None else {title_node, *title_node.iterancestors()})
    _prune_read_more(page, outlet)
    generic = generic_paragraphs(tree)
    region, lines_found = locate_body(tree, generic, title_node)
    if region is None:
        raise NotAnArticle(f"{TOO_LITTLE} (no body text found; unknown layout)")
    if link_density(region) > MAX_LINK_DENSITY:
        raise NotAnArticle("headline index (body is mostly links)")
    reading.region = region
    headings = {node_text(h) for h in region.iter("h2", "h3", "h4", "h5", "h6")}
    paragraphs = _agreed_paragraphs(_block_paragraphs(region), generic, headings)
    if _disagree(paragraphs, generic) and not beside_headline(tree, region, generic, title_node, lines_found):
        # The region is the wrong block (a comment thread, one half of a split body): the generic text wins.
        cues.note("second-opinion", f"density region replaced by the generic body ({len(generic)} paragraphs)")
        paragraphs, reading.region = generic, None
    reading.paragraphs = paragraphs
    return reading


DISAGREE = 0.5
"""Shingle F1 between the density region's body and the generic extractor's under which the region is taken to
be the wrong block (a comment thread, one half of a split body) and the generic body is used."""

KEEP_UNSEEN_WORDS = 6
"""A paragraph of the region the generic extractor did not keep stays when it has at least this many words
(text straight in a <div> between <br>s, which trafilatura drops); shorter ones are the region's furniture."""


def _disagree(own: list[str], generic: list[str]) -> bool:
    """True when the region's paragraphs and the generic extractor's share less than DISAGREE of their 4-word
    shingles (F1). Paragraphs found in both give a floor of common shingles (all but 3 of each one's), and the
    smaller text a ceiling, so the shingles themselves are only made when neither settles it; then sets of them
    bound the common count, and the shingles are only counted one by one when those bounds do not settle it."""
    # The floor and the ceiling need word counts alone, not the words.
    counts: dict[str, int] = {}
    na, nb = paragraph_word_count(own, counts), paragraph_word_count(generic, counts)
    if min(na, nb) >= 4:
        left = Counter(generic)
        floor = 0
        for para in own:
            if left[para] > 0:
                left[para] -= 1
                floor += max(0, counts[para] - 3)
        # F1 of shingle counts is 2 * common / (shingles of one + shingles of the other).
        if 2 * floor >= DISAGREE * (na - 3 + nb - 3):
            return False
    # Nor can they share more shingles than the smaller has, so F1 <= 2 * smaller / sum: a body three times the
    # other's size disagrees unread (the F1 is then under DISAGREE by at least 1 / (2 * sum), far more than a
    # float's rounding).
    size_a, size_b = _shingles(na), _shingles(nb)
    if 2 * min(size_a, size_b) < DISAGREE * (size_a + size_b):
        return True
    # Each paragraph as its words joined by spaces: one string, compared and hashed in C (words hold no space).
    keys: dict[str, str] = {}
    words: dict[str, list[str]] = {}
    for para in {*own, *generic}:
        found = lower_words(para)
        key = keys[para] = " ".join(found)
        words[key] = found
    pa, pb = [keys[p] for p in own], [keys[p] for p in generic]
    if min(na, nb) >= 4:
        # Now paragraphs found in both by their words give a higher floor, and with sets of the other shingles
        # bounds of the common count; a bound strictly on one side of DISAGREE settles the F1 the same way:
        # 2 * common and DISAGREE * sum are multiples of 1/2, so the F1 is then at least 1 / (2 * sum) from
        # DISAGREE, as above.
        same, inner = shared_paragraphs(pa, pb, words)
        if 2 * inner > DISAGREE * (size_a + size_b):
            return False
        low, high = common_shingle_bounds(pa, pb, words, same, inner)
        if 2 * low > DISAGREE * (size_a + size_b):
            return False
        if 2 * high < DISAGREE * (size_a + size_b):
            return True
    wa, wb = [w for key in pa for w in words[key]], [w for key in pb for w in words[key]]
    return shingle_f1_words(wa, wb) < DISAGREE


def _shingles(words: int) -> int:
    """How many 4-word shingles shingle_f1_words counts in a text of this many words."""
    return words - 3 if words >= 4 else min(words, 1)


def _agreed_paragraphs(own: list[str], generic: list[str], headings: set[str]) -> list[str]:
    """The region's paragraphs, less the short ones (other than its subheadings) the generic extractor left out
    of the page's text."""
    kept = " ".join(generic)
    whole = set(generic)
    ascii_kept = kept.isascii()
    agreed = []
    at = 0
    for p in own:
        # (Split no further than KEEP_UNSEEN_WORDS words: enough to tell a long paragraph.)
        if len(p.split(None, KEEP_UNSEEN_WORDS - 1)) >= KEEP_UNSEEN_WORDS or p in whole or p in headings:
            agreed.append(p)  # (a generic paragraph of its own is in the joined text)
            continue
        # The same test as `p in kept`, cheaper: text with a character other than ASCII is in no ASCII text.
        found = -1 if ascii_kept and not p.isascii() else _found_from(kept, p, at)
        if found >= 0:
            at = found
            agreed.append(p)
    return agreed


def _found_from(text: str, part: str, at: int) -> int:
    """Where `part` occurs in `text` (-1 if nowhere), searched from `at` first: both texts run in page order, so a
    region's paragraph mostly lies just after the one before it. The two searches cover every start: from `at`
    on, then the starts before `at` (a match starting at at - 1 ends at at - 1 + len(part))."""
    found = text.find(part, at)
    return found if found >= 0 else text.find(part, 0, at + len(part) - 1)


def _structural_lead(tree: etree._Element, title_node: etree._Element | None, region: etree._Element) -> str:
    """The lead of a page no layout rule knows: the last block of prose between the headline and the body
    region (a standfirst sits there in every era that has one), or ""."""
    body = tree.find("body")
    started = title_node is None
    found = ""
    # What holds the region, and what the headline holds, as sets: asked of every element after the headline.
    around_region = {region, *region.iterancestors()}
    in_title = set() if title_node is None else set(title_node.iter())
    for el in (body if body is not None else tree).iter():
        if el is region:
            break
        if not isinstance(el.tag, str):
            continue
        if not started:
            started = el is title_node
            continue
        if el.tag in ("script", "style") or el in around_region or el in in_title:
            continue
        if el.tag not in ("p", "div", "h2", "h3", "h4", "strong", "span", "section", "td", "blockquote"):
            continue
        text = node_text(el)
        words = len(text.split())
        if not 8 <= words <= LEAD_MAX_WORDS or not _LEAD_END.search(text) or link_density(el) > 0.3:
            continue
        if any(isinstance(c.tag, str) and node_text(c) == text for c in el):
            continue  # a wrapper: its child says the same and is visited next
        found = text
    return found


def _word_count(body: str, normal: str) -> int:
    """len(body.split()), given normalise_text(body). Normal text holds no whitespace but one space between words,
    so a body that is its normal text with each break made a space (nearly every one) has one word more than that
    text's spaces: counted without making the words."""
    return normal.count(" ") + 1 if normal and normal == body.replace("\n\n", " ") else len(body.split())


def _finish(tree: etree._Element, url: str, outlet: Outlet, r: _Reading) -> Extraction:
    """The shared finishing steps of both strategies, and the one place an outlet's Article is built."""
    cues = r.cues
    paragraphs = r.paragraphs
    lead = r.lead
    unseen = r.layout is None
    if unseen and r.lead_node is not None and not _set_apart(r.lead_node):
        lead = ""  # the description repeats the body's own first paragraph, which stays in the body
    # The lead, title, caption and byline are fields of their own: never repeat them in the body. A description
    # no block of a page in no known layout shows is no lead to drop (its paragraph is judged below).
    image_caption = r.image_caption or cues.caption
    shown = "" if unseen and r.lead_node is None else lead
    drop = {normalise_text(x).casefold() for x in (shown, r.title, image_caption or "") if x}
    # Case folding never shortens a text: a paragraph longer than every dropped text is kept unfolded.
    longest = max(map(len, drop), default=-1)
    paragraphs = [p for p in paragraphs if len(p) > longest or p.casefold() not in drop]
    # (The pattern's C search first: it rules out nearly every paragraph before its words are counted.)
    captions = [p for p in paragraphs if outlet.caption_regex.search(p) and len(p.split()) <= 60]
    if captions:
        paragraphs = [p for p in paragraphs if p not in captions]
        image_caption = image_caption or captions[0]
    paragraphs, more_authors = _strip_byline_pair(paragraphs, outlet)
    authors = r.authors + [a for a in more_authors if a not in r.authors]
    guarded = guard_paragraphs(paragraphs, outlet)
    paragraphs = clean_paragraphs(guarded.text.split("\n\n") if guarded.text else [], outlet, cues)
    authors += [a for a in cues.authors if a not in authors]
    # A page with no lead yet (none found, or the description repeats the body's own first paragraph) may still
    # show a standfirst above the body.
    if unseen and (r.lead_node is None or not lead) and paragraphs:
        if r.lead_node is None and _same_text(paragraphs[0], r.description):
            block = _block_of(r.region if r.region is not None else tree, paragraphs[0])
            # A standfirst opening the body is a field of its own; the body's own first paragraph stays.
            lead = paragraphs.pop(0) if block is not None and _set_apart(block) else ""
        elif r.region is not None:
            found = _structural_lead(tree, r.title_node, r.region)
            if found and found not in paragraphs[1:]:
                lead = found
                paragraphs = [p for p in paragraphs if p != lead]
        if lead == r.description and _repeated(paragraphs, lead):
            lead = ""  # the description only repeats a line of the body
    body = "\n\n".join(paragraphs)
    normal = normalise_text(body)  # (the content hash's text)
    word_count = _word_count(body, normal)  # counted once: the refusal and the item both need it
    if word_count < MIN_BODY_WORDS:
        raise NotAnArticle(f"{TOO_LITTLE} ({word_count} words)")
    if not r.title:
        raise NotAnArticle("page has no headline")

    misses = list(r.misses)
    if r.layout is not None:
        misses += [
            rule
            for rule, had, cue in (
                ("date", r.published, cues.published),
                ("breadcrumb", r.section, cues.section),
                ("caption", r.caption_found or None, cues.caption),
            )
            if had is None and cue is not None
        ]
    published, modified = r.published, r.modified
    if published is None:
        published, modified = cues.published, modified or cues.modified
    if published is None:
        meta_date = meta_value(tree, "DC.Date.Created", "date")
        published = parse_site_datetime(meta_date, outlet) if meta_date else None
    parsed_url = outlet.parse_article_url(url)
    if published is None and parsed_url and parsed_url.path_date:
        published = date_at_midnight(parsed_url.path_date, outlet.timezone)
    # A breadcrumb beside the headline, else structured data; never a menu (a wrong section is worse than none).
    section = r.section or cues.section or _structured_section(tree)
    canonical = outlet.canonical_url(url)
    host = (urlsplit(url).hostname or "").lower()
    # Relative sources resolve against the canonical URL, so every mirror's copy gives the same item.
    image_url = absolute_url(r.image_src or cues.image or meta_value(tree, "og:image"), canonical)
    name = r.layout.name if r.layout is not None else "unknown"
    removed = dict(cues.removed)
    for reason, items in r.furniture.items():
        removed.setdefault(reason, []).extend(items)
    article = Article(
        article_id=parsed_url.article_id if parsed_url else "",
        url=canonical,
        source_url=url,
        mirror=host,
        title=r.title,
        lead=lead,
        body=body,
        published=iso(published),
        modified=iso(modified),
        section=section,
        authors=authors,
        image_url=image_url,
        image_caption=image_caption or None,
        language=page_language(tree, outlet.language_for_host(host)),
        word_count=word_count,
        content_hash=content_hash(body, normal),
        extracted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extractor_version=EXTRACTOR_VERSION,
        layout=name,
    )
    return Extraction(article, guarded.removed, name, removed, misses)


_JSONLD_SECTION = re.compile(r'"articleSection"\s*:\s*(?:\[\s*)?"([^"]{1,60})"')


def _structured_section(tree: etree._Element) -> str | None:
    """The section the page's structured data names (article:section, JSON-LD articleSection), if any."""
    value = meta_value(tree, "article:section")
    if not value:
        # (//script[@type='application/ld+json']/text(): the scripts are found in a walk in C.)
        scripts = " ".join(
            t for s in doc_iter(tree, "script") if s.get("type") == "application/ld+json" for t in s.xpath("text()")
        )
        match = _JSONLD_SECTION.search(scripts)
        value = normalise_text(match.group(1)) if match else ""
    return value or None


def _extract_outlet(tree: etree._Element, url: str, outlet: Outlet, layout: Layout | None) -> Extraction:
    """An outlet page: the layout strategy when a layout's body region holds the page's prose, else the
    structure-only one; both end in the same finishing steps."""
    region = first_match(tree, layout.body) if layout is not None else None
    if layout is not None and region is not None and _plausible_region(tree, region):
        return _finish(tree, url, outlet, _read_layout(tree, url, outlet, layout, region))
    # A known layout without its body region, or whose region holds a fraction of the page's prose (a class
    # name reused by a redesign or another site), is not that layout: the page is read as unknown.
    return _finish(tree, url, outlet, _read_structure(tree, url, outlet))


# ---- entry point -------------------------------------------------------------------------------------

# No table of id attributes (trafilatura's own parser keeps none either): no XPath here or in a profile calls id(),
# and the table costs libxml2 work for every id attribute parsed and removed.
_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, collect_ids=False)
# Every element an lxml.html element (trafilatura calls their text_content()), chosen in C: lxml.html's own
# lookup is a Python call per element each time a walk meets it.
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml.html.HtmlElement,
        comment=lxml.html.HtmlComment,
        pi=lxml.html.HtmlProcessingInstruction,
        entity=lxml.html.HtmlEntity,
    )
)


def parse_html(html_text: str | bytes) -> etree._Element:
    """Parse page text (or its UTF-8 form) once with lxml; refuse what lxml cannot make a document of."""
    # lxml refuses str input that carries an encoding declaration; UTF-8 bytes with the parser's encoding
    # fixed make it ignore a declaration the decoder already overruled.
    raw = html_text if isinstance(html_text, bytes) else html_text.encode("utf-8", "surrogatepass")
    try:
        tree = lxml.html.document_fromstring(raw, parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise NotAnArticle(f"not parseable as HTML: {exc}") from None
    if tree is None or not isinstance(tree.tag, str):
        raise NotAnArticle("not parseable as HTML")
    return tree


def extract_full(
    html: str | bytes, url: str, outlet: Outlet | None = None, *, encoding: str | None = None
) -> Extraction:
    """Extract with run statistics (guard removals, layout); see `extract` for the contract. `encoding`: the
    charset the page's HTTP response declared, tried as `decode_html` tries it."""
    # The page's UTF-8 form is parsed: most pages arrive as it, and are not encoded again.
    raw = decode_page(html, encoding)[1]
    tree = parse_html(raw)
    if outlet is None:
        outlet = outlet_for_url(url)
    try:
        layout = _detect_layout(tree, outlet) if outlet is not None else None
        reason = classify_non_article(tree, outlet, url, has_layout=layout is not None)
        if reason:
            raise NotAnArticle(reason)
        if outlet is None:
            return extract_generic(tree, url)
        try:
            return _extract_outlet(tree, url, outlet, layout)
        except NotAnArticle as exc:
            # A layout rule that matched but found next to no text names the wrong block (a class name reused
            # by a redesign): read the page again with the layout-independent rules alone.
            if layout is None or not exc.reason.startswith(TOO_LITTLE):
                raise
            LOCAL.meta = None
            return _extract_outlet(parse_html(raw), url, outlet, None)
    finally:
        LOCAL.meta = None  # do not keep the page's tree alive after extraction


__all__ = ["Extraction", "classify_non_article", "extract_full", "parse_html"]
