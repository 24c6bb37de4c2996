"""Generic extraction on hand-written pages: split bodies, edge furniture, announced lists, section headings."""

from __future__ import annotations

import pytest

from crawler.extract import NotAnArticle, extract, extract_full

URL = "https://news.example.org/2024/05/01/harbour-reopens"
OUTLET_URL = "https://www.presstv.co.uk/Detail/2026/08/15/774416/Iran-urges-UN"

PARAS = [
    "The harbour reopened on Monday after three weeks of repairs to the breakwater, which storms had "
    "damaged in early April, and the first ferries docked shortly after dawn.",
    "Port officials said that the work had cost less than expected because most of the damaged blocks could "
    "be lifted back into place rather than cast again from scratch.",
    "Fishermen who had moored their boats in the next town said that they were glad to be back, although "
    "several of them complained that the compensation had come late.",
    "The council will decide next month whether to raise the height of the wall, a plan that engineers have "
    "recommended since the last great storm more than a decade ago.",
    "Residents have been invited to a public meeting on the plan, where the engineers will answer questions "
    "about the cost, the timetable and the effect on the beach.",
]


def html_page(body: str, *, title: str = "Harbour reopens after repairs", head: str = "") -> str:
    return (
        f"<html lang='en'><head><title>{title} | Example News</title>{head}</head><body>"
        "<nav><ul><li><a href='/'>Home</a></li><li><a href='/world'>World</a></li></ul></nav>"
        f"<main>{body}</main><footer><p>Example News, 1 Harbour Road.</p></footer></body></html>"
    )


def ps(items: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in items)


def test_an_article_split_over_same_class_containers_is_extracted_whole_and_in_order() -> None:
    body = (
        f"<article><div class='article-body'>{ps(PARAS[:2])}</div>"
        "<div class='ad-slot'><p>Advertisement</p></div>"
        f"<div class='article-body'>{ps(PARAS[2:])}</div></article>"
    )
    art = extract(html_page(body), URL)
    assert art.body == "\n\n".join(PARAS)


def test_a_short_box_sharing_the_body_class_is_not_joined_to_the_article() -> None:
    body = (
        f"<article><div class='article-body'>{ps(PARAS)}</div></article>"
        "<div class='promo'><div class='article-body'><p>Subscribe to our newsletter for the news.</p></div></div>"
    )
    art = extract(html_page(body), URL)
    assert art.body == "\n\n".join(PARAS)


def test_a_trailing_teaser_list_is_dropped_but_a_list_of_prose_stays() -> None:
    teasers = "".join(f"<li><a href='/story/{i}'>Another story number {i}</a> A line about it.</li>" for i in range(4))
    body = f"<article class='article-body'>{ps(PARAS)}<ul>{teasers}</ul></article>"
    art = extract(html_page(body), URL)
    assert art.body == "\n\n".join(PARAS)
    assert "Another story" not in art.body

    prose = (
        f"<li>{PARAS[3]} More in <a href='/plan'>the plan</a>.</li>"
        f"<li>{PARAS[4]} See <a href='/meeting'>the meeting notice</a>.</li>"
    )
    art = extract(html_page(f"<article class='article-body'>{ps(PARAS[:3])}<ul>{prose}</ul></article>"), URL)
    assert "public meeting on the plan" in art.body and "the meeting notice" in art.body


def test_trailing_headings_link_lines_and_one_word_labels_are_dropped() -> None:
    tail = (
        "<p>Follow us on <a href='/fb'>Facebook</a>, <a href='/tw'>Twitter</a> and <a href='/ig'>Instagram</a></p>"
        "<h3>Comments</h3><p>comments</p>"
    )
    art = extract(html_page(f"<article class='article-body'>{ps(PARAS)}{tail}</article>"), URL)
    assert art.body == "\n\n".join(PARAS)


def test_a_short_paragraph_ending_the_article_stays() -> None:
    closing = "The council has not yet set a date."
    art = extract(html_page(f"<article class='article-body'>{ps([*PARAS, closing])}</article>"), URL)
    assert art.body.endswith(closing)


def test_breadcrumbs_and_headline_above_the_article_are_dropped() -> None:
    top = "<p>News &gt;</p><p>Local</p><h1>Harbour reopens after repairs</h1>"
    art = extract(html_page(f"<article class='article-body'>{top}{ps(PARAS)}</article>"), URL)
    assert art.title == "Harbour reopens after repairs"
    assert art.body == "\n\n".join(PARAS)


def test_a_first_paragraph_repeating_the_description_stays_in_the_body_of_a_foreign_page() -> None:
    head = f"<meta name='description' content='{PARAS[0]}'>"
    art = extract(html_page(f"<article class='article-body'>{ps(PARAS)}</article>", head=head), URL)
    assert art.lead == PARAS[0]
    assert art.body.startswith(PARAS[0])


@pytest.mark.parametrize(
    "standfirst",
    [
        "<p class='summary'>{}</p>",  # another class than the paragraphs that follow
        "<h2>{}</h2>",  # another element
        "<div class='intro'><p>{}</p></div>",  # outside the body paragraphs' container
    ],
)
def test_an_outlet_page_in_no_known_layout_keeps_its_guard_and_gives_a_set_apart_standfirst_as_lead(
    standfirst: str,
) -> None:
    lead = "The minister called on the United Nations to act against the sanctions on Iran."
    html = (
        "<html><head><title>Iran urges UN action - PressTV</title>"
        f"<meta name='description' content='{lead}'></head>"
        f"<body><article>{standfirst.format(lead)}<div>{ps(PARAS)}<p>SHARE THIS ARTICLE</p></div></article>"
        "</body></html>"
    )
    ext = extract_full(html, OUTLET_URL)
    assert ext.layout == "unknown" and ext.article.article_id == "774416"
    assert ext.article.lead == lead
    assert ext.article.body == "\n\n".join(PARAS)
    assert ext.article.published == "2026-08-15T00:00:00+03:30"


def _harbour_page(description: str, body: str) -> str:
    """An outlet page in no known layout with the given meta description and body markup."""
    return (
        "<html><head><title>Harbour reopens after repairs - PressTV</title>"
        f"<meta name='description' content='{description}'></head><body>{body}</body></html>"
    )


@pytest.mark.parametrize("opening", ["<p>{}</p>", "<p><strong>{}</strong></p>"])
def test_an_outlet_page_whose_description_repeats_the_first_of_alike_paragraphs_keeps_it_in_the_body(
    opening: str,
) -> None:
    # Many sites fill the meta description from the first paragraph: that paragraph is the body's own, bold or not.
    html = _harbour_page(PARAS[0], f"<article>{opening.format(PARAS[0])}{ps(PARAS[1:])}</article>")
    art = extract(html, OUTLET_URL)
    assert art.body == "\n\n".join(PARAS)
    assert art.lead == "", "the lead repeats no text of the body"


def test_an_outlet_page_whose_first_paragraph_repeats_the_description_gives_the_standfirst_above_as_lead() -> None:
    standfirst = "Repairs to the breakwater took three weeks and cost less than the council had feared."
    html = _harbour_page(
        PARAS[0],
        f"<h1>Harbour reopens after repairs</h1><p class='standfirst'>{standfirst}</p><article>{ps(PARAS)}</article>",
    )
    art = extract(html, OUTLET_URL)
    assert art.lead == standfirst
    assert art.body == "\n\n".join(PARAS)


def test_an_outlet_page_whose_description_cuts_short_its_first_line_between_breaks_keeps_that_line_in_the_body() -> (
    None
):
    cut = PARAS[0][:70]
    html = _harbour_page(f"{cut}...", f"<article><div>{'<br><br>'.join(PARAS)}</div></article>")
    art = extract(html, OUTLET_URL)
    assert art.body == "\n\n".join(PARAS)
    assert art.lead == "", "the lead repeats no text of the body"


def test_an_outlet_page_with_too_little_text_is_refused() -> None:
    html = "<html><head><title>X - PressTV</title></head><body><article><p>A few words.</p></article></body></html>"
    with pytest.raises(NotAnArticle, match="too little text"):
        extract(html, OUTLET_URL)


def test_a_page_without_article_text_is_refused() -> None:
    with pytest.raises(NotAnArticle):
        extract("<html><head><title>Empty</title></head><body><div></div></body></html>", URL)


def test_a_quoted_tweet_in_an_embed_wrapper_stays_in_the_body() -> None:
    tweet = (
        "<div class='social-media-embed'><blockquote class='twitter-tweet'><p>The wall must go higher before "
        "the next storm season, and we will pay for it.</p>&mdash; Harbour Council (@harbourcouncil) "
        "<a href='https://twitter.com/harbourcouncil/status/1'>May 1, 2024</a></blockquote></div>"
    )
    art = extract(html_page(f"<article class='article-body'>{ps(PARAS[:3])}{tweet}{ps(PARAS[3:])}</article>"), URL)
    assert "The wall must go higher before the next storm season" in art.body
    assert art.body.startswith(PARAS[0]) and art.body.endswith(PARAS[4])


def test_a_prose_box_of_the_body_class_far_away_in_the_page_is_not_joined() -> None:
    sidebar = (
        "<aside><div class='rail'><div class='rail-item'>"
        f"<div class='article-body'>{ps(['Sidebar: ' + PARAS[3], PARAS[4]])}</div></div></div></aside>"
    )
    html = html_page(f"<article><div class='article-body'>{ps(PARAS[:3])}</div></article>").replace(
        "</main>", f"</main>{sidebar}"
    )
    art = extract(html, URL)
    assert art.body.startswith(PARAS[0]) and "Sidebar:" not in art.body


def test_a_short_linked_pointer_inside_the_article_is_dropped_and_the_prose_around_it_kept() -> None:
    pointer = "<p>READ MORE: <a href='/storm'>Storm damage to the harbour worse than feared</a></p>"
    art = extract(html_page(f"<article class='article-body'>{ps(PARAS[:2])}{pointer}{ps(PARAS[2:])}</article>"), URL)
    assert art.body == "\n\n".join(PARAS)


ITEMS = [
    f"Item {n}: the {name} stall sells bread baked before dawn, and its owner has kept the same recipe for "
    f"{n + 10} years, handed down from a grandmother who sold loaves from a cart in the old square."
    for n, name in enumerate(["north", "south", "east", "west", "market", "harbour"])
]


def test_a_list_article_between_an_introduction_and_a_conclusion_of_one_class_is_kept_whole() -> None:
    # The introduction and the conclusion share a class; the items between them sit in containers of another.
    # trafilatura's body XPaths pick the first container of the introduction's class ("article__content").
    items = "".join(f"<div class='block'><div class='block__content'><p>{item}</p></div></div>" for item in ITEMS)
    body = (
        f"<article><div class='intro'><div class='article__content'>{ps(PARAS[:2])}</div></div>{items}"
        f"<div class='outro'><div class='article__content'>{ps(PARAS[2:])}</div></div></article>"
    )
    art = extract(html_page(body), URL)
    for text in ITEMS + PARAS:
        assert text in art.body
    assert art.body.index(ITEMS[0]) < art.body.index(ITEMS[-1]) < art.body.index(PARAS[-1])


def test_a_list_of_links_the_prose_announces_stays_and_a_related_list_goes() -> None:
    changes = [
        "Fix volatile loads and stores in the harbour crane controller",
        "Add support for packed structs to the tide gauge reader",
        "Allow casts between integers and pointers in the lock firmware",
        "Make the ferry timetable parser accept floating point times",
        "Fix the error on the power architectures of the old pier lights",
        "Update the dependency of the breakwater sensor library",
    ]
    # As AsciiDoc writes a list: each item's text in a paragraph of its own, the list in a wrapper.
    announced = "".join(
        f"<li><p><a href='https://code.example.org/pull/{i}'>{c}</a></p></li>" for i, c in enumerate(changes)
    )
    related = "".join(f"<li><a href='/story/{i}'>Another harbour story number {i}</a></li>" for i in range(4))
    body = (
        f"<article>{ps(PARAS[:2])}<p>The changes merged in this release of the harbour software:</p>"
        f"<div class='ulist'><ul>{announced}</ul></div>{ps(PARAS[2:])}<h3>Related</h3><ul>{related}</ul></article>"
    )
    art = extract(html_page(body), URL)
    for change in changes:
        assert change in art.body
    assert "Another harbour story" not in art.body


def test_a_list_at_the_end_that_the_prose_announces_stays() -> None:
    links = "".join(
        f"<li><a href='https://org{i}.example.net/'>Harbour trust {i}</a> - notes on breakwater repairs.</li>"
        for i in range(4)
    )
    body = f"<article>{ps(PARAS)}<p>Further reading on breakwaters and their repair:</p><ul>{links}</ul></article>"
    art = extract(html_page(body), URL)
    assert "Harbour trust 3" in art.body


def test_a_heading_linked_to_its_own_section_stays() -> None:
    body = (
        f"<article>{ps(PARAS[:2])}<h2 id='cost'><a href='#cost'>What the repairs cost</a></h2>{ps(PARAS[2:])}</article>"
    )
    art = extract(html_page(body), URL)
    assert "What the repairs cost" in art.body


TEASERS = [
    (
        "Ferry fares rise for the summer",
        "The ferry company says fuel costs forced its hand, and season tickets go up too.",
    ),
    (
        "Lighthouse keeper retires",
        "After forty years on the rock, the last keeper of the old light hands over the keys.",
    ),
    ("New fish market opens", "Stalls on the quay sell the morning catch directly to the public from six o'clock."),
]


def test_a_grid_of_teaser_cards_for_the_sites_other_stories_is_dropped() -> None:
    cards = "".join(
        f"<div class='post-card'><h3><a href='/2024/04/{i}/story'>{title}</a></h3>"
        f"<div class='post-content'><p>{blurb}</p></div></div>"
        for i, (title, blurb) in enumerate(TEASERS)
    )
    body = f"<article>{ps(PARAS)}</article><section class='more'><h2>More stories</h2>{cards}</section>"
    art = extract(html_page(body), URL)
    assert art.body == "\n\n".join(PARAS)


def test_teaser_cards_whose_link_is_a_read_more_line_are_dropped() -> None:
    cards = "".join(
        f"<article class='card'><img src='/img/{i}.jpg' alt=''><h3>{title}</h3><div>{blurb}</div>"
        f"<ul><li><a href='/2024/04/{i}/story'>LEARN MORE</a></li></ul></article>"
        for i, (title, blurb) in enumerate(TEASERS)
    )
    body = f"<div>{ps(PARAS[:3])}<h2>Explore more</h2><div class='grid'>{cards}</div></div>"
    art = extract(html_page(body), URL)
    assert art.body == "\n\n".join(PARAS[:3])


def test_items_of_a_roundup_linking_to_other_sites_stay() -> None:
    items = "".join(
        f"<div class='item'><h3><a href='https://site{i}.example.net/{i}'>{title}</a></h3><p>{blurb}</p></div>"
        for i, (title, blurb) in enumerate(TEASERS)
    )
    body = f"<article>{ps(PARAS[:2])}{items}{ps(PARAS[2:])}</article>"
    art = extract(html_page(body), URL)
    for _, blurb in TEASERS:
        assert blurb in art.body


def test_linked_item_headings_of_a_list_article_stay_and_a_linked_teaser_heading_goes() -> None:
    items = "".join(
        f"<h2><a href='https://shop{i}.example.net/'>{title}</a></h2>{ps(PARAS[i : i + 2])}"
        for i, (title, _) in enumerate(TEASERS)
    )
    teaser = f"<h2><a href='/2024/04/9/story'>{TEASERS[0][0]} again</a></h2><p>{TEASERS[0][1]}</p>"
    body = f"<article><p>{PARAS[4]}</p>{teaser}{items}</article>"
    art = extract(html_page(body), URL)
    for title, _ in TEASERS:
        assert title in art.body
    assert f"{TEASERS[0][0]} again" not in art.body


def test_an_article_after_a_stray_closing_html_tag_is_read() -> None:
    page = (
        "<html><head><title>Harbour reopens after repairs | Example News</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/world'>World</a></nav></header></body></html>"
        f"<html><body><div class='post'><h1>Harbour reopens after repairs</h1>{ps(PARAS)}</div></body></html>"
    )
    art = extract(page, URL)
    assert art.body == "\n\n".join(PARAS)


def test_reading_the_generic_text_leaves_the_pages_head_as_it_was() -> None:
    """The meta tags, styles and scripts set aside while trafilatura reads the page are put back in place: the
    page's dates, authors and description are read from the same tree afterwards."""
    from lxml import etree

    from crawler.extract.core import parse_html
    from crawler.extract.generic import generic_paragraphs

    head = (
        "<meta property='og:title' content='Harbour reopens'>\n<style>p { color: red }</style> "
        '<script>var page = 1;</script><script type=\'application/ld+json\'>{"@type": "NewsArticle"}</script>'
        "<noscript><img src='/pixel.gif'></noscript><link rel='canonical' href='/harbour'>"
    )
    tree = parse_html(html_page(f"<article>{ps(PARAS)}</article>", head=head))
    before = etree.tostring(tree.find("head"))
    assert generic_paragraphs(tree) == PARAS
    assert etree.tostring(tree.find("head")) == before
