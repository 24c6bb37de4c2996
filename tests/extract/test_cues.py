"""Layout-independent cues: real Press TV furniture of every era, in markup that no layout rule of the profile knows."""

from __future__ import annotations

from crawler.extract import extract_full

BODY = [
    "Press TV started broadcasting on the Sky platform in 2007 and has since reached millions of viewers in "
    "Britain, who turn to it for news that other channels do not report.",
    "The regulator said on Friday that the licence had been revoked because the channel's editorial control "
    "was exercised from Tehran, a claim the channel rejects as politically motivated.",
    "Critics of the decision say it will be an ultimately futile attempt to hide the truth from British "
    "audiences who have come to rely on the channel.",
]
TITLE = "Britain bans Press TV"


def _paras(tag: str = "p") -> str:
    return "".join(f"<{tag}>{p}</{tag}>" for p in BODY)


def _page(inner: str, *, head: str = "", lang: str = "en") -> str:
    # Class names here are deliberately unlike any the profile's layout rules name.
    return (
        f'<html lang="{lang}"><head><title>PressTV - {TITLE}</title>{head}</head>'
        f'<body><div class="zz-shell">{inner}</div></body></html>'
    )


def _body(text: str) -> str:
    return text.replace("\n\n", " ")


def test_2011_page_in_unknown_markup_gets_date_byline_and_no_furniture() -> None:
    # Era A, in text order: site clock, headline, date line, one-line byline, share row, body, comment link,
    # a "Latest From" box with two tab strips, follow line, copyright line.
    html = _page(
        '<div class="q1">Saturday Jan 21, 201202:05 AM GMT</div>'
        f'<div class="q2"><span class="big">{TITLE}</span></div>'
        '<div class="q3">Sat Jan 21, 2012 2:4AM</div>'
        '<div class="q4">Roshan Muhammed Salih, Press TV, London</div>'
        '<div class="q5"><a href="#">Share</a> | <a href="#">Email</a> | <a href="#">Print</a></div>'
        f'<div class="q6">{_paras()}</div>'
        '<div class="q7"><a href="/c">Add Comment Click Here</a></div>'
        '<div class="q8"><b>Latest From Video Reportages</b>'
        "<ul><li>Today</li><li>Last Week</li><li>Last Month</li></ul>"
        '<ul><li><a href="/detail/1.html">Bahrain protesters rally in Manama</a></li>'
        '<li><a href="/detail/2.html">Egypt marks revolution anniversary</a></li></ul></div>'
        '<div class="q9">Follow Us</div>'
        '<div class="q10">© Copyright 2011 Press TV. All rights reserved. | About PressTV | Contact Us</div>'
    )
    result = extract_full(html, "http://www.presstv.com/detail/222208.html")
    art = result.article
    assert result.layout == "unknown" and art.layout == "unknown"
    assert art.title == TITLE
    assert art.published == "2012-01-21T02:04:00+03:30"  # the date line, not the site clock
    assert art.authors == ["Roshan Muhammed Salih"]
    assert art.body == "\n\n".join(BODY)
    assert {"dateline", "site-clock", "byline"} <= set(result.removed)
    assert any("Latest From" in line for line in result.removed["box-heading"])


def test_2019_date_line_with_updated_time_and_embed_tab() -> None:
    html = _page(
        f"<h1>{TITLE}</h1>"
        "<span>Sun Mar 17, 2019 01:16PM [Updated: Tue Mar 19, 2019 12:03PM ]</span>"
        '<ul class="t"><li><a href="#e">Embed</a></li></ul>'
        f"<section>{_paras()}</section>"
    )
    art = extract_full(html, "https://www.presstv.com/Detail/2019/03/17/591277/Press-Release").article
    assert art.published == "2019-03-17T13:16:00+03:30"
    assert art.modified == "2019-03-19T12:03:00+03:30"
    assert "Embed" not in art.body and "Updated" not in art.body
    assert art.body == "\n\n".join(BODY)


def test_2020s_date_line_with_last_update_label_between_breaks() -> None:
    # The date sits as a bare line between <br>s inside the body block: only the text-level cue can see it.
    text = "<br><br>".join(BODY)
    html = _page(
        f"<h1>{TITLE}</h1><div>News   /   Reports</div>"
        f"<div>Monday, 18 December 2023 3:42 PM [ Last Update: Monday, 18 December 2023 5:10 PM ]<br><br>{text}</div>"
    )
    result = extract_full(html, "https://www.presstv.ir/Detail/2023/12/18/716000/Britain-bans")
    art = result.article
    assert art.published == "2023-12-18T15:42:00+03:30"
    assert art.modified == "2023-12-18T17:10:00+03:30"
    assert art.section == "Reports"
    assert art.body == "\n\n".join(BODY)


def test_french_date_line_and_french_furniture() -> None:
    html = _page(
        "<div>TV</div><div>Infos   /   Afrique</div>"
        f"<h1>{TITLE}</h1><p>samedi, 15 août 2026 10:30</p>{_paras()}"
        "<div>Partager Cet Article</div><div>SOURCE: FRENCH PRESS TV</div>",
        lang="fr",
    )
    art = extract_full(html, "https://french.presstv.ir/Detail/2026/08/15/774500/Titre").article
    assert art.published == "2026-08-15T10:30:00+03:30"  # Iran has kept no summer time since 2022
    assert art.section == "Afrique" and art.language == "fr"
    assert art.body == "\n\n".join(BODY)


def test_editor_initials_glued_or_alone_and_report_byline_pair_leave_the_body() -> None:
    glued = [*BODY[:-1], BODY[-1] + " SAB/HSN"]
    html = _page(
        f"<h1>{TITLE}</h1><div><div>Yusef Jalali</div><div>Press TV, Tehran</div></div>"
        + "".join(f"<p>{p}</p>" for p in glued)
        + "<p>MR/NN/HRB</p>"
    )
    result = extract_full(html, "https://www.presstv.ir/Detail/2021/06/23/660736/Press-TV-Website")
    assert result.article.body == "\n\n".join(BODY)
    assert result.article.authors == ["Yusef Jalali"]
    assert result.removed["initials"] == ["MR/NN/HRB", "SAB/HSN"]


def test_photo_block_caption_and_embedded_story_card_leave_the_body() -> None:
    html = _page(
        f"<h1>{TITLE}</h1>"
        '<div><img src="/Photo/1.jpg"><div>Bahraini protesters run for cover from tear gas on January 29, 2016. '
        "(AFP)</div></div>"
        f"<div><p>{BODY[0]}</p><p>{BODY[1]}</p>"
        '<div><blockquote><a href="/Detail/2016/01/30/1/X">Bahrain regime jails activists</a></blockquote></div>'
        f"<p>{BODY[2]}</p></div>"
    )
    art = extract_full(html, "https://www.presstv.ir/Detail/2016/01/31/448187/Bahrain-forces").article
    assert art.image_caption == "Bahraini protesters run for cover from tear gas on January 29, 2016. (AFP)"
    assert art.body == "\n\n".join(BODY)


def test_prose_that_only_looks_like_furniture_stays() -> None:
    # A sentence with an inline link named like a tab, a real bullet list of long items, a short quote line.
    items = [
        "The first measure freezes the assets of three shipping companies based in the Persian Gulf region.",
        "The second bars European banks from clearing payments for Iranian food and medicine imports.",
    ]
    body = [
        BODY[0],
        "Officials said <a href='/x'>Today</a> that the measures would take effect at once, despite protests.",
    ]
    html = _page(
        f"<h1>{TITLE}</h1><div>"
        + "".join(f"<p>{p}</p>" for p in body)
        + "<ul>"
        + "".join(f"<li>{i}</li>" for i in items)
        + f"</ul><p>{BODY[2]}</p></div>"
    )
    art = extract_full(html, "https://www.presstv.ir/Detail/2026/08/15/774700/Measures").article
    assert "Officials said Today that the measures" in _body(art.body)
    for item in items:
        assert item in art.body
    assert BODY[2] in art.body


def test_known_layout_without_its_body_region_is_reported_unknown_not_refused() -> None:
    # The current layout's headline class is present, but the body container was renamed by a redesign.
    html = (
        '<html lang="en"><head><title>Iran urges UN action - PressTV</title></head><body>'
        '<h1 class="news-title-container">Iran urges UN action</h1>'
        '<time class="news-modifydate-container">Saturday, 15 August 2026 10:30 AM</time>'
        f'<div class="article-text-v2">{_paras()}</div></body></html>'
    )
    result = extract_full(html, "https://www.presstv.co.uk/Detail/2026/08/15/774416/Iran-urges-UN")
    assert result.layout == "unknown" and result.article.layout == "unknown"
    assert result.article.published == "2026-08-15T10:30:00+03:30"
    assert result.article.body == "\n\n".join(BODY)


REAL_FURNITURE = [
    # Verbatim lines seen on real Press TV pages, each era (see the project's notes on the real site).
    "Saturday Jan 21, 201202:05 AM GMT",
    "Sat Jan 21, 2012 2:4AM",
    "Share | Email | Print",
    "Related Stories:",
    "Add Comment Click Here",
    "Latest From Middle East",
    "Follow Us",
    "© Copyright 2011 Press TV. All rights reserved. | About PressTV | Contact Us | Frequencies | Privacy Policy",
    "Breaking News",
    "News   /   Interviews   /   Editor's Choice",
    "Install the new version of PressTv application",
    "Sorry, the video player failed to load.(Error Code: 100013)",
    "MR/NN/HRB",
    "Press TV’s website can also be accessed at the following alternate addresses:",
    "www.presstv.co.uk",
    "SHARE THIS ARTICLE",
    "Press TV News Roku",
    "Sun Mar 17, 2019 01:16PM [Updated: Tue Mar 19, 2019 12:03PM ]",
    "Embed",
    "WATCH PRESS TV NEWS HEADLINES",
    "TV",
    "Partager Cet Article",
    "SOURCE: FRENCH PRESS TV",
    "Les titres de la rédaction :",
    "— Press TV Français (@PresstvFr) February 10, 2018",
]


def test_every_real_furniture_line_leaves_a_body_in_unknown_markup() -> None:
    # Each line as a paragraph of its own among the article's paragraphs: only the line cues can catch it.
    mixed: list[str] = []
    for i, line in enumerate(REAL_FURNITURE):
        mixed.append(line)
        if i % 8 == 0:
            mixed.extend(BODY)
    html = _page(f"<h1>{TITLE}</h1><div>" + "".join(f"<p>{p}</p>" for p in mixed) + "</div>")
    art = extract_full(html, "https://www.presstv.ir/Detail/2016/01/31/448187/Bahrain").article
    lines = art.body.split("\n\n")
    assert [ln for ln in lines if ln not in BODY] == []


def test_a_paragraph_with_a_photo_set_in_its_opening_words_stays_in_the_body() -> None:
    html = _page(
        f"<h1>{TITLE}</h1>"
        f'<div><p><strong><img src="/Photo/1.jpg" alt="">{BODY[0]}</strong></p><p>{BODY[1]}</p><p>{BODY[2]}</p></div>'
    )
    art = extract_full(html, "https://www.presstv.ir/Detail/2016/01/31/448187/Bahrain-forces").article
    assert art.body == "\n\n".join(BODY)
    assert art.image_caption is None


def test_the_header_of_a_part_of_the_article_keeps_its_subheading_while_the_page_header_goes() -> None:
    subheading = "Why the regulator acted now"
    html = _page(
        "<header><a href='/'>Home</a> <a href='/news'>News</a> <a href='/video'>Video</a></header>"
        f"<h1>{TITLE}</h1><div><p>{BODY[0]}</p>"
        f"<section><header><h3>{subheading}</h3></header><p>{BODY[1]}</p><p>{BODY[2]}</p></section></div>"
    )
    art = extract_full(html, "https://www.presstv.ir/Detail/2026/08/15/774700/Measures").article
    assert art.body.split("\n\n") == [BODY[0], subheading, BODY[1], BODY[2]]
