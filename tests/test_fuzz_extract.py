"""Hostile input to the extraction API: every input ends in an Article or a one-line NotAnArticle, never a crash.

Property-based (Hypothesis): random bytes, saved fixture pages cut short and bit-flipped, random encoding
declarations, gzip headers on garbage, huge attributes and deep nesting. Outlet pages go through the profile's
layout rules and the layout-independent cues; unknown hosts through the generic path.
"""

from __future__ import annotations

import gzip

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.extract import Article, NotAnArticle, extract_full
from crawler.fixturecheck import load_fixtures

PAGES = [fx.page.read_bytes() for fx in load_fixtures() if fx.kind == "articles"]
URLS = [
    "https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN",
    "http://www.presstv.com/detail/222208.html",
    "https://example.org/news/2026/story.html",  # no profile: the generic path
]
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(data: bytes | str, url: str) -> str:
    """"article" or "refused", asserting the contract of each; any other exception fails the test."""
    try:
        result = extract_full(data, url)
    except NotAnArticle as exc:
        assert exc.reason and "\n" not in exc.reason and len(exc.reason) < 300
        return "refused"
    art = result.article
    assert isinstance(art, Article) and art.title and art.body.strip()
    assert art.word_count == len(art.body.split())
    assert result.layout == art.layout
    assert all(isinstance(lines, list) for lines in result.removed.values())
    return "article"


@FUZZ
@given(data=st.binary(max_size=4096), url=st.sampled_from(URLS))
def test_random_bytes(data: bytes, url: str) -> None:
    _outcome(data, url)


@FUZZ
@given(page=st.sampled_from(PAGES), cut=st.floats(0.0, 1.0), flips=st.lists(st.integers(0, 10**9), max_size=12),
       url=st.sampled_from(URLS))
def test_fixture_pages_cut_short_and_bit_flipped(page: bytes, cut: float, flips: list[int], url: str) -> None:
    data = bytearray(page[: int(len(page) * cut)])
    for f in flips:
        if data:
            data[f % len(data)] ^= 1 << (f % 8)
    _outcome(bytes(data), url)


@FUZZ
@given(page=st.sampled_from(PAGES), charset=st.sampled_from(
    ["utf-8", "UTF-16", "utf-32", "iso-8859-1", "windows-1256", "koi8-r", "shift_jis", "gb18030", "x-unknown",
     "utf-7", "", "\x00", "utf-8\"><script>"]))
def test_every_encoding_declaration(page: bytes, charset: str) -> None:
    head = f'<meta charset="{charset}"><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
    data = page.replace(b"<head>", b"<head>" + head.encode("utf-8", "surrogatepass"), 1)
    _outcome(data, URLS[0])


@FUZZ
@given(page=st.sampled_from(PAGES), cut=st.integers(0, 400), junk=st.binary(max_size=64))
def test_mixed_up_gzip(page: bytes, cut: int, junk: bytes) -> None:
    packed = gzip.compress(page)
    _outcome(packed[: max(10, len(packed) - cut)] + junk, URLS[0])  # truncated stream, trailing junk
    _outcome(b"\x1f\x8b\x08\x00" + junk, URLS[0])  # a gzip header on garbage


@FUZZ
@given(size=st.integers(1, 2_000_000), where=st.sampled_from(["class", "href", "data-x", "style"]))
def test_huge_attributes(size: int, where: str) -> None:
    body = "<p>" + "Tehran said on Saturday that the talks would resume next week in Geneva. " * 5 + "</p>"
    html = f'<html><body><h1 {where}="{"x" * size}">Iran and the powers resume talks</h1>{body * 4}</body></html>'
    _outcome(html, URLS[0])


def test_deep_nesting_of_100000_levels() -> None:
    depth = 100_000
    para = "<p>" + "The minister said the measures amounted to economic warfare on ordinary people. " * 4 + "</p>"
    for tag in ("div", "span", "table"):
        html = f"<html><body><h1>Iran urges UN action now</h1>{f'<{tag}>' * depth}{para * 3}{f'</{tag}>' * depth}"
        assert _outcome(html, URLS[0]) in ("article", "refused")
        assert _outcome(html, URLS[2]) in ("article", "refused")
