"""Redesign-like variants of every article fixture, and Press TV articles in other sites' real pages, still
extract right (the floors of bench/robustness.py and its --transplant suite)."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest

from crawler.core.items import normalise_text
from crawler.testing.fixturecheck import load_fixtures
from crawler.testing.mutations import MUTATIONS, VariantScore, judge_all, mutate
from crawler.testing.transplant import (
    Template,
    TransplantScore,
    judge,
    load_templates,
    stories_from_fixtures,
    summary,
    transplants,
)

FIXTURES = [fx for fx in load_fixtures() if fx.kind == "articles"]


@pytest.fixture(scope="module")
def scores() -> list[VariantScore]:
    return judge_all(FIXTURES, MUTATIONS, seeds=2)


def test_every_article_fixture_and_mutation_is_judged(scores: list[VariantScore]) -> None:
    assert len(FIXTURES) >= 14
    assert {(s.fixture, s.mutation) for s in scores} == {(fx.name, m) for fx in FIXTURES for m in MUTATIONS}


def test_body_f1_floors(scores: list[VariantScore]) -> None:
    assert statistics.mean(s.body_f1 for s in scores) >= 0.97
    worst = min(scores, key=lambda s: s.body_f1)
    assert worst.body_f1 >= 0.93, f"{worst.fixture} {worst.mutation}#{worst.seed}: F1 {worst.body_f1:.3f}"


def test_no_furniture_in_any_variant(scores: list[VariantScore]) -> None:
    leaks = [f"{s.fixture} {s.mutation}#{s.seed}: {s.leaked}" for s in scores if s.leaked]
    assert not leaks, leaks[:5]


def test_title_in_every_variant_and_date_in_nearly_all(scores: list[VariantScore]) -> None:
    wrong = [f"{s.fixture} {s.mutation}#{s.seed}" for s in scores if not s.title_ok]
    assert not wrong, wrong[:5]
    assert sum(s.date_ok for s in scores) / len(scores) >= 0.95


def test_without_any_layout_rule_the_cues_alone_hold_the_same_floors() -> None:
    # Every class-keyed rule of the profile is a fast path: dropping them all must not let furniture through.
    scores = judge_all(FIXTURES, ("none", "rename", "table", "redesign"), seeds=1, layouts=False)
    assert all(s.layout == "unknown" for s in scores)
    assert statistics.mean(s.body_f1 for s in scores) >= 0.97 and min(s.body_f1 for s in scores) >= 0.93
    assert not [s for s in scores if s.leaked], [(s.fixture, s.mutation, s.leaked) for s in scores if s.leaked][:3]
    assert all(s.title_ok for s in scores) and sum(s.date_ok for s in scores) / len(scores) >= 0.95


def test_renamed_variants_really_match_no_layout_rule(scores: list[VariantScore]) -> None:
    # The suite proves something only if renaming defeats every class-keyed rule of the profile.
    renamed = [s for s in scores if s.mutation in ("rename", "redesign")]
    assert renamed and all(s.layout == "unknown" for s in renamed)


def test_mutations_change_the_markup_but_keep_the_words() -> None:
    fx = FIXTURES[0]
    page = fx.page.read_text(encoding="utf-8")
    words = sorted(w for w in str(fx.expected["body"]).split())
    for mutation in MUTATIONS:
        if mutation == "none":
            continue
        variant = mutate(page, mutation, seed=1, title=str(fx.expected["title"]), body=str(fx.expected["body"]))
        assert variant != page
        assert all(w.strip(".,\"'") in variant for w in words[:50]), mutation


# ---- transplants: Press TV articles in real pages of other sites (bench/robustness.py --transplant) ----------

TRANSPLANT_DATA = Path(__file__).resolve().parents[1] / "corpora" / "transplant"
TEMPLATES = [t for d in sorted(TRANSPLANT_DATA.iterdir()) if d.is_dir() for t in load_templates(d)]
STORIES = stories_from_fixtures(FIXTURES)
TRANSPLANTS = [t for seed in (0, 1) for t in transplants(TEMPLATES, STORIES, seed=seed)]
TRANSPLANT_IDS = [f"{t.template}#{t.seed}" for t in TRANSPLANTS]


def _page_text(html: str) -> str:
    root = lxml.html.document_fromstring(html)
    for el in root.iter("script", "style", "head"):
        el.drop_tree()
    return normalise_text(" ".join(root.itertext()))


def test_every_sample_page_takes_a_transplant_that_carries_the_story_in_the_pages_own_markup() -> None:
    assert len(TEMPLATES) == 8 and len(TRANSPLANTS) == 2 * len(TEMPLATES)
    own_blocks = {
        t.name: {(el.tag, el.get("class")) for el in lxml.html.document_fromstring(t.html).iter()} for t in TEMPLATES
    }
    for t in TRANSPLANTS:
        text = _page_text(t.html)
        for para in t.story.paragraphs:
            assert normalise_text(para) in text, f"{t.template}: story paragraph missing"
        template = next(x for x in TEMPLATES if x.name == t.template)
        # The other site's article is gone: a Press TV page must not carry another story's words.
        left = [p for p in template.body.split("\n") if len(p.split()) >= 12 and normalise_text(p) in text]
        assert not left, f"{t.template}: the page's own article still there: {left[0][:60]!r}"
        root = lxml.html.document_fromstring(t.html)
        first = normalise_text(t.story.paragraphs[0])
        holder = next(el for el in root.iter() if normalise_text(el.text or "") == first)
        assert (holder.tag, holder.get("class")) in own_blocks[t.template], "paragraphs not in the page's own element"
        assert "SHARE THIS ARTICLE Facebook Twitter Google+" in text
        assert "Read more:" in text and "website can also be accessed at the following alternate addresses" in text
        menu = [normalise_text(a.text_content()) for a in root.iter("a") if "/Default/Section/" in a.get("href", "")]
        assert menu and menu[-1] == "Programs"
        assert root.find(".//title").text == f"PressTV-{t.story.title}"


def test_transplants_are_deterministic_for_a_seed() -> None:
    again = list(transplants(TEMPLATES[:2], STORIES, seed=0))
    assert [t.html for t in again] == [t.html for t in TRANSPLANTS[:2]]
    other = list(transplants(TEMPLATES[:2], STORIES, seed=7))
    assert [t.html for t in other] != [t.html for t in again]


def test_a_folder_that_is_no_benchmark_gets_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a known benchmark"):
        load_templates(tmp_path)


@pytest.fixture(scope="module")
def transplant_scores() -> list[TransplantScore]:
    return [judge(t) for t in TRANSPLANTS]


@pytest.mark.parametrize("index", range(len(TRANSPLANTS)), ids=TRANSPLANT_IDS)
def test_transplanted_article_keeps_its_body_and_sheds_the_furniture(
    index: int, transplant_scores: list[TransplantScore]
) -> None:
    s = transplant_scores[index]
    assert s.refused is None, s.refused
    assert not s.leaked, f"{s.template} ({s.story}) leaked {s.leaked}"
    assert s.body_f1 >= 0.93, f"{s.template} ({s.story}): body F1 {s.body_f1:.3f}"
    assert s.title_ok and s.date_ok
    assert not s.section_from_menu, f"section {s.section!r} taken from the menu"


def test_transplant_sample_meets_the_suite_floors(transplant_scores: list[TransplantScore]) -> None:
    figures = summary(transplant_scores)
    assert figures["mean_f1"] >= 0.97 and figures["date_right"] >= 0.95, figures


def test_the_bench_prints_every_variant_and_the_summary_and_refuses_a_wrong_folder(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    bench = root / "bench" / "robustness.py"
    folder = TRANSPLANT_DATA / "wcxb-dev-articles"
    run = subprocess.run(
        [sys.executable, str(bench), "--transplant", str(folder), "--limit", "2"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert run.returncode == 0, run.stderr
    assert sum(1 for line in run.stdout.splitlines() if line.startswith("wcxb/")) == 2
    assert "body F1: mean" in run.stdout and "by kind: share label" in run.stdout and "from the menu" in run.stdout
    wrong = subprocess.run(
        [sys.executable, str(bench), "--transplant", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    assert wrong.returncode == 2 and "not a known benchmark" in wrong.stderr and len(wrong.stderr.splitlines()) == 1


def test_a_transplant_writes_the_headline_where_the_page_has_it_not_into_a_teaser_card_below() -> None:
    # A page whose own article has an h2 headline and whose only h1 heads a featured-story card below it.
    own = [
        "The reviewers agree that the new console streams games smoothly on a fast home connection, but "
        "they found that the picture softens whenever the network is busy in the evening.",
        "Several of them also point out that the launch library is small, and that most of its games have "
        "been available on other machines for years at a lower price.",
    ]
    html = (
        "<html><head><title>Early reviews of the console are mixed</title></head><body><section>"
        "<article><header><h2>Early reviews of the console are mixed</h2></header><div class='txt'>"
        + "".join(f"<p>{p}</p>" for p in own)
        + "</div></article></section><section><article class='card'><h1>A featured story</h1>"
        "<p>A short teaser that leads to another story on the site.</p></article></section></body></html>"
    )
    template = Template("hand/card-h1", html.encode(), "\n".join(own), "Early reviews of the console are mixed")
    made = next(transplants([template], STORIES, seed=0))
    root = lxml.html.document_fromstring(made.html)
    assert root.find(".//h2").text == made.story.title, "the story's headline where the page's own was"
    assert root.find(".//h1").text == "A featured story", "the teaser card below the article is left alone"
