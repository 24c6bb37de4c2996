"""Press TV articles written into real pages of other sites, with Press TV's furniture, for robustness checks.

A transplant takes a real page of another site whose article text is known (a page of a public extraction
benchmark with its ground truth), finds that article's own block, and writes a Press TV article into it: the
paragraphs in the page's own paragraph elements (same tag, same classes, same parent), the headline in the
page's own headline element, and around them Press TV's real furniture built from the page's own element types
and class names: a share bar ("SHARE THIS ARTICLE Facebook Twitter Google+" on one line, links to share
endpoints), a "Read more:" story card nested in wrapper divs, the alternate-addresses note with the outlet's
host links, a French "Lire aussi :" card, a top menu whose last item is "Programs", captions, bylines, app
promos and a date line. The rest of the page (the other site's header, sidebars, related lists and footer)
stays as it was, and the page is read at a Press TV article URL. Extraction that keys on Press TV's class names
or on one page layout fails here; extraction that finds furniture by what it is survives.

Variants are deterministic for a seed. The furniture lines are data (fixtures/transplant/furniture.json).
"""

from __future__ import annotations

import ast
import gzip
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import lxml.html
from lxml import etree

from crawler.core.items import normalise_text
from crawler.extract import NotAnArticle, extract_full
from crawler.extract.furniture import is_hidden
from crawler.testing.fixturecheck import Fixture, body_f1, to_minute

FURNITURE_FILE = Path(__file__).resolve().parent / "fixtures" / "transplant" / "furniture.json"
"""Real Press TV furniture lines (share bar, cards, notes, menu, captions, bylines, promos)."""

LEAK_KINDS: tuple[str, ...] = (
    "share label",
    "share hosts",
    "alternate",
    "card",
    "menu",
    "caption",
    "byline",
    "promo",
    "date line",
    "headline",
)
"""Kinds of planted furniture whose text must never reach the body."""

_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
_BLOCKS = frozenset(
    {
        "p",
        "div",
        "li",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "td",
        "dd",
        "section",
        "article",
        "figure",
        "header",
        "footer",
        "aside",
        "ul",
        "ol",
        "table",
    }
)
_NAME = re.compile(r"[A-Za-z_][\w.-]*")
"""Attribute names lxml accepts (pages of script frameworks carry `:class`, `@click`)."""
COPY_WORDS = 10
"""Words a block outside the article block must have, all of them the article's, to count as a copy of it."""
_NOT_PROSE = frozenset({"li", "h2", "h3", "h4", "h5", "h6", "td", "dd", "ul", "ol", "table"})
_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "head", "title", "meta", "link"})


# ---- inputs --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A real page of another site and the text of its own article (the benchmark's ground truth)."""

    name: str
    html: bytes
    body: str
    title: str = ""


@dataclass(frozen=True)
class Story:
    """A Press TV article to write into templates: its served URL and its known fields."""

    name: str
    url: str
    title: str
    body: str
    published: str
    lead: str = ""
    image_url: str = ""
    image_caption: str = ""
    language: str = "en"

    @property
    def paragraphs(self) -> list[str]:
        """The body's paragraphs, as the page shows them."""
        return [p.strip() for p in self.body.split("\n\n") if p.strip()]


def stories_from_fixtures(fixtures: list[Fixture]) -> list[Story]:
    """One story per distinct article of the article fixtures (mirror copies of one article count once)."""
    seen: set[str] = set()
    stories: list[Story] = []
    for fx in fixtures:
        exp = fx.expected
        if fx.kind != "articles" or not exp.get("body") or exp.get("url") in seen:
            continue
        seen.add(str(exp.get("url")))
        stories.append(
            Story(
                fx.name,
                fx.url,
                str(exp["title"]),
                str(exp["body"]),
                str(exp.get("published") or ""),
                str(exp.get("lead") or ""),
                str(exp.get("image_url") or ""),
                str(exp.get("image_caption") or ""),
                str(exp.get("language") or "en"),
            )
        )
    return stories


def article_extraction_benchmark(folder: Path) -> Iterator[Template]:
    """Pages of the article-extraction-benchmark layout: ground-truth.json and html/<key>.html.gz."""
    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    for key, item in sorted(truth.items()):
        page = folder / "html" / f"{key}.html.gz"
        if page.is_file():
            yield Template(f"aeb/{key[:10]}", gzip.decompress(page.read_bytes()), str(item["articleBody"]))


def wcxb(folder: Path) -> Iterator[Template]:
    """Pages of the WCXB layout: pages/NNNN.html.gz beside NNNN.json (ground_truth.main_content, title)."""
    for meta_file in sorted((folder / "pages").glob("*.json")):
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        truth = meta.get("ground_truth") or {}
        if isinstance(truth, str):  # some exports keep it as a Python literal
            truth = ast.literal_eval(truth)
        page = meta_file.with_name(meta_file.stem + ".html.gz")
        if page.is_file() and truth.get("main_content"):
            yield Template(
                f"wcxb/{meta_file.stem}",
                gzip.decompress(page.read_bytes()),
                str(truth["main_content"]),
                str(truth.get("title") or ""),
            )


def load_templates(folder: Path) -> list[Template]:
    """Every page of a benchmark folder, whichever of the two layouts it has."""
    if (folder / "ground-truth.json").is_file():
        return list(article_extraction_benchmark(folder))
    if (folder / "pages").is_dir():
        return list(wcxb(folder))
    raise ValueError(f"{folder}: neither ground-truth.json + html/ nor pages/NNNN.json: not a known benchmark")


@dataclass(frozen=True)
class Furniture:
    """Press TV's real furniture lines (see crawler/testing/fixtures/transplant/SOURCES.md)."""

    share_label: str
    share_links: list[tuple[str, str]]
    read_more_label: str
    alternate_note: str
    alternate_hosts: list[str]
    lire_aussi_label: str
    french_stories: list[tuple[str, str]]
    menu: list[tuple[str, str]]
    captions: list[str]
    bylines: list[tuple[str, str]]
    app_promos: list[str]

    @classmethod
    def load(cls, path: Path = FURNITURE_FILE) -> Furniture:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))

        def pairs(key: str) -> list[tuple[str, str]]:
            return [(str(a), str(b)) for a, b in data[key]]

        return cls(
            str(data["share_label"]),
            pairs("share_links"),
            str(data["read_more_label"]),
            str(data["alternate_note"]),
            [str(h) for h in data["alternate_hosts"]],
            str(data["lire_aussi_label"]),
            pairs("french_stories"),
            pairs("menu"),
            [str(c) for c in data["captions"]],
            pairs("bylines"),
            [str(p) for p in data["app_promos"]],
        )


# ---- building a transplant -----------------------------------------------------------------------------


@dataclass
class Transplant:
    """One Press TV page made from another site's page, and the furniture text planted in it."""

    template: str
    story: Story
    seed: int
    html: str
    planted: dict[str, list[str]] = field(default_factory=dict)
    menu: list[str] = field(default_factory=list)


def _texts(root: etree._Element) -> dict[etree._Element, str]:
    """Normalised text of every visible element (computed once: locating blocks asks for it many times)."""
    out: dict[etree._Element, str] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag not in _SKIP:
            out[el] = normalise_text(" ".join(t for t in el.itertext() if t))
    return out


def _squash(text: str) -> str:
    """Lower-case words only: page text and ground truth differ in quotes, dashes and spacing."""
    return " ".join(re.findall(r"\w+", text.lower()))


def _hidden(el: etree._Element) -> bool:
    """Whether the element or one of its ancestors is hidden from the reader (a copy of the article kept for
    another screen size, a closed dialog), as the extractor judges it."""
    return any(is_hidden(node) for node in (el, *el.iterancestors()))


def _depth(el: etree._Element) -> int:
    return sum(1 for _ in el.iterancestors())


def _deepest(
    texts: dict[etree._Element, str], needle: str, near: etree._Element | None = None
) -> etree._Element | None:
    """The deepest element whose text holds `needle`, a visible one first (a page may keep a hidden copy of its
    article for another screen size); with `near`, the one closest to it first (the end of an article is in the
    block its start is in, not in a sidebar listing the same story)."""
    matches = [el for el, text in texts.items() if needle in _squash(text)]
    wrappers = {a for el in matches for a in el.iterancestors()}
    best, rank = None, (-1, -1, -1)
    for el in matches:
        if el in wrappers:
            continue  # a deeper element holds the words too
        here = (0 if _hidden(el) else 1, _depth(_common_ancestor(near, el)) if near is not None else 0, _depth(el))
        if here > rank:
            best, rank = el, here
    return best


def _locate(
    texts: dict[etree._Element, str], paragraphs: list[str], reverse: bool, near: etree._Element | None = None
) -> etree._Element | None:
    """The deepest element holding the opening words of one of the first (or last) ground-truth paragraphs."""
    candidates = [p for p in paragraphs if len(p.split()) >= 6]
    for para in (candidates[::-1] if reverse else candidates)[:4]:
        words = _squash(para).split()
        node = _deepest(texts, " ".join(words[:8]), near)
        if node is not None:
            return node
    return None


def _common_ancestor(a: etree._Element, b: etree._Element) -> etree._Element:
    chain = {a, *a.iterancestors()}
    node: etree._Element | None = b
    while node is not None and node not in chain:
        node = node.getparent()
    return node if node is not None else a


def _classes(root: etree._Element) -> list[str]:
    return sorted({c for el in root.iter() if isinstance(el.tag, str) for c in (el.get("class") or "").split()})


class _Dresser:
    """Makes elements in the page's own style: its tags and its class names."""

    def __init__(self, classes: list[str], rng: random.Random) -> None:
        self.classes = classes or ["block"]
        self.rng = rng

    def cls(self, *prefer: str) -> str:
        liked = [c for c in self.classes if any(p in c.lower() for p in prefer)]
        return self.rng.choice(liked or self.classes)

    def el(self, tag: str, text: str | None = None, *prefer: str, **attrs: str) -> etree._Element:
        node = etree.Element(tag, {"class": self.cls(*prefer), **attrs})
        node.text = text
        return node

    def nest(self, inner: etree._Element, depth: int) -> etree._Element:
        """`inner` inside `depth` wrapper divs of the page's classes."""
        for _ in range(depth):
            wrapper = self.el("div")
            wrapper.append(inner)
            inner = wrapper
        return inner


def _like(proto: etree._Element, text: str | None) -> etree._Element:
    """An element of the same tag and attributes as `proto` (no id: ids are unique), holding `text`."""
    node = etree.Element(proto.tag, {k: v for k, v in proto.attrib.items() if k != "id" and _NAME.fullmatch(k)})
    node.text = text
    return node


def _date_line(published: str, french: bool, rng: random.Random) -> str:
    """The story's publication time as the site printed it (Tehran local time; GMT said so)."""
    when = datetime.fromisoformat(published)
    gmt = " GMT" if when.utcoffset() is not None and not when.utcoffset() else ""
    if french:
        days = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
        months = (
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        )
        return f"{days[when.weekday()]} {when.day:02d} {months[when.month - 1]} {when.year} {when:%H:%M}{gmt}"
    if rng.random() < 0.5:  # the 2016-2020 Bootstrap form, then the current form
        return f"{when:%a %b} {when.day}, {when.year} {when:%I:%M%p}{gmt}"
    return f"{when:%A}, {when.day:02d} {when:%B %Y %I:%M %p}{gmt}"


def _clear_between(root: etree._Element, first: etree._Element, last: etree._Element) -> None:
    """The other article's words between its headline and its block (dek, date, byline) go: they would be text
    of another story on a Press TV page, which no extractor could tell from the article."""
    skip = {*last.iterancestors(), last, *first.iterdescendants()}
    started = False
    for el in root.iter():
        if el is first:
            started = True
            el.tail = None
            continue
        if el is last:
            break
        if started and isinstance(el.tag, str) and el not in skip and el.tag not in _SKIP:
            el.text = None
            el.tail = None


def _headline(page_body: etree._Element, container: etree._Element) -> etree._Element | None:
    """The page's own headline: an h1 inside the article block, else the last h1 above it (not a logo h1 at
    the top of the page when the article's own comes later); an h1 only below the block is a teaser's (a featured
    story under the article), so then None."""
    h1s = list(page_body.iter("h1"))
    inside = [h for h in h1s if container in set(h.iterancestors())]
    if inside:
        return inside[0]
    above: etree._Element | None = None
    for el in page_body.iter():
        if el is container:
            break
        if el.tag == "h1":
            above = el
    return above


def _rewrite_head(root: etree._Element, story: Story) -> None:
    """The other site's title, metadata and structured data go; Press TV's title and description come."""
    for el in list(root.iter("meta", "link", "title", "script")):
        kind = (el.get("type") or "").lower()
        if el.tag == "script" and "ld+json" not in kind:
            continue
        if el.tag == "meta" and (el.get("charset") or (el.get("name") or "").lower() == "viewport"):
            continue
        if el.tag == "link" and "canonical" not in (el.get("rel") or "") and "amphtml" not in (el.get("rel") or ""):
            continue
        if el.getparent() is not None:
            el.getparent().remove(el)
    for el in root.iter():
        if isinstance(el.tag, str) and "date" in (el.get("itemprop") or "").lower():
            el.attrib.pop("itemprop", None)
            el.attrib.pop("content", None)
    head = root.find("head")
    if head is None:
        head = etree.Element("head")
        root.insert(0, head)
    title = etree.SubElement(head, "title")
    title.text = f"PressTV-{story.title}"
    for prop, value in (("og:title", story.title), ("og:description", story.lead), ("og:image", story.image_url)):
        if value:
            etree.SubElement(head, "meta", property=prop, content=value)
    if story.lead:
        etree.SubElement(head, "meta", name="description", content=story.lead)
    root.set("lang", story.language)


def _drop_breadcrumbs(root: etree._Element) -> None:
    """The other site's breadcrumb trails go (a Press TV page here has none): short blocks named so."""
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.tag in ("html", "body"):
            continue
        if len(" ".join(el.itertext())) > 400:  # a page class such as `has-breadcrumb` on a whole layout block
            continue
        marks = " ".join(
            (el.get("class") or "", el.get("id") or "", el.get("itemtype") or "", el.get("aria-label") or "")
        ).lower()
        if "breadcrumb" in marks and el.getparent() is not None:
            el.getparent().remove(el)


def _menu(root: etree._Element, container: etree._Element, furniture: Furniture, dress: _Dresser) -> None:
    """The page's own top menu (the first list of links above the article) now lists Press TV's sections."""
    body = root.find("body")
    above: etree._Element | None = None
    around = set(container.iterancestors())
    for el in root.iter():
        if el is container:
            break  # only lists above the article, never one that holds it
        links = [li for li in el if li.tag == "li" and li.find(".//a") is not None] if el.tag in ("ul", "ol") else []
        if el not in around and len(links) >= 3:
            above = el
            break
    if above is None:
        above = dress.el("ul", None, "nav", "menu")
        nav = dress.nest(above, 1)
        nav.tag = "nav"
        if body is not None:
            body.insert(0, nav)
    items = [li for li in above if li.tag == "li"]
    proto_li = items[0] if items else etree.Element("li")
    proto_a = proto_li.find(".//a")
    for li in items:
        above.remove(li)
    for text, href in furniture.menu:
        li = _like(proto_li, None)
        a = _like(proto_a, text) if proto_a is not None else etree.Element("a")
        a.text = text
        a.set("href", href)
        li.append(a)
        above.append(li)


@dataclass
class _Site:
    """Where the template's own article sits: its block, the paragraph element the story's paragraphs copy,
    that element's parent and place in it, and the page's headline element (None: the page has none)."""

    root: etree._Element
    container: etree._Element
    proto: etree._Element
    host: etree._Element
    at: int
    headline: etree._Element | None


def _article_block(
    page_body: etree._Element, template: Template, texts: dict[etree._Element, str]
) -> etree._Element | None:
    """The element holding the template's own article (from its first to its last ground-truth paragraph), or
    None when it cannot be found or is the whole page."""
    truth_paras = [p for p in re.split(r"\n+", template.body) if p.strip()]
    start = _locate(texts, truth_paras, False)
    end = _locate(texts, truth_paras, True, start) if start is not None else None
    if start is None or end is None:
        return None
    container = _common_ancestor(start, end)
    if container is page_body or container.tag in ("html", "body"):
        return None
    return container


def _body_blocks(container: etree._Element, texts: dict[etree._Element, str], truth: str) -> list[etree._Element]:
    """The page's body blocks: the deepest block elements whose text is article text."""
    found = [
        el
        for el in container.iter()
        if el is not container
        and el in texts
        and el.tag in _BLOCKS
        and len(texts[el]) >= 25
        and _squash(texts[el]) in truth
    ]
    found_set = set(found)
    return [el for el in found if not any(d in found_set for d in el.iterdescendants())]


def _prototype(blocks: list[etree._Element]) -> etree._Element | None:
    """The page's own paragraph element: the commonest tag and class among its body blocks other than list
    items, headings and cells (a Press TV article is prose), or None when it has no other (its prose sits in
    inline elements or between <br>s: there is no paragraph to copy, and a story written as headings or list
    items is not a Press TV page)."""
    prose = [b for b in blocks if b.tag not in _NOT_PROSE]
    if not prose:
        return None
    signature = Counter((b.tag, b.get("class")) for b in prose).most_common(1)[0][0]
    return next(b for b in prose if (b.tag, b.get("class")) == signature)


def _page_headline(
    page_body: etree._Element, container: etree._Element, texts: dict[etree._Element, str], title: str
) -> etree._Element | None:
    """The page's own headline element (the first h1, else the one holding the template's title), or None
    when it is the page or holds the article block."""
    headline = _headline(page_body, container)
    if headline is None and title:
        headline = _deepest(texts, _squash(title))
    if headline is None or headline is page_body or container in {*headline.iterancestors()}:
        return None
    return headline


def _empty(
    container: etree._Element, blocks: list[etree._Element], proto: etree._Element, keep: set[etree._Element]
) -> int:
    """The article block emptied of the other site's words (its structure, images and wrappers stay); returns
    where the prototype paragraph stood in its parent."""
    host = proto.getparent()
    assert host is not None
    at = list(host).index(proto)
    for block in blocks:
        if block not in keep and block.getparent() is not None:
            parent = block.getparent()
            if parent is host and list(host).index(block) < at:
                at -= 1
            parent.remove(block)
    for el in container.iter():
        if isinstance(el.tag, str) and el.tag not in _SKIP:
            el.text = None
            el.attrib.pop("datetime", None)  # the other story's times, kept in attributes
            if el is not container:
                el.tail = None
    return at


def _is_copy(text: str, truth: str) -> bool:
    """Whether a block's text is the article's: at least COPY_WORDS words, and its lines (a copy kept as plain
    text has them) nearly all the article's."""
    lines = [_squash(line) for line in text.splitlines()]
    words = sum(len(line.split()) for line in lines)
    ours = sum(len(line.split()) for line in lines if line and line in truth)
    return words >= COPY_WORDS and ours >= 0.9 * words


def _clear_copies(page_body: etree._Element, container: etree._Element, keep: set[etree._Element], truth: str) -> None:
    """Other copies of the other site's article outside its block (one per screen size, the next story of an
    endless page repeating it) lose their words too: no extractor could tell them from the article."""
    inside = {container, *container.iterdescendants()}
    for el in page_body.iter():
        if not isinstance(el.tag, str) or el.tag not in _BLOCKS or el in keep or el in inside:
            continue
        if _is_copy(" ".join(t for t in el.itertext() if t), truth):
            for node in el.iter():
                if isinstance(node.tag, str) and node.tag not in _SKIP:
                    node.text = None
                    if node is not el:
                        node.tail = None


def _site(template: Template) -> _Site | None:
    """The template parsed, its article block found and emptied, or None when the block cannot be found."""
    root = lxml.html.document_fromstring(template.html, parser=_PARSER)
    page_body = root.find("body")
    if page_body is None:
        return None
    _drop_breadcrumbs(page_body)
    texts = _texts(page_body)
    container = _article_block(page_body, template, texts)
    if container is None:
        return None
    blocks = _body_blocks(container, texts, _squash(template.body))
    if len(blocks) < 2:
        return None
    proto = _prototype(blocks)
    host = proto.getparent() if proto is not None else None
    if proto is None or host is None:
        return None
    headline = _page_headline(page_body, container, texts, template.title)
    keep = {host, *host.iterancestors()}
    if headline is not None:
        keep |= {headline, *headline.iterancestors()}
    at = _empty(container, blocks, proto, keep)
    _clear_copies(page_body, container, keep, _squash(template.body))
    return _Site(root, container, proto, host, at, headline)


def _write_headline(site: _Site, title: str) -> None:
    """The story's headline in the page's own headline element (a new h1 atop the block when it has none)."""
    headline = site.headline
    if headline is None:
        headline = etree.Element("h1")
        site.container.insert(0, headline)
    else:
        _clear_between(site.root, headline, site.container)
    for child in list(headline):
        headline.remove(child)
    headline.text = title


class _Planter:
    """Builds the story's paragraphs and Press TV's furniture in the page's own style, noting what it plants."""

    def __init__(self, site: _Site, story: Story, furniture: Furniture, rng: random.Random) -> None:
        self.site, self.story, self.furniture, self.rng = site, story, furniture, rng
        self.dress = _Dresser(_classes(site.root), rng)
        self.planted: dict[str, list[str]] = {kind: [] for kind in LEAK_KINDS}
        self.planted["headline"] = [story.title]

    def para(self, text: str) -> etree._Element:
        return _like(self.site.proto, text)

    def share_bar(self) -> etree._Element:
        dress, furniture, rng = self.dress, self.furniture, self.rng
        bar = dress.el("div", None, "share", "social")
        label = dress.el(rng.choice(("span", "strong", "div")), furniture.share_label, "share", "label")
        label.tail = " "
        bar.append(label)
        for name, endpoint in furniture.share_links:
            a = dress.el("a", name, "share", "social", href=endpoint + self.story.url)
            a.tail = " "
            bar.append(a)
        self.planted["share label"].append(furniture.share_label)
        self.planted["share hosts"].append(" ".join(n for n, _ in furniture.share_links))
        return dress.nest(bar, rng.choice((0, 1)))

    def figure(self, caption: str) -> etree._Element:
        dress, rng, story = self.dress, self.rng, self.story
        fig = dress.el(rng.choice(("figure", "div")), None, "figure", "image", "media")
        etree.SubElement(fig, "img", src=story.image_url or urljoin(story.url, "/Photo/photo.jpg"), alt="")
        cap = dress.el(rng.choice(("figcaption", "p", "span", "div")), caption, "caption", "credit")
        fig.append(cap)
        self.planted["caption"].append(caption)
        return fig

    def card(self, label: str, headline_text: str, url: str, teaser: str) -> list[etree._Element]:
        dress, rng = self.dress, self.rng
        link_text = headline_text if rng.random() < 0.7 else url
        inner = dress.el("div", None, "card", "related", "story")
        a = dress.el("a", link_text, "title", "link", href=url)
        inner.append(a)
        if teaser:
            inner.append(dress.el("p", teaser, "desc", "summary", "teaser"))
        self.planted["card"] += [label, link_text] + ([teaser] if teaser else [])
        wrapped = dress.nest(inner, rng.choice((1, 2, 3)))
        if rng.random() < 0.5:  # the label on a line of its own, as the site printed it, then the card
            return [self.para(label), wrapped]
        inner.insert(0, dress.el(rng.choice(("span", "strong", "h4")), label, "label", "title"))
        return [wrapped]

    def top(self) -> tuple[list[etree._Element], bool]:
        """Above the body: the date line, byline, promo, share bar (or not: returned) and the photo."""
        dress, furniture, rng, story = self.dress, self.furniture, self.rng, self.story
        top: list[etree._Element] = []
        date_text = _date_line(story.published, story.language == "fr", rng) if story.published else ""
        if date_text:
            date_el = dress.el(rng.choice(("time", "div", "span")), date_text, "date", "time", "publish")
            if date_el.tag == "time":
                date_el.set("datetime", story.published)
            top.append(date_el)
            self.planted["date line"].append(date_text)
        if rng.random() < 0.5:
            name, place = rng.choice(furniture.bylines)
            by = dress.el("div", None, "author", "byline")
            by.append(dress.el("span", name, "author", "name"))
            by.append(etree.Element("br"))
            by[-1].tail = place
            top.append(by)
            self.planted["byline"] += [name, place]
        if rng.random() < 0.5:
            top.append(dress.el("div", furniture.app_promos[0], "app", "promo", "banner"))
            self.planted["promo"].append(furniture.app_promos[0])
        share_on_top = rng.random() < 0.5
        if share_on_top:
            top.append(self.share_bar())
        top.append(self.figure(story.image_caption or rng.choice(furniture.captions)))
        return top, share_on_top

    def middle(self, other: Story) -> list[etree._Element]:
        """The body, with a "Read more:" card in the middle and (on French pages, or now and then) a "Lire
        aussi" card, and sometimes a photo lower down."""
        furniture, rng, story = self.furniture, self.rng, self.story
        middle: list[etree._Element] = [self.para(p) for p in story.paragraphs]
        teaser = other.lead if rng.random() < 0.5 else ""
        spot = max(1, len(middle) // 2)
        middle[spot:spot] = self.card(furniture.read_more_label, other.title, other.url, teaser)
        if story.language == "fr" or rng.random() < 0.3:
            title, url = rng.choice(furniture.french_stories)
            spot = max(1, len(middle) // 3)
            middle[spot:spot] = self.card(furniture.lire_aussi_label, title, url, "")
        if len(story.paragraphs) > 3 and rng.random() < 0.4:
            caption = rng.choice([c for c in furniture.captions if c != story.image_caption])
            spot = 2 * len(middle) // 3
            middle.insert(spot, self.figure(caption))
        return middle

    def alternate_note(self) -> etree._Element:
        """The alternate-addresses note with the outlet's host links."""
        furniture = self.furniture
        note = self.dress.el("div", None, "note", "footer", "info")
        note.append(self.para(furniture.alternate_note))
        hosts = self.dress.el(self.rng.choice(("ul", "div", "p")), None, "links", "list")
        for host_name in furniture.alternate_hosts:
            a = etree.Element("a", href=f"https://{host_name}")
            a.text = host_name
            if hosts.tag == "ul":
                li = etree.SubElement(hosts, "li")
                li.append(a)
            else:
                a.tail = " "
                hosts.append(a)
        note.append(hosts)
        self.planted["alternate"] += [furniture.alternate_note, *furniture.alternate_hosts]
        return note

    def bottom(self, share_on_top: bool) -> list[etree._Element]:
        """Below the body: the alternate-addresses note, the Roku promo, the share bar."""
        bottom = [self.alternate_note()]
        if self.rng.random() < 0.7:
            bottom.append(self.dress.el("div", self.furniture.app_promos[1], "app", "promo", "roku"))
            self.planted["promo"].append(self.furniture.app_promos[1])
        if not share_on_top:
            bottom.append(self.share_bar())
        return bottom


def transplant(template: Template, story: Story, other: Story, furniture: Furniture, seed: int) -> Transplant | None:
    """`story` written into `template` with Press TV's furniture (`other` is the story a card points to), or
    None when the template's own article block cannot be found."""
    rng = random.Random(f"{template.name}:{story.name}:{seed}")
    site = _site(template)
    if site is None:
        return None
    _write_headline(site, story.title)
    planter = _Planter(site, story, furniture, rng)
    top, share_on_top = planter.top()
    nodes = top + planter.middle(other) + planter.bottom(share_on_top)
    for offset, node in enumerate(nodes):
        site.host.insert(site.at + offset, node)
    _menu(site.root, site.container, furniture, planter.dress)
    planter.planted["menu"].append(" ".join(t for t, _ in furniture.menu[-3:]))
    _rewrite_head(site.root, story)
    html = lxml.html.tostring(site.root, encoding="unicode", doctype="<!DOCTYPE html>")
    return Transplant(
        template.name,
        story,
        seed,
        html,
        {k: v for k, v in planter.planted.items() if v},
        [t for t, _ in furniture.menu],
    )


def transplants(
    templates: list[Template], stories: list[Story], furniture: Furniture | None = None, seed: int = 0
) -> Iterator[Transplant]:
    """One transplant per template whose article block is found: a seeded choice of story and card story."""
    furniture = furniture or Furniture.load()
    for template in templates:
        rng = random.Random(f"pick:{template.name}:{seed}")
        story, other = rng.sample(stories, 2)
        made = transplant(template, story, other, furniture, seed)
        if made is not None:
            yield made


# ---- judging a transplant ------------------------------------------------------------------------------


@dataclass
class TransplantScore:
    """How extraction did on one transplant against the story it carries."""

    template: str
    story: str
    body_f1: float = 0.0
    leaked: dict[str, list[str]] = field(default_factory=dict)
    """Planted furniture found in the body more often than in the story's own body, by kind."""
    title_ok: bool = False
    date_ok: bool = False
    section: str | None = None
    section_from_menu: bool = False
    layout: str = ""
    refused: str | None = None


def _count(text: str, snippet: str) -> int:
    return _squash(text).count(_squash(snippet)) if _squash(snippet) else 0


def judge(t: Transplant) -> TransplantScore:
    """Extract a transplant as the Press TV page it pretends to be and score it."""
    score = TransplantScore(t.template, t.story.name)
    try:
        result = extract_full(t.html, t.story.url)
    except NotAnArticle as exc:
        score.refused = exc.reason
        return score
    article = result.article
    score.layout = result.layout
    score.body_f1 = body_f1(t.story.body, article.body)
    # A card whose link text is a URL leaks as a card, not as an alternate address of the outlet.
    urls = [s for s in t.planted.get("card", []) if s.startswith("http")]
    for kind, snippets in t.planted.items():
        body = article.body
        if kind == "alternate":
            for url in urls:
                body = body.replace(url, " ")
        leaked = [s for s in snippets if _count(body, s) > _count(t.story.body, s)]
        if leaked:
            score.leaked[kind] = leaked
    score.title_ok = article.title == t.story.title
    score.date_ok = to_minute(article.published) == to_minute(t.story.published)
    score.section = article.section
    score.section_from_menu = bool(article.section) and normalise_text(article.section or "").casefold() in {
        m.casefold() for m in t.menu
    }
    return score


def summary(scores: list[TransplantScore]) -> dict[str, Any]:
    """The suite's figures: mean and min body F1, leaks by kind, date right share, section from a menu."""
    if not scores:
        return {"variants": 0}
    leaks = Counter(kind for s in scores for kind in s.leaked)
    return {
        "variants": len(scores),
        "mean_f1": sum(s.body_f1 for s in scores) / len(scores),
        "min_f1": min(s.body_f1 for s in scores),
        "below_0.93": sum(1 for s in scores if s.body_f1 < 0.93),
        "leaks": {kind: leaks.get(kind, 0) for kind in LEAK_KINDS},
        "variants_leaking": sum(1 for s in scores if s.leaked),
        "title_right": sum(s.title_ok for s in scores) / len(scores),
        "date_right": sum(s.date_ok for s in scores) / len(scores),
        "section_from_menu": sum(s.section_from_menu for s in scores),
        "section_set": sum(1 for s in scores if s.section),
        "refused": sum(1 for s in scores if s.refused),
    }


__all__ = [
    "FURNITURE_FILE",
    "LEAK_KINDS",
    "Furniture",
    "Story",
    "Template",
    "Transplant",
    "TransplantScore",
    "judge",
    "load_templates",
    "stories_from_fixtures",
    "summary",
    "transplant",
    "transplants",
]
