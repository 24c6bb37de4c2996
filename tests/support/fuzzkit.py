"""Hostile inputs and what must become of them: the one place the fuzz tests and bench/fuzz.py take them from.

Each target (`TARGETS`) is a parser the crawler feeds with bytes written by strangers: the extraction API, the
spider's feed and sitemap parsers, the WARC reader, the Common Crawl record reader and the Wayback CDX JSON parser.
A target has families of inputs, each a Hypothesis strategy of `Case`s (random bytes, saved inputs cut short and
bit-flipped, every encoding declaration, mixed-up gzip, huge attributes, deep nesting, ...), and one `run` that
feeds a case to the parser and returns what became of it ("article", "refused", "links", "error", ...), asserting
the contract of each outcome on the way. Anything else it raises is a crash.
"""

from __future__ import annotations

import gzip
import io
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from scrapy import Request
from scrapy.http import XmlResponse
from scrapy.utils.test import get_crawler
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import crawler.crawl.settings as project_settings
from crawler.archives.cdx import Capture, CdxError, parse_cdx_json
from crawler.archives.commoncrawl import CapturedPage, CommonCrawlError, read_record
from crawler.archives.warc import WarcPage, WarcSkip, WarcWarning, read_pages
from crawler.crawl.spiders.presstv import PresstvSpider
from crawler.extract import Article, NotAnArticle, extract_full
from crawler.testing.fixturecheck import load_fixtures


@dataclass(frozen=True)
class Case:
    """One input: the family that made it, its bytes, and the URL it is read as (extraction only)."""

    family: str
    data: bytes
    url: str = ""


@dataclass(frozen=True)
class Target:
    """A parser under fuzzing: its input families and the call that says what became of one input."""

    name: str
    families: dict[str, SearchStrategy[Case]]
    run: Callable[[Case], str]


# ---- the mutations every family is built from ------------------------------------------------------------------


def mutate(data: bytes, cut: float, flips: list[int]) -> bytes:
    """`data` cut to the fraction `cut` of its length, then one bit flipped per entry of `flips` (position and bit
    taken from the number)."""
    out = bytearray(data[: int(len(data) * cut)])
    for f in flips:
        if out:
            out[f % len(out)] ^= 1 << (f % 8)
    return bytes(out)


CUTS = st.floats(0.0, 1.0)
FLIPS = st.lists(st.integers(0, 10**9), max_size=12)
JUNK = st.binary(max_size=64)
DEPTHS = st.integers(1, 100_000)


NO_URL = st.just("")


def _cut_and_flipped(
    family: str, seeds: SearchStrategy[bytes], url: SearchStrategy[str] = NO_URL
) -> SearchStrategy[Case]:
    return st.builds(lambda data, cut, flips, u: Case(family, mutate(data, cut, flips), u), seeds, CUTS, FLIPS, url)


def _random_bytes(url: SearchStrategy[str] = NO_URL, max_size: int = 4096) -> SearchStrategy[Case]:
    return st.builds(lambda data, u: Case("random bytes", data, u), st.binary(max_size=max_size), url)


# ---- extraction ---------------------------------------------------------------------------------------------------

PAGES = [fx.page.read_bytes() for fx in load_fixtures() if fx.kind == "articles"]
URLS = [
    "https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN",
    "http://www.presstv.com/detail/222208.html",
    "https://example.org/news/2026/story.html",  # no profile: the generic path
]
CHARSETS = [
    "utf-8",
    "UTF-16",
    "utf-32",
    "iso-8859-1",
    "windows-1256",
    "koi8-r",
    "shift_jis",
    "gb18030",
    "x-unknown",
    "utf-7",
    "",
    "\x00",
    'utf-8"><script>',
]
_PARA = "<p>" + "The minister said the measures amounted to economic warfare on ordinary people. " * 4 + "</p>"


def declared(page: bytes, charset: str) -> bytes:
    """The page with a <meta charset> and an http-equiv Content-Type declaring `charset` at the top of its head."""
    head = f'<meta charset="{charset}"><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    return page.replace(b"<head>", b"<head>" + head.encode("utf-8", "surrogatepass"), 1)


def huge_attribute(size: int, where: str) -> bytes:
    """An article whose headline carries one attribute `size` characters long."""
    body = "<p>" + "Tehran said on Saturday that the talks would resume next week in Geneva. " * 5 + "</p>"
    html = f'<html><body><h1 {where}="{"x" * size}">Iran and the powers resume talks</h1>{body * 4}</body></html>'
    return html.encode()


def nested_page(tag: str, depth: int) -> bytes:
    """An article whose paragraphs sit `depth` elements deep."""
    return (
        f"<html><body><h1>Iran urges UN action now</h1>{f'<{tag}>' * depth}{_PARA * 3}{f'</{tag}>' * depth}"
    ).encode()


def _gzip_family() -> SearchStrategy[Case]:
    truncated = st.builds(
        lambda page, cut, junk: (lambda packed: packed[: max(10, len(packed) - cut)] + junk)(
            gzip.compress(page, mtime=0)
        ),
        st.sampled_from(PAGES),
        st.integers(0, 400),
        JUNK,
    )
    header_on_garbage = st.builds(lambda junk: b"\x1f\x8b\x08\x00" + junk, JUNK)
    return st.builds(lambda data: Case("mixed-up gzip", data, URLS[0]), truncated | header_on_garbage)


EXTRACT_FAMILIES: dict[str, SearchStrategy[Case]] = {
    "random bytes": _random_bytes(st.sampled_from(URLS)),
    "cut and bit-flipped page": _cut_and_flipped(
        "cut and bit-flipped page", st.sampled_from(PAGES), st.sampled_from(URLS)
    ),
    "encoding declaration": st.builds(
        lambda page, cs: Case("encoding declaration", declared(page, cs), URLS[0]),
        st.sampled_from(PAGES),
        st.sampled_from(CHARSETS),
    ),
    "mixed-up gzip": _gzip_family(),
    "huge attribute": st.builds(
        lambda size, where: Case("huge attribute", huge_attribute(size, where), URLS[0]),
        st.integers(1, 2_000_000),
        st.sampled_from(["class", "href", "data-x", "style"]),
    ),
    "deep nesting": st.builds(
        lambda tag, depth, url: Case("deep nesting", nested_page(tag, depth), url),
        st.sampled_from(["div", "span", "table"]),
        DEPTHS,
        st.sampled_from(URLS),
    ),
}


def run_extract(case: Case) -> str:
    """ "article" or "refused", asserting the contract of each: an Article with a title and a body, or a
    NotAnArticle whose reason is one short line."""
    try:
        result = extract_full(case.data, case.url)
    except NotAnArticle as exc:
        assert exc.reason and "\n" not in exc.reason and len(exc.reason) < 300, exc.reason
        return "refused"
    art = result.article
    assert isinstance(art, Article) and art.title and art.body.strip()
    assert art.word_count == len(art.body.split())
    assert result.layout == art.layout
    assert all(isinstance(lines, list) for lines in result.removed.values())
    return "article"


# ---- feeds and sitemaps -------------------------------------------------------------------------------------------

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Presstv</title>'
    b"<item><link>https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN</link><title>A</title></item>"
    b"<item><link>/Detail/2026/08/14/774400/Other</link></item></channel></rss>"
)
SITEMAP = (
    b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
    b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url>'
    b"<loc>https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN</loc><news:news>"
    b"<news:publication_date>2026-08-15T10:30:00+03:30</news:publication_date></news:news></url></urlset>"
)
_LINK = b"https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN"


def entity_document(which: str, kind: str, depth: int) -> bytes:
    """A feed or sitemap whose link is an entity: a billion-laughs expansion `depth` levels deep, or an external
    entity naming a local file (neither may be expanded or read)."""
    if kind == "external":
        dtd = b'<!ENTITY e SYSTEM "file:///etc/passwd">'
    else:
        levels = [b'<!ENTITY e0 "lol">'] + [
            f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">'.encode() for i in range(1, min(depth, 12) + 1)
        ]
        dtd = b"".join(levels) + f'<!ENTITY e "&e{min(depth, 12)};">'.encode()
    doc = FEED if which == "feed" else SITEMAP
    root = b"rss" if which == "feed" else b"urlset"
    return doc.replace(
        b'<?xml version="1.0"?>', b'<?xml version="1.0"?><!DOCTYPE ' + root + b" [" + dtd + b"]>"
    ).replace(_LINK, _LINK + b"&e;", 1)


def nested_document(which: str, depth: int) -> bytes:
    """A feed or sitemap whose only link sits `depth` unknown elements deep."""
    doc = FEED if which == "feed" else SITEMAP
    inner = b"<item><link>" + _LINK + b"</link></item>" if which == "feed" else b"<url><loc>" + _LINK + b"</loc></url>"
    open_at = doc.index(b"<item>") if which == "feed" else doc.index(b"<url>")
    return doc[:open_at] + b"<x>" * depth + inner + b"</x>" * depth + doc[open_at:]


def _xml_families(which: str) -> dict[str, SearchStrategy[Case]]:
    seed = FEED if which == "feed" else SITEMAP
    return {
        "cut and bit-flipped": st.builds(
            lambda cut, flips, gz: Case(
                "cut and bit-flipped", (lambda b: gzip.compress(b, mtime=0) if gz else b)(mutate(seed, cut, flips))
            ),
            CUTS,
            FLIPS,
            st.booleans(),
        ),
        "random bytes": _random_bytes(max_size=2048),
        "deep nesting": st.builds(lambda depth: Case("deep nesting", nested_document(which, depth)), DEPTHS),
        "entity expansion": st.builds(
            lambda kind, depth: Case("entity expansion", entity_document(which, kind, depth)),
            st.sampled_from(["laughs", "external"]),
            st.integers(1, 12),
        ),
    }


@cache
def _spider() -> PresstvSpider:
    """The project's spider on one made-up mirror, not started: its discovery callbacks are the parsers."""
    values = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
    values["CRAWLER_STORE"] = ""
    crawler = get_crawler(PresstvSpider, values)
    spider = PresstvSpider.from_crawler(crawler, mirrors="http://m1.test")
    crawler.spider = spider
    return spider


def parse_discovery(body: bytes, which: str) -> list[Request]:
    """The requests the spider's feed or sitemap callback makes of `body`."""
    spider = _spider()
    url = "http://m1.test/rss.xml" if which == "feed" else "http://m1.test/sitemap.xml"
    response = XmlResponse(url, body=body, request=Request(url))
    parse = spider.parse_feed if which == "feed" else spider.parse_sitemap
    out = list(parse(response))
    assert all(isinstance(r, Request) for r in out)
    # A link comes from the document, never from an entity expanded or a file read on its behalf.
    assert all("root:" not in r.url and "lollol" not in r.url for r in out), [r.url for r in out]
    return out


def _run_discovery(which: str) -> Callable[[Case], str]:
    return lambda case: "links" if parse_discovery(case.data, which) else "no links"


# ---- archives -----------------------------------------------------------------------------------------------------


def warc_file(gz: bool = True, records: int = 3) -> bytes:
    """A WARC/1.1 file of `records` HTML responses with fixed ids and dates: the same bytes every time, so a failing
    input replays."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz, warc_version="1.1")
    for i in range(records):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
        writer.write_record(
            writer.create_warc_record(
                f"https://www.presstv.ir/Detail/2026/08/15/77441{i}/X",
                "response",
                payload=io.BytesIO(b"<html><body><p>text</p></body></html>" * 20),
                http_headers=http,
                warc_headers_dict={
                    "WARC-Record-ID": f"<urn:uuid:00000000-0000-0000-0000-00000000000{i}>",
                    "WARC-Date": "2026-08-15T07:00:00Z",
                },
            )
        )
    return buf.getvalue()


WARC_GZ, WARC_PLAIN, WARC_RECORD = warc_file(), warc_file(gz=False), warc_file(records=1)

WARC_FAMILIES: dict[str, SearchStrategy[Case]] = {
    "cut and bit-flipped, junk after": st.builds(
        lambda data, cut, flips, junk: Case("cut and bit-flipped, junk after", mutate(data, cut, flips) + junk),
        st.sampled_from([WARC_GZ, WARC_PLAIN]),
        CUTS,
        FLIPS,
        JUNK,
    ),
    "random bytes": _random_bytes(max_size=2048),
}


def read_warc(data: bytes) -> list[WarcPage | WarcSkip]:
    """What the WARC reader makes of a file holding `data`."""
    with tempfile.NamedTemporaryFile(suffix=".warc") as file:
        file.write(data)
        file.flush()
        out = [o for o in read_pages([Path(file.name)], lambda url: True) if not isinstance(o, WarcWarning)]
    assert all(isinstance(o, WarcPage | WarcSkip) for o in out) and all(o.offset >= 0 for o in out)
    # Pages come from the three records there are, never made up of garbage.
    assert len([o for o in out if isinstance(o, WarcPage)]) <= 3
    return out


def _run_warc(case: Case) -> str:
    out = read_warc(case.data)
    return "pages" if any(isinstance(o, WarcPage) for o in out) else "skips only" if out else "nothing"


COMMONCRAWL_FAMILIES: dict[str, SearchStrategy[Case]] = {
    "cut and bit-flipped record, junk after": st.builds(
        lambda data, cut, flips, junk: Case("cut and bit-flipped record, junk after", mutate(data, cut, flips) + junk),
        st.sampled_from([WARC_RECORD, gzip.decompress(WARC_RECORD)]),
        CUTS,
        FLIPS,
        JUNK,
    ),
    "random bytes": _random_bytes(max_size=2048),
    "gzip of garbage": st.builds(
        lambda head, junk: Case("gzip of garbage", gzip.compress(head + junk, mtime=0)),
        st.sampled_from([b"", b"WARC/1.1\r\n", b"WARC/1.0\r\nWARC-Type: response\r\n"]),
        st.binary(max_size=512),
    ),
}


def _one_line_error(exc: Exception) -> None:
    message = str(exc)
    assert message and "\n" not in message and len(message) < 300, message


def _run_commoncrawl(case: Case) -> str:
    try:
        page = read_record(case.data)
    except CommonCrawlError as exc:
        _one_line_error(exc)
        return "error"
    assert isinstance(page, CapturedPage) and isinstance(page.body, bytes)
    return "page"


CDX_ANSWER = json.dumps(
    [
        ["original", "timestamp", "statuscode", "mimetype", "digest"],
        ["https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN", "20260815070000", "200", "text/html", "AB"],
        ["http://www.presstv.com/detail/222208.html", "20120101000000", "301", "text/html", "CD"],
        [],
        ["resume-key-1"],
    ]
).encode()
_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
_JSON = st.recursive(
    _JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=10), inner, max_size=6),
    max_leaves=40,
)

CDX_FAMILIES: dict[str, SearchStrategy[Case]] = {
    "cut and bit-flipped answer": _cut_and_flipped("cut and bit-flipped answer", st.just(CDX_ANSWER)),
    "random text": st.builds(lambda text: Case("random text", text.encode("utf-8")), st.text(max_size=1024)),
    "random JSON": st.builds(
        lambda value: Case("random JSON", json.dumps(value).encode()),
        _JSON | st.lists(st.lists(_JSON_SCALARS, max_size=6), max_size=8),
    ),
    "deep nesting": st.builds(lambda depth: Case("deep nesting", b"[" * depth + b"]" * depth), DEPTHS),
    "long numbers": st.builds(
        lambda digits: Case("long numbers", b'[["original","timestamp"],["u",' + b"7" * digits + b"]]"),
        st.integers(1, 20_000),
    ),
}


def _run_cdx(case: Case) -> str:
    try:
        captures, resume = parse_cdx_json(case.data.decode("utf-8", "replace"))
    except CdxError as exc:
        _one_line_error(exc)
        return "error"
    assert all(isinstance(c, Capture) and isinstance(c.original, str) for c in captures)
    assert resume is None or isinstance(resume, str)
    return "captures" if captures else "none"


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("extract", EXTRACT_FAMILIES, run_extract),
        Target("feed", _xml_families("feed"), _run_discovery("feed")),
        Target("sitemap", _xml_families("sitemap"), _run_discovery("sitemap")),
        Target("warc", WARC_FAMILIES, _run_warc),
        Target("commoncrawl", COMMONCRAWL_FAMILIES, _run_commoncrawl),
        Target("cdx", CDX_FAMILIES, _run_cdx),
    )
}
"""Every target, by name."""
