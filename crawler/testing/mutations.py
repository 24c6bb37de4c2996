"""Redesign-like variants of a saved page (renamed classes, wrappers, moved blocks, tables) for robustness checks.

Every variant keeps the article's words and tags but changes what a redesign changes: class and id names,
nesting depth, where the header, sidebar and footer sit, attribute quoting and whitespace, and whether the
page is laid out with tables. Extraction that leans on our own class names fails here; extraction that reads
structure, text density and the site's own phrases survives. Variants are deterministic for a given seed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import lxml.html
from lxml import etree

from crawler.core.items import normalise_text
from crawler.extract import NotAnArticle, extract_full
from crawler.extract.guard import is_boilerplate_line
from crawler.extract.tree import node_text, remove_node
from crawler.outlet import Outlet, outlet_for_url
from crawler.testing.fixturecheck import Fixture, body_f1, to_minute

MUTATIONS: tuple[str, ...] = ("none", "rename", "divs", "wrappers", "reorder", "quoting", "table", "redesign")
"""Names of the single mutations, of `none` (the page as saved) and of `redesign` (all of them at once)."""

_PARSER = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)


def _parse(html: bytes | str) -> etree._Element:
    data = html.encode("utf-8") if isinstance(html, str) else html
    return lxml.html.document_fromstring(data, parser=_PARSER)


def _deepest_with(root: etree._Element, needle: str) -> etree._Element | None:
    """The deepest element whose text contains `needle` (normalised), or None."""
    needle = normalise_text(needle)
    best: etree._Element | None = None
    best_depth = -1
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in ("title", "meta", "script", "style", "head"):
            continue
        if needle and needle in node_text(el):
            depth = sum(1 for _ in el.iterancestors())
            if depth > best_depth:
                best, best_depth = el, depth
    return best


def article_container(root: etree._Element, title: str, body: str) -> etree._Element | None:
    """The lowest element holding both the headline and the start of the body (the article's own block)."""
    body_el = root.find("body")
    if body_el is None:
        return None
    first_words = " ".join(body.split()[:8])
    body_node = _deepest_with(body_el, first_words)
    title_node = _deepest_with(body_el, title) if title else None
    if body_node is None:
        return None
    if title_node is None:
        return body_node.getparent()
    # A set of the elements themselves (not id()s: lxml makes proxies on the fly, kept alive only by references).
    ancestors = {*title_node.iterancestors(), title_node}
    node: etree._Element | None = body_node
    while node is not None and node not in ancestors:
        node = node.getparent()
    return node


# ---- the mutations ---------------------------------------------------------------------------------


def rename(root: etree._Element, rng: random.Random, **_: Any) -> None:
    """Every class and id becomes a random token (one token per original name, as a real stylesheet would)."""
    tokens: dict[str, str] = {}

    def token(name: str) -> str:
        if name not in tokens:
            tokens[name] = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2)) + format(
                rng.getrandbits(24), "06x"
            )
        return tokens[name]

    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.get("class") is not None:
            el.set("class", " ".join(token(c) for c in el.get("class", "").split()))
        if el.get("id") is not None:
            el.set("id", token(el.get("id", "")))


_SEMANTIC = ("header", "footer", "nav", "aside", "section", "article", "main", "figure", "figcaption", "time")


def divs(root: etree._Element, rng: random.Random, **_: Any) -> None:
    """Semantic tags (header, footer, nav, aside, figure, figcaption, time, ...) become plain `div`s or
    `span`s, as in sites built before HTML5 or by page builders."""
    for el in list(root.iter(*_SEMANTIC)):
        el.tag = "span" if el.tag == "time" else "div"
        for name in ("datetime",):
            el.attrib.pop(name, None)


def wrappers(root: etree._Element, rng: random.Random, **_: Any) -> None:
    """Extra `div` wrappers (one or two deep) around about a third of the block elements, and around the page."""
    body = root.find("body")
    if body is None:
        return
    blocks = [
        el
        for el in body.iter("div", "section", "article", "ul", "table", "h1", "h2", "time", "figure")
        if el is not body
    ]
    for el in blocks:
        if rng.random() < 0.35 and el.getparent() is not None and el.getparent().tag not in ("p", "ul", "ol"):
            for _depth in range(rng.choice((1, 2))):
                _wrap(el, "div")
    outer = etree.SubElement(body, "div")
    outer.text = body.text
    body.text = None
    for child in list(body):
        if child is not outer:
            outer.append(child)


def _wrap(el: etree._Element, tag: str) -> etree._Element:
    parent = el.getparent()
    wrapper = etree.Element(tag)
    parent.replace(el, wrapper)
    wrapper.tail, el.tail = el.tail, None
    wrapper.append(el)
    return wrapper


def reorder(root: etree._Element, rng: random.Random, *, container: etree._Element | None = None, **_: Any) -> None:
    """Header, sidebar and footer blocks change places: the siblings of every ancestor of the article's
    own block are shuffled (the article block itself keeps its inner order)."""
    body = root.find("body")
    if body is None or container is None:
        return
    node = container
    while node is not None and node is not root:
        parent = node.getparent()
        if parent is None:
            break
        children = [c for c in parent if isinstance(c.tag, str)]
        if len(children) > 1:
            order = children[:]
            while order == children:
                rng.shuffle(order)
            for c in children:
                parent.remove(c)  # the tail goes with its element: text between blocks is whitespace
            for c in order:
                parent.append(c)
        if parent is body:
            break
        node = parent


def table(root: etree._Element, rng: random.Random, *, container: etree._Element | None = None, **_: Any) -> None:
    """The article's own block moves into a table cell beside a cell holding the rest of the page."""
    body = root.find("body")
    if body is None or container is None or container is body:
        return
    parent = container.getparent()
    if parent is None:
        return
    remove_node(container)
    tbl = etree.Element("table", width="100%", border="0")
    head_row = etree.SubElement(tbl, "tr")
    rest = etree.SubElement(head_row, "td", colspan="2")
    row = etree.SubElement(tbl, "tr")
    main = etree.SubElement(row, "td", valign="top")
    side = etree.SubElement(row, "td", valign="top", width="300")
    main.append(container)
    children = [c for c in body if isinstance(c.tag, str)]
    half = len(children) // 2
    for i, child in enumerate(children):
        (rest if i < half or rng.random() < 0.5 else side).append(child)
    rest.text, body.text = body.text, None
    body.append(tbl)


def _requote(html: str, rng: random.Random) -> str:
    """Attribute values in single quotes or unquoted where legal; random whitespace between tags."""

    def attr(m: re.Match[str]) -> str:
        name, value = m.group(1), m.group(2)
        if value and re.fullmatch(r"[\w\-./:]+", value) and rng.random() < 0.5:
            return f"{name}={value}"
        if "'" not in value:
            return f"{name}='{value}'"
        return m.group(0)

    html = re.sub(r'(\s[\w:-]+)="([^"]*)"', attr, html)
    return re.sub(r">\s*<", lambda _: ">" + rng.choice(("", "\n", "\n    ", "  \n\t", " ")) + "<", html)


MUTATORS: dict[str, Callable[..., None]] = {
    "rename": rename,
    "divs": divs,
    "wrappers": wrappers,
    "reorder": reorder,
    "table": table,
}


def mutate(html: bytes | str, mutation: str, *, seed: int, title: str, body: str) -> str:
    """One variant of a page: `mutation` is one of MUTATIONS; `title` and `body` (the page's expected headline
    and body) locate the article's own block so that moving page blocks never reorders the article's text."""
    if mutation not in MUTATIONS:
        raise ValueError(f"unknown mutation {mutation!r} (one of {', '.join(MUTATIONS)})")
    rng = random.Random(f"{mutation}:{seed}")
    root = _parse(html)
    if mutation == "none":
        return html.decode("utf-8") if isinstance(html, bytes) else html
    steps = ("reorder", "table", "divs", "wrappers", "rename", "quoting") if mutation == "redesign" else (mutation,)
    container = article_container(root, title, body)
    for step in steps:
        if step in MUTATORS:
            MUTATORS[step](root, rng, container=container)
    out = lxml.html.tostring(root, encoding="unicode", doctype="<!DOCTYPE html>")
    if "quoting" in steps:
        out = _requote(out, rng)
    return out


# ---- judging a variant -----------------------------------------------------------------------------


@dataclass
class VariantScore:
    """How extraction did on one variant against the fixture's expected output."""

    fixture: str
    mutation: str
    seed: int
    body_f1: float
    leaked: list[str] = field(default_factory=list)
    """`body_excludes` snippets and profile boilerplate lines found in the body."""
    title_ok: bool = False
    date_ok: bool = False
    wrong_fields: list[str] = field(default_factory=list)
    """Other fields (lead, section, authors, image, caption) that differ from the fixture's expected output."""
    layout: str = ""
    refused: str | None = None


def judge(fx: Fixture, mutation: str, seed: int, outlet: Outlet | None = None) -> VariantScore:
    """Extract one variant of an article fixture and score it: body F1 (4-word shingles), furniture leaked,
    title equal, published time equal to the minute. `outlet` overrides the bundled profile (e.g. one with no
    layout rules, to measure the layout-independent rules alone)."""
    exp = fx.expected
    html = mutate(
        fx.page.read_bytes(), mutation, seed=seed, title=str(exp.get("title", "")), body=str(exp.get("body", ""))
    )
    score = VariantScore(fx.name, mutation, seed, 0.0)
    try:
        result = extract_full(html, fx.url, outlet)
    except NotAnArticle as exc:
        score.refused = exc.reason
        return score
    article = result.article
    score.layout = result.layout
    score.body_f1 = body_f1(str(exp.get("body", "")), article.body)
    body_low = normalise_text(article.body).lower()
    score.leaked = [s for s in exp.get("body_excludes", []) if normalise_text(s).lower() in body_low]
    outlet = outlet or outlet_for_url(fx.url)
    if outlet is not None:
        score.leaked += [ln.strip() for ln in article.body.split("\n") if is_boilerplate_line(ln, outlet)]
    score.title_ok = article.title == exp.get("title")
    want, got = to_minute(exp.get("published")), to_minute(article.published)
    score.date_ok = want == got
    got_fields = article.to_dict()
    score.wrong_fields = [
        k
        for k in ("lead", "modified", "section", "authors", "image_url", "image_caption")
        if got_fields.get(k) not in (None, "", []) or exp.get(k) not in (None, "", [])
        if got_fields.get(k) != exp.get(k)
    ]
    return score


def judge_all(
    fixtures: list[Fixture], mutations: tuple[str, ...] = MUTATIONS, seeds: int = 2, *, layouts: bool = True
) -> list[VariantScore]:
    """Every article fixture under every mutation, `seeds` variants each (one for `none`). With
    `layouts=False` the profile's layout rules are dropped, so only the layout-independent rules work."""
    scores: list[VariantScore] = []
    for fx in fixtures:
        if fx.kind != "articles":
            continue
        outlet = outlet_for_url(fx.url)
        if outlet is not None and not layouts:
            outlet = replace(outlet, layouts=())
        for m in mutations:
            scores.extend(judge(fx, m, s, outlet) for s in range(1 if m == "none" else seeds))
    return scores


__all__ = ["MUTATIONS", "VariantScore", "article_container", "judge", "judge_all", "mutate"]
