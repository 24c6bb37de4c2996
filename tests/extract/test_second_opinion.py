"""The text-level shortcuts of a page no layout rule knows decide exactly as the plain computation does.

The density region's paragraphs are checked against the generic extractor's by the shingle F1 of their words, and
short region paragraphs the generic text lacks are dropped. Both run on cheaper paths (word counts, shared
paragraphs, sets of shingles, a search from the last match); a page's body must not depend on which path decided,
so each is compared with the plain computation on random texts: repeated, empty, merged and edited paragraphs,
text other than ASCII (curly quotes, a final sigma, the Kelvin sign, dotted capital I). The boilerplate guard
passes one-line paragraphs on a shorter path: it must drop the same lines as for paragraphs of several.
"""

from __future__ import annotations

import re
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.core.items import normalise_text
from crawler.extract.core import DISAGREE, KEEP_UNSEEN_WORDS, _agreed_paragraphs, _disagree, _word_count
from crawler.extract.guard import guard_paragraphs, is_boilerplate_line
from crawler.extract.tree import (
    common_shingle_bounds,
    count_words,
    lower_words,
    shared_paragraphs,
    shingle_f1_words,
)
from crawler.outlet import load_outlet

EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = ["the", "Port", "strike", "day", "1", "snake_case", "Straße", "déjà", "İstanbul", "ΟΔΟΣ", "\u212a", "ﬁne"]
GAPS = [" ", " ", " ", ", ", ". ", "\u2019", " \u2014 ", "\xa0", "-", ".", "\t", " « ", "\u0307"]


def _plain_words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _plain_f1(wa: list[str], wb: list[str], n: int = 4) -> float:
    """The F1 of the n-word shingle counts, computed the long way."""
    if wa == wb:
        return 1.0

    def grams(words: list[str]) -> Counter[tuple[str, ...]]:
        if len(words) < n:
            return Counter([tuple(words)] if words else [])
        return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))

    ga, gb = grams(wa), grams(wb)
    common = sum((ga & gb).values())
    if not common:
        return 0.0
    precision, recall = common / sum(gb.values()), common / sum(ga.values())
    return 2 * precision * recall / (precision + recall)


@st.composite
def _paragraph(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(WORDS), max_size=12))
    gaps = draw(st.lists(st.sampled_from(GAPS), min_size=len(words) + 1, max_size=len(words) + 1))
    return "".join(gap + word for gap, word in zip(gaps, words, strict=False)) + gaps[-1]


@st.composite
def _two_readings(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A region's paragraphs and a generic reading made from them: some kept, repeated, merged, edited or new."""
    own = draw(st.lists(_paragraph(), max_size=10))
    generic: list[str] = []
    for para in own:
        how = draw(st.sampled_from(["keep", "keep", "drop", "merge", "edit", "twice"]))
        if how == "keep":
            generic.append(para)
        elif how == "merge" and generic:
            generic[-1] += " " + para
        elif how == "edit":
            generic.append(para + " " + draw(st.sampled_from(WORDS)))
        elif how == "twice":
            generic += [para, para]
    generic += draw(st.lists(_paragraph(), max_size=2))
    return own, generic


@EXAMPLES
@given(text=st.text(alphabet=st.sampled_from([*"aZ_9 .,-\t\u03a3\u03c3\u0130\u212a\xdf\u2019\xa0\u0307", "ﬁ"])))
def test_words_are_the_lower_case_word_runs_of_any_text(text: str) -> None:
    assert lower_words(text) == _plain_words(text)
    assert count_words(text) == len(_plain_words(text))


@EXAMPLES
@given(readings=_two_readings())
def test_the_region_and_the_generic_body_disagree_exactly_when_their_shingle_f1_is_low(
    readings: tuple[list[str], list[str]],
) -> None:
    own, generic = readings
    wa = [w for para in own for w in _plain_words(para)]
    wb = [w for para in generic for w in _plain_words(para)]
    # Paragraphs of the same text in both settle agreement when their shingles reach DISAGREE on their own.
    left, floor = Counter(generic), 0
    for para in own:
        if left[para] > 0:
            left[para] -= 1
            floor += max(0, len(_plain_words(para)) - 3)
    settled = min(len(wa), len(wb)) >= 4 and 2 * floor >= DISAGREE * (len(wa) - 3 + len(wb) - 3)
    assert _disagree(own, generic) == (not settled and _plain_f1(wa, wb) < DISAGREE)
    assert shingle_f1_words(wa, wb) == _plain_f1(wa, wb)


@EXAMPLES
@given(readings=_two_readings())
def test_shared_paragraphs_and_shingle_sets_bound_the_common_shingles(readings: tuple[list[str], list[str]]) -> None:
    own, generic = readings
    words = {" ".join(_plain_words(para)): _plain_words(para) for para in own + generic}
    pa, pb = [" ".join(_plain_words(p)) for p in own], [" ".join(_plain_words(p)) for p in generic]
    wa, wb = [w for key in pa for w in words[key]], [w for key in pb for w in words[key]]
    if min(len(wa), len(wb)) < 4:
        return
    ga = Counter(tuple(wa[i : i + 4]) for i in range(len(wa) - 3))
    gb = Counter(tuple(wb[i : i + 4]) for i in range(len(wb) - 3))
    common = sum((ga & gb).values())
    same, inner = shared_paragraphs(pa, pb, words)
    low, high = common_shingle_bounds(pa, pb, words, same, inner)
    assert inner <= low <= common <= high


@EXAMPLES
@given(readings=_two_readings(), headings=st.sets(_paragraph(), max_size=2))
def test_short_paragraphs_stay_exactly_when_the_generic_text_holds_them(
    readings: tuple[list[str], list[str]], headings: set[str]
) -> None:
    own, generic = readings
    kept = " ".join(generic)
    plain = [p for p in own if len(p.split()) >= KEEP_UNSEEN_WORDS or p in kept or p in headings]
    assert _agreed_paragraphs(own, generic, headings) == plain


LINES = ["Read more:", " Read More: ", "presstv.ir", "www.presstv.com/", "Share This Article", "Dock workers", " "]


@EXAMPLES
@given(paragraphs=st.lists(st.lists(st.sampled_from(LINES), min_size=1, max_size=3).map("\n".join), max_size=6))
def test_the_guard_drops_the_same_lines_whether_paragraphs_are_one_line_or_several(paragraphs: list[str]) -> None:
    outlet = load_outlet()
    kept: list[str] = []
    removed: list[str] = []
    for para in paragraphs:
        lines = [line.strip() for line in para.split("\n") if line.strip()]
        removed += [line for line in lines if is_boilerplate_line(line, outlet)]
        good = [line for line in lines if not is_boilerplate_line(line, outlet)]
        if good:
            kept.append("\n".join(good))
    guarded = guard_paragraphs(paragraphs, outlet)
    assert (guarded.text, guarded.removed) == ("\n\n".join(kept), removed)


@EXAMPLES
@given(lines=st.lists(st.lists(st.sampled_from([*WORDS, *GAPS, "\n", "\x1b", "\xad"]), max_size=6).map("".join)))
def test_a_body_has_as_many_words_however_they_are_counted(lines: list[str]) -> None:
    # Bodies of normal lines (the usual) and of raw ones, joined by blank lines.
    for body in ("\n\n".join(lines), "\n\n".join(normalise_text(line) for line in lines)):
        assert _word_count(body, normalise_text(body)) == len(body.split())
