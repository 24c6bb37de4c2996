"""The pure extraction API: Press TV rules, generic fallback, and bad input answered with NotAnArticle."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.extract import NotAnArticle, extract, extract_full

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "crawler/testing/fixtures/presstv/articles/2018-10-07_kim-pompeo-second-summit/page.html"
URL = "https://www.presstv.co.uk/Detail/2026/08/15/774416/Iran-urges-UN"

PARAS = [
    "Speaking in Tehran on Saturday, the minister said that the sanctions imposed by Washington amounted to "
    "economic warfare against ordinary Iranians and violated international law.",
    "He added that the Security Council had a duty to respond to what he called the collective punishment of "
    "a whole nation, and urged member states to resist American pressure.",
    "The remarks came a day after new measures targeting Iranian shipping companies were announced by the US "
    "Treasury Department in Washington.",
]


def page(
    body: str, *, head: str = "", time: bool = True, charset: str = "utf-8", title: str = "Iran urges UN action"
) -> str:
    """A current-layout page around the given body-container HTML."""
    stamp = '<time class="news-modifydate-container" datetime="Saturday, 15 August 2026 10:30 AM"></time>'
    when = stamp if time else ""
    return (
        f'<html lang="en"><head><meta charset="{charset}"><title>{title} - PressTV</title>{head}</head><body>'
        '<div class="body-content details-page"><div class="row"><div class="col-md-9">'
        '<div class="news-section-container"><a href="/">News</a> / <a href="/Section/10101">Politics</a></div>'
        f'<h1 class="news-title-container">{title}</h1>{when}'
        '<div class="news-detail"><div class="news-summery-container">The minister called on the UN to act.</div>'
        f'<div class="news-body-container">{body}</div></div></div></div></div></body></html>'
    )


def paras(items: list[str] = PARAS) -> str:
    return "".join(f"<p>{p}</p>" for p in items)


def test_current_layout_fields() -> None:
    art = extract(page(paras()), URL)
    assert art.article_id == "774416"
    assert art.url == "https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN"
    assert art.mirror == "www.presstv.co.uk" and art.source_url == URL
    assert art.title == "Iran urges UN action"
    assert art.lead == "The minister called on the UN to act."
    assert art.body == "\n\n".join(PARAS)
    assert art.published == "2026-08-15T10:30:00+03:30"
    assert art.section == "Politics"
    assert art.word_count == len(art.body.split()) and len(art.content_hash) == 64


def test_read_more_label_and_its_links_go_but_the_next_paragraph_stays() -> None:
    body = (
        f"<p>{PARAS[0]}</p><p><strong>Read more:</strong></p>"
        '<ul><li><a href="/Detail/2026/08/14/774300/X">Iran rejects US claims</a></li></ul>'
        '<div data-oembed-url="https://www.presstv.ir/Detail/2026/08/10/774000/X"><a href="/x">Card title</a></div>'
        f"<p>{PARAS[1]}</p><b>Read more:</b><br><a href='/Detail/1/2/3/4444/x'>Another story</a><br><br>{PARAS[2]}"
    )
    art = extract(page(body), URL)
    assert art.body == "\n\n".join(PARAS)


def test_byline_pair_in_body_becomes_authors() -> None:
    art = extract(page("<p><strong>Ali Musavi</strong></p><p>Press TV, Tehran</p>" + paras()), URL)
    assert art.authors == ["Ali Musavi"]
    assert "Press TV, Tehran" not in art.body and "Ali Musavi" not in art.body


def test_guard_removes_and_counts_furniture_that_slipped_past_pruning() -> None:
    # Lines only the profile's phrase list knows (no structure gives them away) reach the last guard.
    body = paras() + (
        "<p>Press TV News Roku</p><p>Install the new version of PressTv application</p>"
        "<p>Sorry, the video player failed to load.(Error Code: 100013)</p>"
    )
    ext = extract_full(page(body), URL)
    assert ext.article.body == "\n\n".join(PARAS)
    assert len(ext.guard_removed) == 3 and ext.layout == "current"


def test_share_label_and_alternate_addresses_in_the_body_region_are_known_by_what_they_are() -> None:
    body = paras() + (
        "<p>SHARE THIS ARTICLE</p>"
        "<p>Press TV’s website can also be accessed at the following alternate addresses:</p><p>www.presstv.co.uk</p>"
    )
    ext = extract_full(page(body), URL)
    assert ext.article.body == "\n\n".join(PARAS)
    assert ext.removed["share"] == ["SHARE THIS ARTICLE"]
    assert ext.removed["alternate-address"] == [
        "www.presstv.co.uk",
        "Press TV’s website can also be accessed at the following alternate addresses:",
    ]
    assert "prune" in ext.layout_misses  # furniture reached the layout's body region: a drift signal


def test_date_falls_back_to_meta_then_to_the_url() -> None:
    meta = "<meta name='DC.Date.Created'  content='3/9/2026 11:50:13 AM'/>"
    assert extract(page(paras(), head=meta, time=False), URL).published == "2026-03-09T11:50:13+03:30"
    assert extract(page(paras(), time=False), URL).published == "2026-08-15T00:00:00+03:30"


def test_tehran_summer_time_before_2023() -> None:
    url = "https://www.presstv.ir/Detail/2022/06/15/684675/X"
    html = page(paras()).replace("Saturday, 15 August 2026", "Wednesday, 15 June 2022")
    assert extract(html, url).published == "2022-06-15T10:30:00+04:30"


def test_headline_index_and_short_pages_are_refused() -> None:
    links = "".join(
        f'<li><a href="/Detail/2026/08/15/7744{i}/X">Headline number {i} of the day in the news</a></li>'
        for i in range(10)
    )
    with pytest.raises(NotAnArticle, match="headline index"):
        extract(page(f"<ul>{links}</ul>"), URL)
    with pytest.raises(NotAnArticle, match="too little text"):
        extract(page("<p>Only a few words here.</p>"), URL)


def test_notice_phrase_inside_a_real_article_does_not_refuse_it() -> None:
    body = paras([*PARAS, "Officials said access denied to inspectors was a page not found in any treaty."])
    assert extract(page(body), URL).title == "Iran urges UN action"


def test_unknown_layout_on_outlet_host_falls_back_to_generic_with_outlet_identity() -> None:
    html = (
        "<html><head><title>Iran urges UN action - PressTV</title></head>"
        f"<body><article>{paras()}<p>SHARE THIS ARTICLE</p></article></body></html>"
    )
    ext = extract_full(html, URL)
    assert ext.layout == "unknown"
    assert ext.article.article_id == "774416" and "SHARE THIS ARTICLE" not in ext.article.body
    assert ext.article.published == "2026-08-15T00:00:00+03:30"


def test_unknown_host_gets_generic_extraction() -> None:
    html = (
        "<html><head><title>Story - Example</title>"
        "<meta property='article:published_time' content='2024-05-01T08:00:00Z'>"
        f"</head><body><nav><ul><li><a href='/a'>Home</a></li><li><a href='/b'>World</a></li></ul></nav>"
        f"<article><h1>Story</h1>{paras()}</article></body></html>"
    )
    art = extract(html, "https://news.example.org/2024/story")
    assert art.article_id == "" and art.url == "https://news.example.org/2024/story"
    assert art.published == "2024-05-01T08:00:00+00:00"
    assert PARAS[0] in art.body and "Home" not in art.body


@pytest.mark.parametrize(
    ("declared", "encoding"),
    [("windows-1252", "utf-8"), ("utf-8", "windows-1252"), ("iso-8859-1", "utf-8")],
)
def test_wrong_encoding_declaration_gives_no_mojibake(declared: str, encoding: str) -> None:
    text = [*PARAS, "Le café “Zürich” à Téhéran – naïve résumé, 15 €."]
    html = page(paras(text), charset=declared).encode(encoding)
    body = extract(html, URL).body
    assert "Le café “Zürich” à Téhéran – naïve résumé, 15 €." in body
    assert "Ã" not in body and "â€" not in body and "\ufffd" not in body


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty page"),
        (b"   \n\t ", "empty page"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "binary"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n" * 40, "binary"),
        ("", "empty page"),
    ],
)
def test_bad_bodies_are_not_articles(data: bytes | str, reason: str) -> None:
    with pytest.raises(NotAnArticle, match=reason):
        extract(data, URL)


def test_huge_page_is_refused_by_size() -> None:
    big = page(paras()).replace("</body>", "<p>" + "x" * (20 * 1024 * 1024) + "</p></body>")
    with pytest.raises(NotAnArticle, match="too large"):
        extract(big, URL)
    with pytest.raises(NotAnArticle, match="too large"):
        extract(big.encode(), URL)


def test_gzip_body_is_inflated_and_a_bomb_refused() -> None:
    assert extract(gzip.compress(page(paras()).encode()), URL).body == "\n\n".join(PARAS)
    with pytest.raises(NotAnArticle, match="too large"):
        extract(gzip.compress(b"<p>" + b"a" * (40 * 1024 * 1024)), URL)


def test_seed_page_drops_every_seed_furniture_line() -> None:
    art = extract(SEED.read_bytes(), "https://www.presstv.co.uk/Detail/2018/10/07/575918/Kim")
    for furniture in (
        "News",
        "Koreas",
        "Editor's Choice",
        "(Photo by AFP)",
        "Read more",
        "alternate addresses",
        "www.presstv.co.uk",
        "SHARE THIS ARTICLE",
        "Roku",
    ):
        assert furniture not in art.body
    assert art.lead.startswith("North Korean leader Kim Jong-un agrees")
    assert art.section == "Koreas" and art.image_caption and art.image_caption.endswith("(Photo by AFP)")


def test_extraction_api_never_imports_scrapy() -> None:
    code = (
        "import sys, crawler.extract as e; e.extract(open(sys.argv[1],'rb').read(), sys.argv[2]);"
        "print('scrapy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(SEED), URL], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_caption_left_in_the_body_becomes_the_image_caption() -> None:
    body = (
        '<p><img src="/Photo/2026/8/15/x.jpg"></p>'
        "<p><em>The minister in Tehran. (File photo by Fars News Agency)</em></p>"
    )
    art = extract(page(body + paras()), URL)
    assert art.body == "\n\n".join(PARAS)
    assert art.image_caption == "The minister in Tehran. (File photo by Fars News Agency)"
    assert art.image_url == "https://www.presstv.ir/Photo/2026/8/15/x.jpg"


def test_read_more_label_with_its_link_on_the_same_line_goes() -> None:
    body = (
        f"<p>{PARAS[0]}</p><p>Read more: <a href='/Detail/2026/08/14/774300/X'>Iran rejects US claims</a></p>"
        f"<p>{PARAS[1]}</p><p>{PARAS[2]}</p>"
    )
    assert extract(page(body), URL).body == "\n\n".join(PARAS)


@pytest.mark.parametrize(
    ("data", "outcome"),
    [
        (b"<html><body>" + b"<div>" * 5000 + b"<p>deep</p>" + b"</div>" * 5000 + b"</body></html>", "refused"),
        (
            b"<html><body><div class='body-content details-page'><h1 class='news-title-container'>T<p>"
            + b"<p>w " * 300,
            "either",
        ),
        (b"<!-- nothing -->", "refused"),
        (b"<?xml version='1.0'?><rss><channel><item><title>x</title></item></channel></rss>", "refused"),
        (b"<html><frameset><frame src='a'></frameset></html>", "refused"),
        ("<html><body><p>\udcff lone surrogate</p></body></html>", "refused"),
    ],
    ids=["deep-nesting", "unclosed-tags", "comment-only", "xml-feed", "frameset", "lone-surrogate"],
)
def test_malformed_input_is_an_article_or_not_an_article_never_a_crash(data: bytes | str, outcome: str) -> None:
    try:
        article = extract(data, URL)
    except NotAnArticle as exc:
        assert exc.reason and "\n" not in exc.reason, "a refusal gives a one-line reason"
        return
    # Whatever comes back must be what the page holds: none of these but one has an article's worth of text.
    assert outcome == "either", f"extracted an article from a page with no article: {article.title!r}"
    assert article.title == "T"
    assert article.body and set(article.body.split()) == {"w"}, "only the page's words, no markup or noise"


def test_nul_bytes_inside_a_page_do_not_cut_the_text_short() -> None:
    html = page(paras()).encode()
    cut = html.index(PARAS[1][:20].encode())
    art = extract(html[:cut] + b"\x00\x00" + html[cut:], URL)
    assert art.body == "\n\n".join(PARAS)


def _pages_naming_classes() -> list[tuple[str, str]]:
    """(class word, page) for each class word the shipped layouts' detect XPaths test: the word alone in an
    element of each tag the XPaths name, inside a longer class, and written with a character reference."""
    import re

    from crawler.outlet import outlet_for_url

    outlet = outlet_for_url(URL)
    assert outlet is not None
    pages = []
    for layout in outlet.layouts:
        tags = set(re.findall(r"//([a-z][a-z0-9]*)\[", layout.detect)) | {"span"}
        for word in re.findall(r"'\s*([\w-]+)\s*'", layout.detect):
            ref = f"{word[0]}&#{ord(word[1])};{word[2:]}"
            for tag in sorted(tags):
                for cls in (word, f"a {word} b", f"x{word}y", ref):
                    pages.append((word, f'<html><body><{tag} class="{cls}">Text</{tag}><p>More</p></body></html>'))
    return pages


def test_layout_detection_is_the_profiles_xpaths() -> None:
    """A page is given the first layout whose detect XPath matches it, however its class attribute is written
    (a word inside a longer class, a character reference): the quick class-word check never passes over a
    layout its XPath would match."""
    from crawler.extract.core import _detect_layout, parse_html
    from crawler.extract.tree import xp
    from crawler.outlet import outlet_for_url

    outlet = outlet_for_url(URL)
    assert outlet is not None
    detected = set()
    for _word, html in _pages_naming_classes():
        tree = parse_html(html)
        expected = next((layout for layout in outlet.layouts if xp(layout.detect)(tree)), None)
        assert _detect_layout(tree, outlet) is expected, html
        if expected is not None:
            detected.add(expected.name)
    assert detected == {layout.name for layout in outlet.layouts}  # every layout met on some page
