"""Extract one article from one page: classify, read metadata, prune furniture, run trafilatura, guard."""

from __future__ import annotations

import re
import threading
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
"""A page of a known outlet whose cleaned body has fewer words than this is not an article."""

MAX_LINK_DENSITY = 0.6
"""Share of the pruned body region's text inside links above which the page is a headline index."""

MAX_REGION_ELEMENTS = 5000
"""A body region with more elements than this (no real article comes near) skips trafilatura, whose cost
grows much faster than the page: the region's own paragraphs are taken as they are."""

SHORT_PAGE_WORDS = 150
"""Pages shorter than this are searched whole for notice phrases (longer ones only in title and headings)."""

_TITLE_DECORATION = re.compile(r"^\s*PressTV\s*-\s*|\s*-\s*PressTV\s*$", re.IGNORECASE)
_TITLE_SPLIT = re.compile(r"\s+[|\-–—:]{1,2}\s+")
_BLOCK_TAGS = frozenset({
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "blockquote", "pre", "table", "tr", "td",
    "th", "section", "article", "figure", "header", "footer", "dd", "dt", "dl", "main", "aside", "nav", "form",
    "fieldset", "address", "center",
})


@dataclass
class Extraction:
    """An extracted article plus what the guard removed (kept apart from the item for run statistics)."""

    article: Article
    guard_removed: list[str]
    layout: str


# ---- small tree helpers --------------------------------------------------------------------------


_LOCAL = threading.local()


def _xp(expr: str) -> etree.XPath:
    """A compiled XPath (profiles are data, so expressions are compiled on first use and kept).

    Kept per thread: lxml does not promise that one compiled XPath may run in two threads at once.
    """
    cache: dict[str, etree.XPath] | None = getattr(_LOCAL, "xpaths", None)
    if cache is None:
        cache = _LOCAL.xpaths = {}
    compiled = cache.get(expr)
    if compiled is None:
        compiled = cache[expr] = etree.XPath(expr)
    return compiled


def _text(node: Any) -> str:
    if node is None:
        return ""
    if isinstance(node, str):
        return normalise_text(node)
    return normalise_text(" ".join(node.itertext()))


def _first(tree: etree._Element, xpaths: tuple[str, ...]) -> Any:
    """The first node (or attribute string) with text that one of the XPaths finds, trying them in order."""
    for expr in xpaths:
        found = _xp(expr)(tree)
        if isinstance(found, list):
            for node in found:
                if _text(node):
                    return node
    return None


def _meta_map(tree: etree._Element) -> dict[str, str]:
    """name/property/itemprop (lower case) -> content of the page's first non-empty <meta> of that name.

    Read once per page (kept for the last tree this thread looked at): several fields ask for meta tags.
    """
    cached = getattr(_LOCAL, "meta", None)
    if cached is not None and cached[0] is tree:
        return cached[1]
    found: dict[str, str] = {}
    for node in _xp("//meta[@content]")(tree):
        key = (node.get("name") or node.get("property") or node.get("itemprop") or "").strip().lower()
        if key and key not in found and node.get("content", "").strip():
            found[key] = normalise_text(node.get("content", ""))
    _LOCAL.meta = (tree, found)
    return found


def _meta(tree: etree._Element, *names: str) -> str:
    """Content of the first non-empty <meta> whose name, property or itemprop is one of `names` (in order)."""
    found = _meta_map(tree)
    for name in names:
        value = found.get(name.lower())
        if value:
            return value
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


def _inside(node: etree._Element, ancestor: etree._Element) -> bool:
    """True when `node` is `ancestor` or one of its descendants."""
    return node is ancestor or any(a is ancestor for a in node.iterancestors())


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


def _paragraphs(text: str) -> list[str]:
    return [normalise_text(ln) for ln in text.split("\n") if ln.strip()]


def _link_density(region: etree._Element) -> float:
    text = _text(region)
    if not text:
        return 0.0
    linked = sum(len(_text(a)) for a in region.iter("a"))
    return linked / len(text)


def _language(tree: etree._Element, default: str) -> str:
    lang = str(tree.xpath("string(/html/@lang)")).strip().lower()[:2]
    return lang if lang.isalpha() and len(lang) == 2 else default


def _absolute(url: str | None, base: str) -> str | None:
    if not url:
        return None
    url = url.strip()
    if url.startswith("//"):
        return "https:" + url
    return urljoin(base, url)


# ---- classification --------------------------------------------------------------------------------


def classify_non_article(
    tree: etree._Element, outlet: Outlet | None, url: str, has_layout: bool = False
) -> str | None:
    """The reason a page is not an article, or None when it may be one.

    Notice phrases (seizure, challenge, error) are looked for in the title and headings of any page, and in
    the whole text of short pages without an article layout, so an article that merely quotes "access
    denied" stays an article.
    """
    head_bits = [_text(n) for n in _xp("//title | //h1 | //h2 | //h3")(tree)[:12]]
    head_text = " | ".join(b for b in head_bits if b).lower()
    if outlet is not None:
        body_text = ""
        if not has_layout:  # the whole text is only read for pages without an article layout
            body = tree.find("body")
            body_text = _text(body) if body is not None else ""
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
            if "/section/" in low:
                return "section listing"
            if low in ("", "/", "/default", "/default/", "/default/index", "/index.html"):
                return "homepage"
            return f"not an article URL: {path or '/'}"
    if not head_text and not _xp("boolean(//body//text()[normalize-space()])")(tree):
        return "page has no text"
    return None


def _detect_layout(tree: etree._Element, outlet: Outlet) -> Layout | None:
    for layout in outlet.layouts:
        if _xp(layout.detect)(tree):
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
        if outlet.read_more_regex.match(_text(el) or "-"):
            labels.append(el)
        elif el.getparent() is not None and _only_links_after_label(el):
            _remove(el)  # "Read more: <a>Story</a>" on one line: label and link go together
    for label in labels:
        if label.getparent() is None:
            continue
        # Climb to the outermost element that holds only the label (<p><strong>Read more:</strong></p>).
        while (
            label.getparent() is not None
            and label.getparent() is not region
            and outlet.read_more_regex.match(_text(label.getparent()) or "-")
        ):
            label = label.getparent()
        if label.tail and label.tail.strip():
            _remove(label)  # real text follows on the same line: only the label goes
            continue
        sibling = label.getnext()
        while sibling is not None and _is_related(sibling):
            nxt = sibling.getnext()
            stop = bool(sibling.tail and sibling.tail.strip())
            _remove(sibling)
            sibling = None if stop else nxt
        _remove(label)


def _only_links_after_label(el: etree._Element) -> bool:
    """True when everything in `el` after its leading label text is link text."""
    rest = _text(el)[len(normalise_text(el.text or "")) :].strip()
    return bool(rest) and rest == normalise_text(" ".join(_text(a) for a in el.iter("a")))


def _is_related(node: etree._Element) -> bool:
    """True for what follows a "Read more:" label: link lists, link-only blocks, cards, breaks, empty blocks."""
    if not isinstance(node.tag, str):
        return True
    if node.tag in ("ul", "ol", "br", "a") or node.get("data-oembed-url") is not None:
        return True
    if node.tag in ("p", "div", "blockquote", "section"):
        text = _text(node)
        if not text:
            return True
        linked = sum(len(_text(a)) for a in node.iter("a"))
        return linked >= 0.9 * len(text)
    return False


def _region_text(region: etree._Element, url: str) -> str:
    """Paragraph text of a pruned region: trafilatura's, unless it dropped part of what the region holds.

    The region is already known to be the article, so trafilatura must not second-guess it: when a
    paragraph of the region's own block text is missing from trafilatura's output (it tends to drop text
    that sits straight in a <div> before a <br>), the region's own paragraphs are used.
    """
    own = _block_paragraphs(region)
    if sum(1 for _ in region.iter()) > MAX_REGION_ELEMENTS:
        return "\n".join(own)
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
    links = [_text(a) for a in crumb.iter("a")]
    crumbs = [c for c in links if c] or [c.strip() for c in re.split(r"\s*/\s*", _text(crumb))]
    crumbs = [c for c in crumbs if c and c.casefold() not in outlet.breadcrumb_skip]
    return crumbs[-1] if crumbs else None


def _extract_outlet(tree: etree._Element, url: str, outlet: Outlet, layout: Layout | None) -> Extraction:
    if layout is None:
        # An unknown layout on an outlet host: generic extraction with the outlet's identity and guard,
        # reported as layout "fallback" so a run's drift alarm sees it.
        return _extract_generic(tree, url, outlet)
    parsed_url = outlet.parse_article_url(url)
    host = (urlsplit(url).hostname or "").lower()
    canonical = outlet.canonical_url(url)

    title_node = _first(tree, layout.title)
    title = _text(title_node) if title_node is not None else ""
    if not title:
        title = _meta(tree, "og:title") or _text(tree.find(".//title"))
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

    section = _section(_first(tree, layout.breadcrumb), outlet)

    lead_node = _first(tree, layout.lead)
    lead = _text(lead_node) if lead_node is not None else ""
    if not lead:
        lead = _meta(tree, "og:description", "description")

    image_attr = _first(tree, layout.image)
    # Relative sources resolve against the canonical URL, so every mirror's copy gives the same item.
    image_url = _absolute(str(image_attr) if image_attr is not None else _meta(tree, "og:image"), canonical)
    caption_node = _first(tree, layout.caption)
    image_caption = _text(caption_node) if caption_node is not None else None

    byline_node = _first(tree, layout.byline)
    authors = _byline_names([_text(t) for t in byline_node.itertext()], outlet) if byline_node is not None else []

    region = _first(tree, layout.body)
    if region is None:
        raise NotAnArticle(f"{layout.name} layout without a body region")

    # Prune inside the region only: nothing outside it reaches trafilatura.
    for expr in layout.prune:
        for node in _xp(expr)(region):
            if isinstance(node, etree._Element) and node is not region and node.getparent() is not None:
                _remove(node)
    for node in (title_node, lead_node, caption_node, byline_node, date_node):
        if (
            isinstance(node, etree._Element) and node is not region and node.getparent() is not None
            and _inside(node, region)
        ):
            _remove(node)
    _prune_read_more(region, outlet)
    if _link_density(region) > MAX_LINK_DENSITY:
        raise NotAnArticle("headline index (body is mostly links)")

    paragraphs = _paragraphs(_region_text(region, url))
    # The lead, title, caption and byline are fields of their own: never repeat them in the body.
    drop = {normalise_text(x).casefold() for x in (lead, title, image_caption or "") if x}
    paragraphs = [p for p in paragraphs if p.casefold() not in drop]
    captions = [p for p in paragraphs if len(p.split()) <= 60 and outlet.caption_regex.search(p)]
    if captions:
        paragraphs = [p for p in paragraphs if p not in captions]
        image_caption = image_caption or captions[0]
    paragraphs, more_authors = _strip_byline_pair(paragraphs, outlet)
    authors += [a for a in more_authors if a not in authors]
    guarded = guard_paragraphs(paragraphs, outlet)
    body = guarded.text
    if len(body.split()) < MIN_BODY_WORDS:
        raise NotAnArticle(f"too little text for an article ({len(body.split())} words)")
    if not title:
        raise NotAnArticle("page has no headline")

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
        language=_language(tree, outlet.language_for_host(host)),
        word_count=len(body.split()),
        content_hash=content_hash(body),
        extracted_at=datetime.now(UTC).isoformat(timespec="seconds"),
        extractor_version=EXTRACTOR_VERSION,
    )
    return Extraction(article, guarded.removed, layout.name)


# ---- any other page: generic extraction ------------------------------------------------------------

_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]+)"')
_JSONLD_MODIFIED = re.compile(r'"dateModified"\s*:\s*"([^"]+)"')


def _iso_date(text: str) -> str | None:
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


def _title_variants(tree: etree._Element) -> set[str]:
    """Normalised forms of the page's headline (og:title, <title> and its parts, first h1)."""
    found: set[str] = set()
    for value in (_meta(tree, "og:title", "twitter:title"), _text(tree.find(".//title")),
                  _text(_first(tree, ("//h1",)))):
        if value:
            found.add(value.casefold())
            found.update(part.casefold() for part in _TITLE_SPLIT.split(value) if len(part.split()) > 2)
    return found


def _prune_link_lists(tree: etree._Element) -> None:
    """Drop lists whose text is nearly all links (related stories, navigation): never article prose."""
    for lst in _xp("//ul | //ol")(tree):
        items = lst.findall("li")
        if len(items) < 2 or lst.getparent() is None:
            continue
        text = _text(lst)
        if text and sum(len(_text(a)) for a in lst.iter("a")) >= 0.8 * len(text):
            _remove(lst)


def _generic_meta(tree: etree._Element, url: str) -> dict[str, Any]:
    published = _iso_date(_meta(tree, "article:published_time", "datePublished", "pubdate", "publishdate",
                                "dc.date.issued", "dcterms.created", "date"))
    modified = _iso_date(_meta(tree, "article:modified_time", "dateModified"))
    if published is None or modified is None:
        scripts = " ".join(t for t in _xp("//script[@type='application/ld+json']/text()")(tree))
        if published is None and (m := _JSONLD_DATE.search(scripts)):
            published = _iso_date(m.group(1))
        if modified is None and (m := _JSONLD_MODIFIED.search(scripts)):
            modified = _iso_date(m.group(1))
    if published is None:
        times = _xp("//time/@datetime")(tree)
        published = _iso_date(str(times[0])) if times else None
    author = _meta(tree, "author", "article:author", "byl")
    authors = [] if not author or "://" in author else [a.strip() for a in re.split(r"\s*[;,]\s*|\s+and\s+", author)
                                                          if a.strip()]
    title = _meta(tree, "og:title", "twitter:title") or _text(_first(tree, ("//h1",)))
    if not title:
        node = tree.find(".//title")
        title = _text(node) if node is not None else ""
    return {
        "title": title,
        "lead": _meta(tree, "og:description", "description", "twitter:description"),
        "published": published,
        "modified": modified,
        "section": _meta(tree, "article:section") or None,
        "authors": authors,
        "image_url": _absolute(_meta(tree, "og:image", "twitter:image"), url),
    }


def _extract_generic(tree: etree._Element, url: str, outlet: Outlet | None = None) -> Extraction:
    meta = _generic_meta(tree, url)
    skip = _title_variants(tree)
    if meta["lead"]:
        skip.add(meta["lead"].casefold())
    lang = _language(tree, outlet.language_for_host(urlsplit(url).hostname or "") if outlet else "en")
    _prune_link_lists(tree)
    # fast: skip trafilatura's fallback extractors; favor_recall: keep doubtful paragraphs (the title
    # lines it then keeps are removed below). Measured best and fastest on the public benchmark.
    text = trafilatura.extract(
        tree, url=url, include_comments=False, fast=True, favor_recall=True, deduplicate=False
    ) or ""
    paragraphs = _paragraphs(text)
    # The headline and standfirst are fields of their own: drop them where trafilatura starts with them.
    while paragraphs and len(paragraphs) > 1 and paragraphs[0].casefold() in skip:
        paragraphs.pop(0)
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
        title = _TITLE_DECORATION.sub("", title)
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
    )
    return Extraction(article, removed, "fallback" if outlet else "generic")


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
            return _extract_generic(tree, url)
        return _extract_outlet(tree, url, outlet, layout)
    finally:
        _LOCAL.meta = None  # do not keep the page's tree alive after extraction


__all__ = ["Extraction", "classify_non_article", "extract_full", "parse_html"]
