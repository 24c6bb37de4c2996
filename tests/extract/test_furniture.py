"""Furniture known by what it is, in markup nobody here wrote: share widgets, story cards, the alternate-address
note, and sections that never come from a menu."""

from __future__ import annotations

import re

import lxml.html
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.core.items import normalise_text
from crawler.extract import Extraction, extract_full
from crawler.extract.furniture import is_hidden
from crawler.extract.needles import may_match, may_match_one, may_match_utf8, needles_of
from crawler.extract.tree import found_in, xml_text
from crawler.outlet import load_outlet

URL = "https://www.presstv.ir/Detail/2018/10/07/575918/Kim-Pompeo-second-summit"
OTHER = "https://www.presstv.ir/Detail/2019/01/23/586614/Russia-warns-US"
TITLE = "Kim, Pompeo to arrange second US-North Korea summit"
BODY = [
    "North Korean leader Kim Jong-un agrees to hold a second summit with US President Donald Trump as soon as "
    "possible, few months after the two leaders met in Singapore.",
    "US Secretary of State Mike Pompeo held talks with the North Korean leader for nearly two hours on Sunday "
    "morning followed by a lunch in the North's capital, before flying to Seoul.",
    "According to a statement by South Korea's presidential office, Pompeo said he agreed with Chairman Kim to "
    "hold the second summit at the earliest date possible.",
    "It added that Pompeo and Kim also exchanged views about denuclearization steps that will be taken by North "
    "Korea and corresponding measures to be taken by Washington.",
]


def _page(middle: str = "", below: str = "", above: str = "", head: str = "") -> str:
    # Class names of another site's theme: nothing the profile's layout rules name.
    paras = [f'<p class="rte-text">{p}</p>' for p in BODY]
    body = "".join(paras[:2]) + middle + "".join(paras[2:])
    return (
        f"<html><head><title>PressTV-{TITLE}</title>{head}</head><body>"
        '<div class="site-shell"><div class="hdr-x">'
        '<ul class="mnu"><li><a href="/">Home</a></li><li><a href="/Default/Section/101">Iran</a></li>'
        '<li><a href="/Default/Section/102">Middle East</a></li><li><a href="/Default/Section/103">US</a></li>'
        '<li><a href="/Default/Section/108">UK</a></li><li><a href="/Default/Section/150">Programs</a></li></ul>'
        f'</div><div class="post-wrap"><h1 class="ttl-9">{TITLE}</h1>{above}'
        f'<div class="entry-kk">{body}</div>{below}</div></div></body></html>'
    )


def _extract(html: str) -> Extraction:
    result = extract_full(html, URL)
    assert result.layout == "unknown"
    return result


def test_share_bar_on_one_line_leaves_with_its_label_and_service_names() -> None:
    bar = (
        '<div class="xo-17"><strong>SHARE THIS ARTICLE</strong> '
        '<a href="https://www.facebook.com/sharer/sharer.php?u=x">Facebook</a> '
        '<a href="https://twitter.com/intent/tweet?url=x">Twitter</a> '
        '<a href="https://plus.google.com/share?url=x">Google+</a></div>'
    )
    result = _extract(_page(above=bar, below=bar))
    assert result.article.body == "\n\n".join(BODY)
    assert "SHARE THIS ARTICLE Facebook Twitter Google+" in result.removed["share"]


def test_icon_only_share_links_and_a_label_on_its_own_line_leave() -> None:
    bar = (
        '<div class="w1"><div class="w2"><span>Share this article</span></div><ul class="icons">'
        '<li><a href="https://x.com/intent/post?u=x"><i class="i-x"></i></a></li>'
        '<li><a href="https://t.me/share/url?url=x"><svg></svg></a></li>'
        '<li><a href="https://www.linkedin.com/shareArticle?url=x"><img src="/in.png" alt="in"></a></li>'
        '<li><a href="whatsapp://send?text=x"></a></li><li><a href="mailto:?subject=Kim">Email</a></li>'
        "</ul></div>"
    )
    art = _extract(_page(below=bar)).article
    assert art.body == "\n\n".join(BODY)


@pytest.mark.parametrize(
    "href",
    [
        "https://www.facebook.com/sharer/sharer.php?u=x",
        "https://twitter.com/intent/tweet",
        "https://x.com/intent/post",
        "https://plus.google.com/share?url=x",
        "https://www.linkedin.com/shareArticle?mini=true",
        "https://t.me/share/url",
        "https://telegram.me/share/url?url=x",
        "https://api.whatsapp.com/send?text=x",
        "https://wa.me/?text=x",
        "https://www.reddit.com/submit?url=x",
        "mailto:?subject=Kim",
    ],
)
def test_share_endpoints_are_profile_data(href: str) -> None:
    assert load_outlet().share_link_regex.search(href)


def test_plain_links_to_those_sites_are_not_share_links() -> None:
    rx = load_outlet().share_link_regex
    assert not rx.search("https://twitter.com/SecPompeo/status/1")
    assert not rx.search("https://www.facebook.com/presstv")
    assert not rx.search("mailto:desk@presstv.ir")


@pytest.mark.parametrize(
    "text",
    [
        "HTTPS://WWW.LINKEDIN.COM/SHAREARTICLE?mini=true",
        "https://www.LinkedIn.com/shareArticle?mini=true",
        "MAILTO:?SUBJECT=Kim",
        "Press TV's website CAN ALSO BE ACCESSED AT THE FOLLOWING ALTERNATE ADDRESSES:",
        "It can alſo be accessed at the following alternate addresses",  # a long s: found case-blind
        "İnstall the new version of PressTv application",  # lower-casing makes two letters of the capital İ
        "Sorry, the video player failed to load. (ERROR CODE: 100013)",
        "Nothing of the kind here: share, accessed, install",
        "Follow us (@PRESSTVFR) and ILHAN OMAR (D-MN) (L) TALKS WITH SPEAKER OF THE HOUSE NANCY PELOSI",
        "Press TVx all rights reserved",  # the phrase's dot is a dot, not any character
    ],
)
def test_case_blind_furniture_searches_find_what_the_profile_patterns_find(text: str) -> None:
    """The fast searches (lower-cased text) find the share links, the alternate-address note and the guard's
    phrases in any letter case, exactly where the profile's case-blind patterns do."""
    outlet = load_outlet()
    for pattern in (outlet.share_link_regex, outlet.alternate_address_regex, outlet.contains_phrase_regex):
        assert pattern is not None
        assert found_in(pattern, text) == bool(pattern.search(text)), (pattern.pattern[:40], text)


def _profile_patterns() -> list[re.Pattern[str]]:
    outlet = load_outlet()
    found = [
        outlet.share_link_regex,
        outlet.alternate_address_regex,
        outlet.read_more_regex,
        outlet.share_line_regex,
        outlet.host_line_regex,
        *outlet.mirror_host_patterns,
        *(pattern for _, pattern in outlet.article_patterns),
    ]
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.integers(min_value=0, max_value=len(_profile_patterns()) - 1))
def test_the_quick_needle_test_never_passes_over_text_a_profile_pattern_matches(
    which: int, data: st.DataObject
) -> None:
    """Furniture is looked for only where a needle of the pattern (a piece of literal text every match holds)
    is found: any text the pattern matches, in any letter case or with letters a case-blind pattern folds
    (a long s, a Kelvin sign), holds its needles, so no share link, card or note is passed over."""
    pattern = _profile_patterns()[which]
    text = data.draw(st.from_regex(pattern))
    folded = data.draw(st.sampled_from([text, text.replace("s", "\u017f"), text.replace("k", "\u212a")]))
    assert needles_of(pattern) is not None  # the profile's patterns are all read
    for sample in (text, text.upper(), folded):
        if pattern.search(sample):
            assert may_match(needles_of(pattern), [sample]), (pattern.pattern[:40], sample)
            assert may_match_utf8(needles_of(pattern), sample.encode()), (pattern.pattern[:40], sample)
            assert may_match_one(pattern, sample), (pattern.pattern[:40], sample)


def test_the_needle_test_tells_text_without_the_pattern_apart() -> None:
    """The needles are pieces of the pattern's own literal text: a page without them is passed over at once."""
    outlet = load_outlet()
    needles = needles_of(outlet.share_link_regex)
    assert not may_match(needles, ["https://twitter.com/SecPompeo/status/1", "https://www.facebook.com/presstv"])
    assert may_match(needles, ["/Detail/2019/01/23/586614/x", "https://twitter.com/intent/tweet?url=x"])
    note = needles_of(outlet.alternate_address_regex)
    assert not may_match_utf8(note, "Press TV’s website can also be read at home".encode())
    assert may_match_utf8(note, "Press TV’s website CAN ALSO BE ACCESSED AT THE FOLLOWING ALTERNATE ADDRESS".encode())


@pytest.mark.parametrize("link_text", ["Russia warns US against military intervention in Venezuela", OTHER])
def test_read_more_card_nested_in_wrappers_leaves_whole(link_text: str) -> None:
    card = (
        '<p class="rte-text">Read more:</p>'
        f'<div class="c1"><div class="c2"><div class="c3"><a class="nx" href="{OTHER}">{link_text}</a>'
        '<p class="tz">Russia warns the US against any military intervention in Venezuela.</p></div></div></div>'
    )
    result = _extract(_page(middle=card))
    assert result.article.body == "\n\n".join(BODY)
    assert result.removed["story-card"]


def test_card_with_its_label_inside_and_a_relative_link() -> None:
    card = (
        '<div class="rel"><div><strong>Read more:</strong> '
        '<a href="/Detail/2019/01/23/586614/Russia-warns-US">Russia warns US against military intervention</a>'
        "</div></div>"
    )
    assert _extract(_page(middle=card)).article.body == "\n\n".join(BODY)


def test_french_lire_aussi_card_leaves() -> None:
    card = (
        '<div class="bx"><span>Lire aussi :</span><div><a href="https://french.presstv.ir/Detail/2026/10/02/'
        '774900/Iran-Irak-gaz">L’Iran et l’Irak signent un accord sur le gaz</a></div></div>'
    )
    assert _extract(_page(middle=card)).article.body == "\n\n".join(BODY)


def test_malformed_links_are_no_story_card_and_no_crash() -> None:
    # An unclosed IPv6 bracket makes urljoin raise: such a link (in a card, a share bar, the canonical link or the
    # page's image) is no link to another article, and the page is still read.
    bad = "http://[2019/01/23/586614/Russia-warns-US"
    card = f'<p class="rte-text">Read more:</p><div class="c1"><a href="{bad}">Russia warns US</a></div>'
    share = f'<div class="xo"><a href="{bad}">Facebook</a> <a href="//[::1/x">Twitter</a></div>'
    head = f'<link rel="canonical" href="{bad}"><meta property="og:image" content="http://[img/a.jpg">'
    html = _page(middle=card, below=share, head=head)
    art = _extract(html).article
    assert art.title == TITLE and art.body.startswith(BODY[0]) and art.body.endswith(BODY[-1])
    assert art.image_url is None
    generic = extract_full(html, "https://example.com/news/kim-pompeo").article
    assert generic.body.startswith(BODY[0]) and generic.body.endswith(BODY[-1])


@pytest.mark.parametrize("reference", ["&#27;", "&#x1f;", "&#11;", "&#1;"])
def test_a_character_reference_lxml_refuses_beside_removed_furniture_is_no_crash(reference: str) -> None:
    # The parser turns the reference into a control character; joining the tail of a removed share bar to the
    # text before it once raised ValueError (lxml refuses to set such text).
    bar = (
        '<div class="xo">Filed <span><a href="https://www.facebook.com/sharer/sharer.php?u=x">Facebook</a></span>'
        f"{reference}under Asia</div>"
    )
    html = _page(below=bar)
    art = _extract(html).article
    assert art.title == TITLE and art.body.startswith(BODY[0])
    assert not any(ord(c) < 32 and c not in "\n" for c in art.body)
    generic = extract_full(html, "https://example.com/news/kim-pompeo").article
    assert generic.body.startswith(BODY[0])


def test_a_drop_cap_and_words_split_by_inline_tags_read_as_the_page_shows_them() -> None:
    # A drop cap (<span>T</span>he) and a word split over tags are one word on the page: not "T he".
    para = (
        '<p class="rte-text"><span class="dropcap">T</span>he talks in Pyongyang were <b>un</b>usually long, '
        '(<a href="https://www.reuters.com/">Reuters</a>) reported, and both sides said they would meet again.</p>'
    )
    for url in (URL, "https://example.com/news/kim-pompeo"):
        body = extract_full(_page(middle=para), url).article.body
        assert "The talks in Pyongyang were unusually long, (Reuters) reported" in body, body


def test_a_link_to_another_article_inside_a_sentence_stays() -> None:
    sentence = (
        f'<p class="rte-text">Pompeo said the <a href="{OTHER}">talks in Pyongyang</a> went well and that '
        "both sides would meet again soon.</p>"
    )
    art = _extract(_page(middle=sentence)).article
    assert "Pompeo said the talks in Pyongyang went well" in art.body


def test_alternate_address_note_and_its_host_links_leave() -> None:
    note = (
        '<div class="ft"><p>Press TV’s website can also be accessed at the following alternate addresses:</p>'
        '<ul class="lnk"><li><a href="https://www.presstv.co.uk">www.presstv.co.uk</a></li>'
        '<li><a href="https://www.presstv.tv/">www.presstv.tv</a></li></ul></div>'
    )
    result = _extract(_page(below=note))
    assert result.article.body == "\n\n".join(BODY)
    gone = " ".join(result.removed["alternate-address"])
    assert "alternate addresses" in gone and "www.presstv.co.uk" in gone and "www.presstv.tv" in gone


def test_a_top_menu_never_names_the_section() -> None:
    # The menu's last item ("Programs") was once taken for the section: with no breadcrumb, no section.
    assert _extract(_page()).article.section is None


def test_a_breadcrumb_beside_the_headline_names_the_section() -> None:
    crumb = '<ol class="path"><li><a href="/">Home</a></li><li><a href="/Default/Section/102">Middle East</a></li></ol>'
    html = _page().replace(f'<h1 class="ttl-9">{TITLE}</h1>', f'{crumb}<h1 class="ttl-9">{TITLE}</h1>')
    assert _extract(html).article.section == "Middle East"


def test_structured_data_names_the_section_when_no_breadcrumb_does() -> None:
    jsonld = '<script type="application/ld+json">{"@type": "NewsArticle", "articleSection": "Asia-Pacific"}</script>'
    assert _extract(_page(head=jsonld)).article.section == "Asia-Pacific"


HIDDEN_TEXT = (
    "The fact of registration and authorization of users on the websites via their accounts on social "
    "networks indicates acceptance of these rules, which every user is obliged to abide by at all times, "
    "and the administration has the right to delete comments in other languages without notice. "
)


@pytest.mark.parametrize("hidden_by", ['style="display: none"', 'aria-hidden="true"', 'class="rules hide"'])
def test_text_the_page_hides_is_not_read_as_the_body(hidden_by: str) -> None:
    # A closed dialog or a copy kept for another screen: more prose than the article, but never shown.
    rules = "".join(f"<p>{HIDDEN_TEXT}</p>" for _ in range(20))
    hidden = f'<div {hidden_by}><div class="scrollpane">{rules}</div></div>'
    result = _extract(_page(below=hidden))
    assert result.article.body == "\n\n".join(BODY)


def test_a_style_sheet_inside_a_link_does_not_count_as_link_text() -> None:
    css = "".join(f".u{i:04x} {{ padding: 0px; margin: 0; text-decoration: none; }} " for i in range(60))
    inline = f'<a class="irp" href="https://example.org/guide"><style>{css}</style><span>A guide</span></a>'
    result = _extract(_page(middle=inline))
    assert result.article.body.startswith(BODY[0])
    assert ".u0001" not in result.article.body


def test_a_closed_dialog_is_not_read_as_the_body() -> None:
    # HTML shows a <dialog> only once it is open: the community rules a script opens on demand are never the article.
    rules = "".join(f"<p>{HIDDEN_TEXT}</p>" for _ in range(20))
    result = _extract(_page(below=f'<dialog class="rules-box"><div class="scrollpane">{rules}</div></dialog>'))
    assert result.article.body == "\n\n".join(BODY)
    opened = lxml.html.fragment_fromstring(f"<dialog open><p>{HIDDEN_TEXT}</p></dialog>")
    assert not is_hidden(opened), "an open dialog is shown, and read like any block"


@given(st.text(alphabet=st.sampled_from("ab \t\n\x00\x01\x0b\x0c\x1b\x1c\x1f\x7f\x85\xa0é\ufffe"), max_size=40))
def test_text_made_acceptable_to_lxml_normalises_as_before(text: str) -> None:
    safe = xml_text(text)
    lxml.html.fromstring("<p>x</p>").text = safe  # lxml takes it
    assert normalise_text(safe) == normalise_text(text.replace("\ufffe", ""))
