"""The body region of a page no layout rule knows: a split body is kept whole, the page around it is not."""

from __future__ import annotations

import re

import lxml.html

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
