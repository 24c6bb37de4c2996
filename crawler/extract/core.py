"""Extract one article from one page: classify, read metadata, prune furniture, run trafilatura, guard."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import lxml.html
import trafilatura
from lxml import etree

from crawler.extract.cues import Cues, clean_page, clean_paragraphs
from crawler.extract.dates import date_at_midnight, iso, parse_site_datetime, split_updated
from crawler.extract.decode import decode_html
from crawler.extract.errors import NotAnArticle
from crawler.extract.generic import extract_generic
from crawler.extract.guard import guard_paragraphs
from crawler.extract.region import find_body_region
from crawler.extract.tree import (
    LOCAL,
    MIN_BODY_WORDS,
    Extraction,
    absolute_url,
    first_match,
    is_inside,
    link_density,
    meta_value,
    node_text,
    page_language,
    remove_node,
    shingle_f1,
    split_paragraphs,
    xp,
)
from crawler.items import EXTRACTOR_VERSION, Article, content_hash, normalise_text
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

_BLOCK_TAGS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote", "pre", "table", "tr", "td",
    "th", "section", "article", "figure", "header", "footer", "dd", "dt", "dl", "main", "aside", "nav", "form",
    "fieldset", "address", "center",
})


def _block_paragraphs(region: etree._Element) -> list[str]:
    """The region's text as paragraphs: a break at every block element and every <br>."""
    out: list[str] = []
    cur: list[str] = []

    def flush() -> None:
        text = normalise_text(" ".join(cur))
        if text:
            out.append(text)
        cur.clear()

    def walk(el: etree._Element) -> None:
        if not isinstance(el.tag, str):
            pass
        elif el.tag == "br":
            flush()
        elif el.tag not in ("script", "style", "noscript", "template"):
            block = el.tag in _BLOCK_TAGS
            if block:
                flush()
            if el.text:
                cur.append(el.text)
            for child in el:
                walk(child)
            if block:
                flush()
        if el.tail:
            cur.append(el.tail)

    if region.text:
        cur.append(region.text)
    for child in region:
        walk(child)
    flush()
    return out


# ---- classification --------------------------------------------------------------------------------


def classify_non_article(
    tree: etree._Element, outlet: Outlet | None, url: str, has_layout: bool = False
) -> str | None:
    """The reason a page is not an article, or None when it may be one.

    Notice phrases (seizure, challenge, error) are looked for in the title and headings of any page, and in
    the whole text of short pages without an article layout, so an article that merely quotes "access
    denied" stays an article.
    """
    head_bits = [node_text(n) for n in xp("//title | //h1 | //h2 | //h3")(tree)[:12]]
    head_text = " | ".join(b for b in head_bits if b).lower()
    if outlet is not None:
        body_text = ""
        if not has_layout:  # the whole text is only read for pages without an article layout
            body = tree.find("body")
            body_text = node_text(body) if body is not None else ""
        short = not has_layout and len(body_text.split()) < SHORT_PAGE_WORDS
        lowered = body_text.lower() if short else ""
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
    for layout in outlet.layouts:
        if xp(layout.detect)(tree):
            return layout
    return None


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
    candidates = [
        el for el in region.iter()
        if isinstance(el.tag, str) and el is not region and el.text and outlet.read_more_regex.match(el.text)
    ]
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
    result = trafilatura.extract(
        region, url=url, include_comments=False, include_tables=True, fast=True, favor_recall=True,
        deduplicate=False,
    ) or ""
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


def _title_node(tree: etree._Element, outlet: Outlet) -> etree._Element | None:
    """The headline element of a page no layout rule knows: the heading that repeats the page's title
    (og:title or <title> without the site's decoration), else the first h1 with a few words."""
    wanted = {
        outlet.title_decoration_regex.sub("", t).casefold()
        for t in (meta_value(tree, "og:title", "twitter:title"), node_text(tree.find(".//title")))
        if t
    }
    headings = xp("//body//h1 | //body//h2 | //body//h3")(tree)[:40]
    for node in headings:
        if node_text(node).casefold() in wanted:
            return node
    for node in headings:
        if node.tag == "h1" and len(node_text(node).split()) >= 3:
            return node
    return None


def _same_text(a: str, b: str) -> bool:
    """True when two texts are the same lead: equal, or one a cut-off start of the other."""
    a, b = a.casefold().rstrip(" .…"), b.casefold().rstrip(" .…")
    if not a or not b:
        return False
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return short == long_ or (len(short) >= 60 and long_.startswith(short))


def _lead_node(tree: etree._Element, description: str) -> etree._Element | None:
    """The visible lead of a page no layout rule knows: the first block that repeats the page's meta
    description (which is often cut short)."""
    if not description:
        return None
    for node in xp("//body//*[self::p or self::h2 or self::h3 or self::h4 or self::div or self::strong]")(tree):
        text = node_text(node)
        if len(text) > 2000 or not _same_text(text, description):
            continue
        # The deepest block with that text: a wrapper holding only the lead says the same.
        inner = [c for c in node if isinstance(c.tag, str) and _same_text(node_text(c), text)]
        return inner[0] if inner else node
    return None


_LEAD_END = re.compile(r"[.!?\"”’…)]$")


def _structural_lead(tree: etree._Element, title_node: etree._Element | None, region: etree._Element) -> str:
    """The lead of a page no layout rule knows: the last block of prose between the headline and the body
    region (a standfirst sits there in every era that has one), or ""."""
    body = tree.find("body")
    started = title_node is None
    found = ""
    for el in (body if body is not None else tree).iter():
        if el is region:
            break
        if not isinstance(el.tag, str):
            continue
        if not started:
            started = el is title_node
            continue
        if el.tag in ("script", "style") or is_inside(region, el):
            continue
        if title_node is not None and is_inside(el, title_node):
            continue
        if el.tag not in ("p", "div", "h2", "h3", "h4", "strong", "span", "section", "td", "blockquote"):
            continue
        text = node_text(el)
        words = len(text.split())
        if not 8 <= words <= 120 or not _LEAD_END.search(text) or link_density(el) > 0.3:
            continue
        if any(isinstance(c.tag, str) and node_text(c) == text for c in el):
            continue  # a wrapper: its child says the same and is visited next
        found = text
    return found


DISAGREE = 0.5
"""Shingle F1 between the density region's body and the generic extractor's under which the region is taken to
be the wrong block (a comment thread, one half of a split body) and the generic body is used."""


def _second_opinion(body: str, pristine: etree._Element, url: str, outlet: Outlet, cues: Cues) -> str:
    """The body of a page no layout rule knows: the density region's, unless the generic extractor, run on the
    untouched page, finds a mostly different text; then the generic one, cleaned by the same line cues."""
    try:
        other = extract_generic(pristine, url, outlet).article.body
    except NotAnArticle:
        return body
    if shingle_f1(body, other) >= DISAGREE:
        return body
    cues.note("second-opinion", f"density region replaced by the generic body ({len(other.split())} words)")
    return "\n\n".join(clean_paragraphs(other.split("\n\n"), outlet, cues))


def _extract_outlet(tree: etree._Element, url: str, outlet: Outlet, layout: Layout | None) -> Extraction:
    parsed_url = outlet.parse_article_url(url)
    host = (urlsplit(url).hostname or "").lower()
    canonical = outlet.canonical_url(url)
    cues = Cues()
    misses: list[str] = []

    # The layout's XPaths are a fast path: each field they miss comes from the layout-independent cues.
    region = first_match(tree, layout.body) if layout is not None else None
    if region is None or not _plausible_region(tree, region):
        # A known layout without its body region, or whose region holds a fraction of the page's prose (a class
        # name reused by a redesign or another site), is not that layout: report it as unknown.
        layout, region = None, None
    # Without a layout the density region is checked against the generic extractor on an untouched copy.
    pristine = copy.deepcopy(tree) if layout is None else None

    title_node = first_match(tree, layout.title) if layout is not None else _title_node(tree, outlet)
    title = node_text(title_node) if title_node is not None else ""
    if not title:
        title = meta_value(tree, "og:title") or node_text(tree.find(".//title"))
    title = outlet.title_decoration_regex.sub("", title)

    date_node = first_match(tree, layout.date) if layout is not None else None
    published_text, updated_text = split_updated(node_text(date_node) if date_node is not None else "", outlet)
    published = parse_site_datetime(published_text, outlet) if published_text else None
    modified = parse_site_datetime(updated_text, outlet) if updated_text else None

    crumb_node = first_match(tree, layout.breadcrumb) if layout is not None else None
    section = _section(crumb_node, outlet)

    description = meta_value(tree, "og:description", "description")
    lead_node = first_match(tree, layout.lead) if layout is not None else _lead_node(tree, description)
    lead = node_text(lead_node) if lead_node is not None else ""
    if not lead:
        lead = description

    image_attr = first_match(tree, layout.image) if layout is not None else None
    image_src = str(image_attr) if image_attr is not None else None
    caption_node = first_match(tree, layout.caption) if layout is not None else None
    image_caption = node_text(caption_node) if caption_node is not None else None

    byline_node = first_match(tree, layout.byline) if layout is not None else None
    authors = _byline_names([node_text(t) for t in byline_node.itertext()], outlet) if byline_node is not None else []

    if region is not None and layout is not None:
        # Prune inside the region only: nothing outside it reaches the body.
        for expr in layout.prune:
            for node in xp(expr)(region):
                if isinstance(node, etree._Element) and node is not region and node.getparent() is not None:
                    remove_node(node)
    # Without a layout the headline and the lead stay in place until the body region is found: the lead is
    # looked for after the headline, and a lead that opens the region leaves the body with the drop below.
    known = (title_node, lead_node, caption_node, byline_node, date_node, crumb_node) if layout is not None else ()
    for node in known:
        if isinstance(node, etree._Element) and node is not region and node.getparent() is not None and (
            region is None or is_inside(node, region)
        ):
            remove_node(node)

    # Layout-independent cues over the whole page, whatever the layout: date lines, breadcrumbs, navigation
    # boxes, bylines and captions leave the page and fill the fields the layout rules did not.
    if region is None:
        # No layout: the page is cleaned first, so the density region is found among prose alone.
        clean_page(tree, outlet, cues, set())
        region = find_body_region(tree, url)
        if region is None:
            raise NotAnArticle(f"{TOO_LITTLE} (no body text found; unknown layout)")
    _prune_read_more(region, outlet)
    if link_density(region) > MAX_LINK_DENSITY:
        raise NotAnArticle("headline index (body is mostly links)")
    if layout is not None:
        # A known layout: the cues clean its body region; the whole page is searched only when a layout rule
        # for the date, the section or the caption found nothing (the page's own date line beats the meta
        # tag and the URL).
        clean_page(region, outlet, cues, {region})
        if any(cues.removed.values()):
            misses.append("prune")
        if published is None or section is None or image_caption is None:
            clean_page(tree, outlet, cues, {region, *region.iterancestors()})

    paragraphs = split_paragraphs(_region_text(region, url))
    # The lead, title, caption and byline are fields of their own: never repeat them in the body.
    image_caption = image_caption or cues.caption
    drop = {normalise_text(x).casefold() for x in (lead, title, image_caption or "") if x}
    paragraphs = [p for p in paragraphs if p.casefold() not in drop]
    if layout is None and lead_node is None:
        if paragraphs and _same_text(paragraphs[0], description):
            lead = paragraphs.pop(0)  # the lead opens the body region: it is a field of its own
        else:
            lead = _structural_lead(tree, title_node, region) or lead
    captions = [p for p in paragraphs if len(p.split()) <= 60 and outlet.caption_regex.search(p)]
    if captions:
        paragraphs = [p for p in paragraphs if p not in captions]
        image_caption = image_caption or captions[0]
    paragraphs, more_authors = _strip_byline_pair(paragraphs, outlet)
    authors += [a for a in more_authors if a not in authors]
    guarded = guard_paragraphs(paragraphs, outlet)
    paragraphs = clean_paragraphs(guarded.text.split("\n\n") if guarded.text else [], outlet, cues)
    authors += [a for a in cues.authors if a not in authors]
    body = "\n\n".join(paragraphs)
    if pristine is not None:
        body = _second_opinion(body, pristine, url, outlet, cues)
    if len(body.split()) < MIN_BODY_WORDS:
        raise NotAnArticle(f"{TOO_LITTLE} ({len(body.split())} words)")
    if not title:
        raise NotAnArticle("page has no headline")

    if layout is not None:
        misses += [rule for rule, had, cue in (("date", published, cues.published),
                                               ("breadcrumb", section, cues.section),
                                               ("caption", caption_node, cues.caption))
                   if had is None and cue is not None]
    if published is None:
        published, modified = cues.published, modified or cues.modified
    if published is None:
        meta_date = meta_value(tree, "DC.Date.Created", "date")
        published = parse_site_datetime(meta_date, outlet) if meta_date else None
    if published is None and parsed_url and parsed_url.path_date:
        published = date_at_midnight(parsed_url.path_date, outlet.timezone)
    section = section or cues.section
    # Relative sources resolve against the canonical URL, so every mirror's copy gives the same item.
    image_url = absolute_url(image_src or cues.image or meta_value(tree, "og:image"), canonical)
    name = layout.name if layout is not None else "unknown"

    article = Article(
        article_id=parsed_url.article_id if parsed_url else "",
        url=canonical,
        source_url=url,
        mirror=host,
        title=title,
        lead=lead,
        body=body,
        published=iso(published),
        modified=iso(modified),
        section=section,
        authors=authors,
        image_url=image_url,
        image_caption=image_caption or None,
        language=page_language(tree, outlet.language_for_host(host)),
        word_count=len(body.split()),
        content_hash=content_hash(body),
        extracted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extractor_version=EXTRACTOR_VERSION,
        layout=name,
    )
    return Extraction(article, guarded.removed, name, cues.removed, misses)


# ---- entry point -------------------------------------------------------------------------------------

_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)


def parse_html(html_text: str) -> etree._Element:
    """Parse page text once with lxml; refuse what lxml cannot make a document of."""
    try:
        # lxml refuses str input that carries an encoding declaration; UTF-8 bytes with the parser's
        # encoding fixed make it ignore a declaration the decoder already overruled.
        tree = lxml.html.document_fromstring(html_text.encode("utf-8", "surrogatepass"), parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise NotAnArticle(f"not parseable as HTML: {exc}") from None
    if tree is None or not isinstance(tree.tag, str):
        raise NotAnArticle("not parseable as HTML")
    return tree


def extract_full(html: str | bytes, url: str, outlet: Outlet | None = None) -> Extraction:
    """Extract with run statistics (guard removals, layout); see `extract` for the contract."""
    text = decode_html(html)
    tree = parse_html(text)
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
            return _extract_outlet(parse_html(text), url, outlet, None)
    finally:
        LOCAL.meta = None  # do not keep the page's tree alive after extraction


__all__ = ["Extraction", "classify_non_article", "extract_full", "parse_html"]
