"""Redesign-like variants of every article fixture still extract right (the floors of bench/robustness.py)."""

from __future__ import annotations

import statistics

import pytest

from crawler.fixturecheck import load_fixtures
from crawler.mutations import MUTATIONS, VariantScore, judge_all, mutate

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
