"""Hostile input to the extraction API: every input ends in an Article or a one-line NotAnArticle, never a crash.

Property-based (Hypothesis), with the input families of fuzzkit.py (which bench/fuzz.py runs for minutes): random
bytes, saved fixture pages cut short and bit-flipped, every encoding declaration, mixed-up gzip, huge attributes
and deep nesting. Outlet pages go through the profile's layout rules and the layout-independent cues; unknown hosts
through the generic path.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from support.fuzzkit import EXTRACT_FAMILIES, PAGES, URLS, Case, nested_page, run_extract

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(case=EXTRACT_FAMILIES["random bytes"])
def test_random_bytes(case: Case) -> None:
    run_extract(case)


@FUZZ
@given(case=EXTRACT_FAMILIES["cut and bit-flipped page"])
def test_fixture_pages_cut_short_and_bit_flipped(case: Case) -> None:
    run_extract(case)


@FUZZ
@given(case=EXTRACT_FAMILIES["encoding declaration"])
def test_every_encoding_declaration(case: Case) -> None:
    run_extract(case)


@FUZZ
@given(case=EXTRACT_FAMILIES["mixed-up gzip"])
def test_mixed_up_gzip(case: Case) -> None:
    run_extract(case)


@FUZZ
@given(case=EXTRACT_FAMILIES["huge attribute"])
def test_huge_attributes(case: Case) -> None:
    run_extract(case)


def test_deep_nesting_of_100000_levels() -> None:
    for tag in ("div", "span", "table"):
        for url in (URLS[0], URLS[2]):
            assert run_extract(Case("deep nesting", nested_page(tag, 100_000), url)) in ("article", "refused")


def test_the_untouched_fixture_pages_are_articles() -> None:
    # The properties above would hold for an extractor that refuses everything: the real pages must be articles.
    assert all(run_extract(Case("fixture", page, URLS[0])) == "article" for page in PAGES)
