"""Extract one article from one page: classify, read metadata, prune furniture, run trafilatura, guard."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml import etree

from crawler.extract.dates import date_at_midnight, iso, parse_site_datetime, split_updated
from crawler.extract.decode import decode_html
from crawler.extract.errors import NotAnArticle
from crawler.extract.guard import guard_paragraphs
from crawler.items import EXTRACTOR_VERSION, Article, content_hash, normalise_text
from crawler.outlet import Layout, Outlet, outlet_for_url

MIN_BODY_WORDS = 25
"""A page whose cleaned body has fewer words than this is not an article (listing, notice, stub)."""

MAX_LINK_DENSITY = 0.6
"""Share of the body region's text inside links above which the page is a headline index, not an article."""

_TITLE_DECORATION = re.compile(r"^\s*PressTV\s*-\s*|\s*-\s*PressTV\s*$", re.IGNORECASE)
_READ_MORE = re.compile(r"^\s*read\s+more\s*:?\s*$", re.IGNORECASE)
_PRESS_TV_PLACE = re.compile(r"^\s*Press\s*TV\s*,", re.IGNORECASE)


@dataclass
class Extraction:
    """An extracted article plus what the guard removed (kept apart from the item for run statistics)."""

    article: Article
    guard_removed: list[str]
    layout: str


def _text(node: Any) -> str:
    if isinstance(node, str):
        return normalise_text(node)
    return normalise_text(node.text_content())


def _first(tree: etree._Element, xpaths: tuple[str, ...]) -> Any:
    for xp in xpaths:
        found = tree.xpath(xp)
        if isinstance(found, list):
            for node in found:
                if _text(node):
                    return node
    return None


def _first_text(tree: etree._Element, xpaths: tuple[str, ...]) -> str:
    node = _first(tree, xpaths)
    return _text(node) if node is not None else ""


def _meta(tree: etree._Element, *names: str) -> str:
    for name in names:
        found = tree.xpath(
            "//meta[translate(@name,'ABCDEFGHIJKLMNOPQRSTUVWXYZ','abcdefghijklmnopqrstuvwxyz')=$n"
            " or @property=$n]/@content",
            n=name.lower(),
        )
        if isinstance(found, list) and found and str(found[0]).strip():
            return normalise_text(str(found[0]))
    return ""


def _remove(node: etree._Element) -> None:
    """Remove a node but keep its tail text (lxml's drop_tree semantics for any element)."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        prev = node.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + node.tail
        else:
            parent.text = (parent.text or "") + node.tail
    parent.remove(node)


def classify_non_article(tree: etree._Element, outlet: Outlet | None, url: str) -> str | None:
    """The reason a page is not an article, or None when it may be one."""
    text = normalise_text(" ".join(tree.xpath("//title//text() | //body//text()")))[:20000]
    if outlet is not None:
        lowered = text.lower()
        for kind, label in (("seizure", "seizure notice"), ("challenge", "challenge or block page"),
                            ("error", "error page")):
            phrases = outlet.non_article.get(kind, ())
            if any(p.lower() in lowered for p in phrases) and len(text.split()) < 400:
                return label
        if not outlet.is_article_url(url):
            path = urlsplit(url).path.lower()
            if "/section/" in path:
                return "section listing"
            if path in ("", "/", "/default", "/default/"):
                return "homepage"
            return f"not an article URL: {urlsplit(url).path or '/'}"
    if not text:
        return "page has no text"
    return None


def _detect_layout(tree: etree._Element, outlet: Outlet) -> Layout | None:
    for layout in outlet.layouts:
        if tree.xpath(layout.detect):
            return layout
    return None


def _split_byline(text: str) -> list[str]:
    """Reporter names from a byline such as "Ali Musavi / Press TV, Tehran" or "Name, Press TV, London"."""
    parts = re.split(r"\s*/\s*|\s*\|\s*", text)
    names: list[str] = []
    for part in parts:
        part = _PRESS_TV_PLACE.sub("", part).strip(" ,")
        if "press tv" in part.lower():
            part = re.split(r",?\s*Press\s*TV", part, flags=re.IGNORECASE)[0].strip(" ,")
        part = re.sub(r"^(?:by|reporter:)\s+", "", part, flags=re.IGNORECASE).strip()
        if part and len(part.split()) <= 5 and not any(ch.isdigit() for ch in part):
            names.append(part)
    return names


def _paragraphs(text: str) -> list[str]:
    return [ln.strip() for ln in text.split("\n") if ln.strip()]


def _prune_read_more(region: etree._Element) -> None:
    """Remove inline "Read more:" labels and the related-link list that follows each one."""
    for node in list(region.iter()):
        if not isinstance(node.tag, str) or node.getparent() is None:
            continue
        if _READ_MORE.match(node.text_content() or "") and len(node) <= 2:
            sibling = node.getnext()
            # The related links after the label: a list, or a run of link-only paragraphs.
            while sibling is not None and (
                sibling.tag in ("ul", "ol")
                or (sibling.tag in ("p", "div") and _link_only(sibling))
            ):
                nxt = sibling.getnext()
                _remove(sibling)
                sibling = nxt
            _remove(node)


def _link_only(node: etree._Element) -> bool:
    text = _text(node)
    if not text:
        return False
    linked = normalise_text(" ".join(a.text_content() for a in node.iter("a")))
    return len(linked) >= 0.9 * len(text)


def _link_density(region: etree._Element) -> float:
    text = _text(region)
    if not text:
        return 0.0
    linked = sum(len(normalise_text(a.text_content())) for a in region.iter("a"))
    return linked / len(text)


def _trafilatura_text(node: etree._Element, url: str, favor_recall: bool = False) -> str:
    # The tree goes in as it is: trafilatura takes an lxml element, so the page is parsed once.
    result = trafilatura.extract(
        node,
        url=url,
        include_comments=False,
        include_tables=True,
        favor_recall=favor_recall,
        deduplicate=False,
    )
    return result or ""


def _extract_outlet(tree: etree._Element, html_text: str, url: str, outlet: Outlet) -> Extraction:
    layout = _detect_layout(tree, outlet)
    if layout is None:
        raise NotAnArticle("no article layout found on page (not an article, or an unknown layout)")
    parsed_url = outlet.parse_article_url(url)
    host = (urlsplit(url).hostname or "").lower()

    title = _first_text(tree, layout.title) or _TITLE_DECORATION.sub("", _meta(tree, "og:title") or _first_text(
        tree, ("//title",)))
    title = _TITLE_DECORATION.sub("", title)

    date_node = _first(tree, layout.date)
    published_text, updated_text = split_updated(_text(date_node) if date_node is not None else "")
    published = parse_site_datetime(published_text, outlet.timezone) if published_text else None
    if published is None:
        meta_date = _meta(tree, "DC.Date.Created", "date")
        published = parse_site_datetime(meta_date, outlet.timezone) if meta_date else None
    if published is None and parsed_url and parsed_url.path_date:
        published = date_at_midnight(parsed_url.path_date, outlet.timezone)
    modified = parse_site_datetime(updated_text, outlet.timezone) if updated_text else None

    section: str | None = None
    crumb = _first(tree, layout.breadcrumb)
    if crumb is not None:
        links = [a for a in crumb.iter("a") if _text(a)]
        for a in reversed(links):
            sid = re.search(r"/Section/(\d+)", a.get("href", ""), re.IGNORECASE)
            if sid and outlet.section_name(sid.group(1)):
                section = outlet.section_name(sid.group(1))
                break
        if section is None:
            crumbs = [c.strip() for c in re.split(r"\s*/\s*", _text(crumb)) if c.strip()]
            crumbs = [c for c in crumbs if c.lower() not in ("news", "home", "editor's choice")]
            section = crumbs[-1] if crumbs else None

    lead_node = _first(tree, layout.lead)
    lead = _text(lead_node) if lead_node is not None else ""
    if not lead:
        lead = _meta(tree, "og:description", "description")
        lead_node = None

    image_attr = _first(tree, layout.image)
    image_url = urljoin(url, str(image_attr).strip()) if image_attr is not None else None
    if image_url is None and _meta(tree, "og:image"):
        image_url = urljoin(url, _meta(tree, "og:image"))
    if image_url and image_url.startswith("//"):
        image_url = "https:" + image_url
    caption_node = _first(tree, layout.caption)
    image_caption = _text(caption_node) if caption_node is not None else None

    authors: list[str] = []
    byline_node = _first(tree, layout.byline)
    if byline_node is not None:
        authors = _split_byline(_text(byline_node))

    region = _first(tree, layout.body)
    if region is None:
        raise NotAnArticle(f"{layout.name} layout without a body region")
    if _link_density(region) > MAX_LINK_DENSITY:
        raise NotAnArticle("headline index (body is mostly links)")

    # Prune inside the whole tree so XPaths written against the page still match.
    for xp in layout.prune:
        for node in tree.xpath(xp):
            if isinstance(node, etree._Element) and node is not region and not _contains(node, region):
                _remove(node)
    if lead_node is not None and lead_node.getparent() is not None and not _contains(lead_node, region):
        _remove(lead_node)
    _prune_read_more(region)

    body_text = _trafilatura_text(region, url)
    if not body_text:
        body_text = "\n".join(_text(p) for p in region.iter("p"))
    paragraphs = _paragraphs(body_text)
    # The lead, title and caption are fields of their own: never repeat them in the body.
    drop = {normalise_text(x) for x in (lead, title, image_caption or "") if x}
    paragraphs = [p for p in paragraphs if normalise_text(p) not in drop]
    if byline_node is not None:
        byline_text = _text(byline_node)
        paragraphs = [p for p in paragraphs if normalise_text(p) != byline_text and not _PRESS_TV_PLACE.match(p)]
    guarded = guard_paragraphs(paragraphs, outlet)
    body = guarded.text
    if len(body.split()) < MIN_BODY_WORDS and len(lead.split()) < MIN_BODY_WORDS:
        raise NotAnArticle(f"too little text for an article ({len(body.split())} words)")
    if not title:
        raise NotAnArticle("page has no headline")

    article = Article(
        article_id=parsed_url.article_id if parsed_url else "",
        url=outlet.canonical_url(url),
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
        language=_language(tree, outlet.language_for_host(host)),
        word_count=len(body.split()),
        content_hash=content_hash(body),
        extracted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extractor_version=EXTRACTOR_VERSION,
    )
    return Extraction(article, guarded.removed, layout.name)


def _contains(ancestor: etree._Element, node: etree._Element) -> bool:
    """True when `node` is `ancestor` or inside it."""
    return any(a is ancestor for a in node.iterancestors()) or node is ancestor


def _language(tree: etree._Element, default: str) -> str:
    lang = tree.xpath("string(/html/@lang)")
    lang = str(lang).strip().lower()[:2] if lang else ""
    return lang if lang.isalpha() and len(lang) == 2 else default


def _extract_generic(tree: etree._Element, url: str) -> Extraction:
    doc = trafilatura.bare_extraction(tree, url=url, include_comments=False, with_metadata=True)
    if doc is None or not getattr(doc, "text", None):
        raise NotAnArticle("no article text found")
    body = "\n\n".join(_paragraphs(doc.text or ""))
    published = None
    if doc.date:
        try:
            published = datetime.fromisoformat(doc.date).replace(tzinfo=UTC).isoformat(timespec="seconds")
        except ValueError:
            published = None
    host = (urlsplit(url).hostname or "").lower()
    article = Article(
        article_id="",
        url=url,
        source_url=url,
        mirror=host,
        title=normalise_text(doc.title or ""),
        lead=normalise_text(doc.description or ""),
        body=body,
        published=published,
        section=(doc.categories or [None])[0],
        authors=[a.strip() for a in (doc.author or "").split(";") if a.strip()],
        image_url=doc.image,
        language=_language(tree, doc.language or "en"),
        word_count=len(body.split()),
        content_hash=content_hash(body),
        extracted_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return Extraction(article, [], "generic")


def parse_html(html_text: str) -> etree._Element:
    """Parse page text once with lxml; refuse what lxml cannot make a document of."""
    try:
        # lxml refuses str input that carries an encoding declaration; bytes keep it happy.
        return lxml.html.document_fromstring(html_text.encode("utf-8"), parser=_PARSER)
    except (etree.ParserError, ValueError) as exc:
        raise NotAnArticle(f"not parseable as HTML: {exc}") from None


_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)


def extract_full(html: str | bytes, url: str, outlet: Outlet | None = None) -> Extraction:
    """Extract with run statistics (guard removals, layout); see `extract` for the contract."""
    text = decode_html(html)
    tree = parse_html(text)
    if outlet is None:
        outlet = outlet_for_url(url)
    reason = classify_non_article(tree, outlet, url)
    if reason:
        raise NotAnArticle(reason)
    if outlet is None:
        return _extract_generic(tree, url)
    return _extract_outlet(tree, text, url, outlet)
