"""The body region of a page no layout rule knows: a split body is kept whole, the page around it is not."""

from __future__ import annotations

import re

import lxml.html
import pytest

from crawler.extract import extract_full
from crawler.extract.region import beside_headline, find_body_region, text_region
from crawler.extract.tree import lower_words

URL = "https://www.presstv.ir/Detail/2024/03/02/720001/Port-strike-enters-second-week"
TITLE = "Port strike enters second week"
STORY = [
    "Dock workers at the country's largest container port stayed off the job for an eighth day on Saturday, "
    "leaving dozens of cargo ships waiting at anchor outside the harbour.",
    "The union said its members would not return until the operator withdrew plans to cut night-shift "
    "allowances, which it says make up a third of many workers' pay.",
    "The port operator said the allowances were no longer affordable after a fall in traffic, and that it "
    "had offered a one-off payment that the union turned down.",
    "Shipping lines have begun to divert vessels to smaller ports along the coast, where queues of lorries "
    "stretched for several kilometres by Saturday afternoon.",
    "Business groups warned that shortages of imported goods would start to appear in shops within days if "
    "the dispute is not settled by the end of the week.",
]
BIO = [
    "Maria Lindqvist is a freelance writer who covers small business, logistics and household budgeting for "
    "several regional magazines and trade newsletters.",
    "When she is not writing, Maria runs a community garden, volunteers at the local library and teaches "
    "weekend workshops on starting a small online shop from home.",
    "Her first book, a practical guide to running a market stall, came out last spring and has since been "
    "translated into four languages and adopted by two adult-education colleges.",
]


def _paras(texts: list[str]) -> str:
    return "".join(f"<p>{t}</p>" for t in texts)


def _page(main: str, above: str = "") -> str:
    return (
        f"<html><head><title>{TITLE}</title><meta property='og:title' content='{TITLE}'></head><body>"
        f"<div class='kq-page'>{above}<div class='kq-main'><h1>{TITLE}</h1>{main}</div></div></body></html>"
    )


def test_an_author_bio_after_a_short_article_is_not_read_as_the_second_half_of_its_body() -> None:
    bio = f"<div class='kq-box'><div class='kq-box-inner'><div class='kq-desc'>{_paras(BIO)}</div></div></div>"
    body = extract_full(_page(f"<div class='kq-text'>{_paras(STORY)}</div>{bio}"), URL).article.body
    assert body.split("\n\n") == STORY, "the body is the story alone, without the writer's bio"


def test_a_body_split_over_two_containers_built_alike_is_read_whole() -> None:
    first, second = _paras(STORY[:3]), _paras(STORY[3:])
    main = (
        f"<div class='kq-text'>{first}</div><div class='kq-ad'><img src='/a.png' alt=''></div>"
        f"<div class='kq-text'>{second}</div>"
    )
    body = extract_full(_page(main), URL).article.body
    assert body.split("\n\n") == STORY, "both halves of the body, in order"


def test_a_print_notice_above_the_headline_is_not_read_as_the_first_part_of_the_body() -> None:
    notice = (
        "<div class='kq-print'><p>This copy is for your personal, non-commercial use only. To order copies "
        "for distribution to colleagues, clients or customers, contact the syndication desk.</p>"
        "<p>Reprints of this article, and of any other article on this site, may be ordered for a fee from "
        "the same desk, which also handles requests to quote it in books, reports or teaching material.</p>"
        "</div>"
    )
    body = extract_full(_page(f"<div class='kq-text'>{_paras(STORY)}</div>", above=notice), URL).article.body
    assert body.split("\n\n") == STORY, "the body starts below the headline"


TEASERS = [
    "A wildlife charity says the number of hedgehogs in rural areas has fallen by half in twenty years, and "
    "asks gardeners to leave gaps under their fences.",
    "Engineers have restored a steam locomotive that last ran in 1962, and it will pull a heritage train along "
    "the coast every weekend this summer.",
    "A chef who trained in three countries explains why the simplest bread recipes are the hardest to get right, "
    "and which flour she buys.",
    "Volunteers counted more than four thousand migrating cranes over the marshes this week, the highest number "
    "since records began.",
    "The city's oldest cinema reopens after a two-year restoration that uncovered painted ceilings hidden behind "
    "plasterboard since the 1970s.",
    "A retired teacher has walked the length of the country's longest river and written a guide to the villages "
    "and ferries along its banks.",
    "Researchers found that commuters who cycle at least twice a week report better sleep than those who drive, "
    "even on days they do not ride.",
    "An island community has bought its own ferry after years of cancelled sailings, and plans to run it as a "
    "cooperative owned by residents.",
]


def test_a_grid_of_teasers_the_generic_extractor_kept_is_not_taken_for_the_body_under_the_headline() -> None:
    # The generic extractor now and then keeps a grid of other stories' teasers instead of a short article; the
    # article is the block that shares the headline's container.
    cards = "".join(
        f"<article class='kq-card'><h2><a href='/story/{i}'>Story {i}</a></h2><p>{t}</p></article>"
        for i, t in enumerate(TEASERS)
    )
    tree = lxml.html.document_fromstring(
        f"<html><body><section><article class='kq-story'><header><h1>{TITLE}</h1></header>"
        f"<div class='kq-text'>{_paras(STORY)}</div></article></section>"
        f"<section class='kq-more'><div class='kq-grid'>{cards}</div></section></body></html>"
    )
    headline = tree.find(".//h1")
    region = find_body_region(tree, TEASERS, headline)
    assert region is not None and region.get("class") == "kq-text", "the story under the headline"
    assert beside_headline(tree, region, TEASERS, headline), "the teasers do not overrule it as a second opinion"
    assert find_body_region(tree, TEASERS, None) is tree.find(".//div[@class='kq-grid']"), "no headline: as before"


ABOUT = [
    "Harbourline is a logistics software company that helps port operators plan berths, cranes and yard space, "
    "with customers at more than forty container terminals on four continents.",
    "Founded in 2009, Harbourline is headquartered in Rotterdam, employs about six hundred people and is listed "
    "on the Euronext exchange in Amsterdam.",
    "Harbourline's products are sold directly and through partners, and the company publishes its results twice "
    "a year on its investor relations pages.",
]


def test_a_company_note_after_a_thematic_break_is_not_read_as_the_rest_of_the_body() -> None:
    # The note sits in a container built like the body's (a press-release page's text blocks), but below a <hr>.
    main = f"<div class='kq-text'>{_paras(STORY)}</div><div class='kq-text'><hr>{_paras(ABOUT)}</div>"
    assert extract_full(_page(main), URL).article.body.split("\n\n") == STORY, "the story without the note"


RULES = [
    "Registering on the site and signing in with an account of a social network means that you accept these "
    "community rules in full, as they stand on the day you post a comment.",
    "Users must obey national and international laws and speak respectfully to the other participants in the "
    "discussion, to readers and to the people mentioned in the articles.",
    "The moderators may delete comments written in a language other than the language of most of the site's "
    "content, and may edit any comment posted in any language version of the site.",
    "A comment will be deleted if it does not match the subject of the article, promotes hatred or "
    "discrimination, violates the rights of minors or contains ideas of an extremist nature.",
    "A comment will also be deleted if it insults other users, threatens people or organisations, spreads "
    "personal data of third parties without their consent, or advertises goods and services.",
    "Users who break these rules repeatedly will lose the right to post comments, and the moderators' decision "
    "on a blocked account is final and not open to appeal by email or by post.",
]


def _site(main: str, after: str) -> str:
    """A page whose article sits in the site's main column beside a column of other stories' teasers, with
    other blocks at the end of the page."""
    boxes = "".join(
        f"<div class='kq-box'><ul>{''.join(f'<li>{t}</li>' for t in TEASERS[i : i + 4])}</ul></div>"
        for i in (0, 4, 0, 4, 0, 4, 0, 4)
    )
    return (
        f"<html><head><title>{TITLE}</title><meta property='og:title' content='{TITLE}'></head><body>"
        f"<div class='kq-wrap'><div class='kq-top'><h1>{TITLE}</h1></div><div class='kq-col'>{main}</div>"
        f"<div class='kq-side'>{boxes}</div></div>{after}</body></html>"
    )


def test_a_long_dialog_the_stylesheet_hides_is_not_read_instead_of_a_short_article() -> None:
    # The dialog's rules outweigh the article, and only the site's stylesheet (not in the page) hides them.
    dialog = (
        "<div class='kq-window'><a class='kq-x' href='#'></a><header>Community standards</header>"
        f"<section><div class='kq-scroll'>{_paras(RULES)}</div></section></div>"
    )
    body = extract_full(_site(f"<div class='kq-text'>{_paras(STORY)}</div>", dialog), URL).article.body
    assert body.split("\n\n") == STORY, "the story under the headline, not the dialog's rules"


LEGAL = [
    "Harbourline Mutual, a division of Harbourline Services Corporation, a mutual legal reserve company, is an "
    "independent licensee of the national association of port insurers.",
    "© Copyright 2025 Harbourline Services Corporation. All Rights Reserved.",
    "Quaylink is an operating division of Quaylink Americas, Inc., an independent company that provides and hosts "
    "the online community platform for the members of Harbourline Mutual.",
    "Files marked as documents are in portable document format. To view them you may need to download a free "
    "reader from the publisher's site, which opens in a new window of your browser.",
    "You are leaving this site. The new site may be offered by a vendor or an independent third party, and some "
    "of its content may be offered by Harbourline Mutual itself.",
]


def test_a_legal_footer_longer_than_a_short_article_is_not_read_as_its_body() -> None:
    footer = f"<div class='kq-foot'><div class='kq-foot-in'><div class='kq-legal'>{_paras(LEGAL)}</div></div></div>"
    body = extract_full(_site(f"<div class='kq-text'>{_paras(STORY[:4])}</div>", footer), URL).article.body
    assert body.split("\n\n") == STORY[:4], "the story under the headline, not the legal notices"


ADVERT = [
    "Experiencing varicose veins, spider veins or leg swelling? Our clinic treats them all in one visit.",
    "The Harbour Vein Clinic provides advanced, minimally invasive treatment without a referral from your doctor.",
    "New patients receive ten per cent off their first treatment when they mention this advertisement.",
    "Comprehensive vein health and aesthetic care, all under one roof in the old town.",
]


FOOTER = [
    "You have a choice when it comes to vein care: book an appointment at either of our two clinics in the city.",
    "Copyright © 2026 Harbour Vein Clinic. All Rights Reserved.",
]


def test_an_advert_built_like_the_body_below_the_copyright_line_is_not_read_as_the_rest_of_it() -> None:
    # Page builders put every block in the same wrappers: the advert's container is built like the body's, but
    # it comes after the page's copyright line, where no article goes on.
    def block(inner: str) -> str:
        cell = f"<div class='kq-cell'><div class='kq-widget'>{inner}</div></div>"
        return f"<section><div class='kq-row'>{cell}</div></section>"

    page = (
        f"<html><head><title>{TITLE}</title></head><body><div class='kq-page'>"
        f"{block(f'<h1>{TITLE}</h1>' + _paras(STORY[:3]))}</div>"
        f"<footer>{block(_paras(FOOTER))}</footer>"
        f"<div class='kq-popup'>{block(_paras(ADVERT))}</div></body></html>"
    )
    assert extract_full(page, URL).article.body.split("\n\n") == STORY[:3], "the story without the advert"


def test_a_list_of_other_stories_with_long_teasers_does_not_overrule_a_short_article() -> None:
    # Each item of the list below the article is headed by a link to another story and carries a teaser longer
    # than a card's; together they outweigh the short article the generic extractor keeps with them.
    items = "".join(
        f"<div class='kq-item'><div class='kq-tag'>Travel · 19 December</div>"
        f"<h3><a href='/story/{i}'>Story {i}</a></h3><p>{' '.join(TEASERS[i : i + 3])}</p></div>"
        for i in range(6)
    )
    page = (
        f"<html><head><title>{TITLE}</title></head><body><div class='kq-head'><h1>{TITLE}</h1></div>"
        f"<div class='kq-content'><div class='kq-row'><div class='kq-text'>{_paras(STORY[:4])}</div></div>"
        f"<div class='kq-list'>{items}</div></div></body></html>"
    )
    assert extract_full(page, URL).article.body.split("\n\n") == STORY[:4], "the story without the teasers"


def test_a_body_that_goes_on_in_many_blocks_away_from_the_headline_is_not_cut_to_the_lines_under_it() -> None:
    # Four paragraphs sit with the headline, and the article's parts follow in a column of their own: the
    # densest part is one of many there, not a block apart from the article.
    parts = [RULES, TEASERS[0:2], TEASERS[2:4], TEASERS[4:6], TEASERS[6:8], BIO, ABOUT]
    items = "".join(f"<div class='kq-item'><h2>Part {i}</h2>{_paras(p)}</div>" for i, p in enumerate(parts))
    intro = f"<h1>{TITLE}</h1><div class='kq-intro'>{_paras(STORY[:4])}</div>"
    body = extract_full(_site(items, "").replace(f"<h1>{TITLE}</h1>", intro), URL).article.body.split("\n\n")
    assert all(p in body for part in parts for p in part), "every part of the article is kept"


MORE = [
    "Economists at the national bank estimated that each day of the strike was costing the economy tens of "
    "millions in lost trade, delayed deliveries and penalties paid to shipping lines.",
    "The transport minister said she had asked both sides to meet an independent mediator on Monday, and "
    "that the government would not intervene directly unless talks broke down again.",
    "Farmers waiting to ship the season's fruit crop said some of their containers had already been "
    "refrigerated for more than a week, and that losses would mount quickly.",
]


@pytest.mark.parametrize("rest", [STORY[2:] + BIO, STORY[2:] + BIO + MORE], ids=["quarter", "sixth"])
def test_the_opening_paragraphs_in_a_container_built_like_the_body_are_read_with_it(rest: list[str]) -> None:
    # A short first part (a quarter or a sixth of the text) in its own block of the body's tag and class.
    main = (
        f"<div class='kq-text kq-intro'>{_paras(STORY[:2])}</div><div class='kq-ad'><img src='/a.png' alt=''></div>"
        f"<div class='kq-text'>{_paras(rest)}</div>"
    )
    body = extract_full(_page(main), URL).article.body
    assert body.split("\n\n") == STORY[:2] + rest, "the opening paragraphs and the rest, in order"


FRENCH = [
    "« Nous ne reprendrons pas le travail tant que la direction maintiendra son plan », a déclaré samedi le "
    "secrétaire du syndicat devant les grilles du port.",
    "Été comme hiver, les dockers assurent le chargement de plus de deux mille conteneurs par jour sur les "
    "quais de la ville, selon la chambre de commerce.",
    "À la mi-journée, une quarantaine de navires attendaient toujours au large, et les transporteurs "
    "commençaient à dérouter leurs cargaisons vers d'autres ports.",
]


def test_lines_opening_with_accented_letters_or_quote_marks_are_found_in_the_page() -> None:
    # The generic lines are found again by their start; the page's runs are keyed by their first letters too.
    sidebar = "<div class='kq-side'><p>Les plus lus : la grève des dockers entre dans sa deuxième semaine.</p></div>"
    tree = lxml.html.document_fromstring(_page(f"<div class='kq-text'>{_paras(FRENCH)}</div>{sidebar}"))
    located = text_region(tree, FRENCH)[0]
    assert located is not None and located.get("class") == "kq-text", "the block holding the lines"


def test_the_second_opinion_compares_the_same_words_whatever_the_script() -> None:
    for text in (
        "Plain ASCII: words, numbers 2024 and snake_case -- all (of) them!",
        "Mixed: « déjà-vu » at 10h30, İstanbul and Straße, \u212a for Kelvin",
        "\t\x1fcontrol\x7fcharacters\x00 between words\n",
    ):
        assert lower_words(text) == re.findall(r"\w+", text.lower()), text
