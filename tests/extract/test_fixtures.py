"""Every saved Press TV fixture page, judged field by field the way `crawler fixtures check` judges it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from crawler.core.items import ARTICLE_FIELDS, normalise_text
from crawler.testing.fixturecheck import (
    IGNORED_FIELDS,
    MIN_BODY_CONTAINS,
    MIN_BODY_F1,
    SNIPPET_KEYS,
    TRUTH_KEYS,
    Fixture,
    Verdict,
    body_f1,
    compare,
    hand_written_problems,
    load_fixtures,
    regen,
)

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crawler" / "testing" / "fixtures" / "presstv"
ALL = load_fixtures(FIXTURES)
ARTICLES = [fx for fx in ALL if fx.kind == "articles"]
NON_ARTICLES = [fx for fx in ALL if fx.kind == "non_articles"]


def test_enough_fixtures_of_every_kind() -> None:
    assert len(ALL) >= 16
    assert len(NON_ARTICLES) >= 5
    urls = [fx.url for fx in ALL]
    assert len(set(urls)) == len(urls), "two fixtures share a URL: the look-alike site serves them by path"
    for fx in ALL:
        assert fx.page.is_file() and fx.description, fx.name
        assert fx.name[:10].count("-") == 2 and fx.name[10] == "_", f"{fx.name}: not <YYYY-MM-DD>_<slug>"


@cache
def verdict_of(name: str) -> Verdict:
    """One comparison per fixture, shared by its per-field tests."""
    return compare(next(fx for fx in ALL if fx.name == name))


DERIVED_FIELDS = frozenset({"source_url", "mirror", "extractor_version", "content_hash", "word_count"})
"""Fields a snapshot comparison cannot vouch for: the fixture's own URL and its host, a constant, and two values
computed from the body (which the body F1 and the snippets judge)."""

FIELD_CASES = [
    (fx.name, key)
    for fx in ARTICLES
    for key in sorted(fx.expected)
    if key not in SNIPPET_KEYS and key not in DERIVED_FIELDS
]


@pytest.mark.parametrize(("name", "field"), FIELD_CASES, ids=[f"{n}-{k}" for n, k in FIELD_CASES])
def test_article_fixture_field(name: str, field: str) -> None:
    verdict = verdict_of(name)
    assert verdict.article is not None, f"refused: {verdict.refused}"
    expected = next(fx for fx in ARTICLES if fx.name == name).expected[field]
    assert verdict.article.to_dict()[field] == expected


@pytest.mark.parametrize("fx", ARTICLES, ids=[fx.name for fx in ARTICLES])
def test_article_fixture_matches_its_hand_written_truth(fx: Fixture) -> None:
    verdict = verdict_of(fx.name)
    assert verdict.article is not None, f"refused: {verdict.refused}"
    got = verdict.article.to_dict()
    assert set(fx.truth) == set(TRUTH_KEYS), "meta.json states title, published, section and authors"
    assert (got["title"], got["published"], got["section"], list(got["authors"] or [])) == (
        fx.truth["title"],
        fx.truth["published"],
        fx.truth["section"],
        fx.truth["authors"],
    )


@pytest.mark.parametrize("fx", ARTICLES, ids=[fx.name for fx in ARTICLES])
def test_article_fixture_hand_written_lists_are_full_and_can_match(fx: Fixture) -> None:
    assert hand_written_problems(fx) == {}
    assert len(fx.expected["body_contains"]) >= MIN_BODY_CONTAINS


@pytest.mark.parametrize("fx", ARTICLES, ids=[fx.name for fx in ARTICLES])
def test_article_fixture_has_no_unexpected_field_and_passes_the_check(fx: Fixture) -> None:
    verdict = verdict_of(fx.name)
    assert verdict.article is not None, f"refused: {verdict.refused}"
    empty: tuple[object, ...] = (None, "", [], 0)
    got = verdict.article.to_dict()
    extra = {k for k, v in got.items() if k not in fx.expected and k not in IGNORED_FIELDS and v not in empty}
    assert not extra, f"{fx.name}: fields not in expected.json: {sorted(extra)}"
    assert verdict.ok, verdict.failures


@pytest.mark.parametrize("fx", ARTICLES, ids=[fx.name for fx in ARTICLES])
def test_article_fixture_furniture_never_reaches_the_body(fx: Fixture) -> None:
    verdict = verdict_of(fx.name)
    assert verdict.article is not None
    body = normalise_text(verdict.article.body).lower()
    excludes = fx.expected["body_excludes"]
    assert excludes, "every article fixture lists its furniture"
    for snippet in excludes:
        assert normalise_text(snippet).lower() not in body, f"{fx.name}: leaked {snippet!r}"
    for snippet in fx.expected["body_contains"]:
        assert normalise_text(snippet) in normalise_text(verdict.article.body), f"{fx.name}: missing {snippet!r}"
    assert verdict.body_f1 is not None and verdict.body_f1 >= MIN_BODY_F1


@pytest.mark.parametrize("fx", NON_ARTICLES, ids=[fx.name for fx in NON_ARTICLES])
def test_non_article_fixture_is_refused_for_its_reason(fx: Fixture) -> None:
    verdict = compare(fx)
    assert verdict.article is None, f"{fx.name} extracted as an article"
    assert fx.expected["not_an_article"].lower() in (verdict.refused or "").lower()


def test_mirror_copies_are_one_article() -> None:
    copies = [compare(fx).article for fx in ARTICLES if "iran-un-sanctions" in fx.name]
    assert len(copies) == 3
    assert len({a.mirror for a in copies if a}) == 3
    assert len({(a.article_id, a.url, a.content_hash) for a in copies if a}) == 1


def test_seed_example_furniture_is_all_excluded() -> None:
    seed = next(fx for fx in ARTICLES if "kim-pompeo" in fx.name)
    excludes = " ".join(seed.expected["body_excludes"])
    for furniture in (
        "News / Koreas / Editor's Choice",
        "(Photo by AFP)",
        "Read more:",
        "alternate addresses",
        "www.presstv.co.uk",
        "SHARE THIS ARTICLE",
        "Press TV News Roku",
    ):
        assert furniture in excludes


def test_body_f1_scores_shingles() -> None:
    text = "one two three four five six seven eight nine ten"
    assert body_f1(text, text) == 1.0
    assert body_f1(text, "") == 0.0
    assert 0.0 < body_f1(text, "one two three four five six seven") < 1.0


def _copy(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "fx"
    fx = next(f for f in ALL if f.name == name)
    shutil.copytree(fx.path, root / fx.kind / fx.name)
    return root


def test_regen_fills_missing_fields_only_and_keeps_hand_written_lists(tmp_path: Path) -> None:
    root = _copy(tmp_path, ARTICLES[0].name)
    fx = load_fixtures(root)[0]
    path = fx.path / "expected.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["title"] = "A hand-checked title"
    data.pop("published")
    data["body_excludes"] = ["keep me"]
    path.write_text(json.dumps(data), encoding="utf-8")
    fx = load_fixtures(root)[0]
    changed = regen(fx)
    after = json.loads(path.read_text(encoding="utf-8"))
    assert changed and all(k in ARTICLE_FIELDS for k in changed)
    assert after["title"] == "A hand-checked title"  # existing values are not refreshed by default
    assert after["body_excludes"] == ["keep me"]
    assert list(after) == sorted(after)
    regen(load_fixtures(root)[0], ["title"])
    assert json.loads(path.read_text(encoding="utf-8"))["title"] != "A hand-checked title"


@pytest.mark.integration
def test_fixtures_check_command_prints_table_and_fails_on_a_broken_fixture(tmp_path: Path) -> None:
    root = _copy(tmp_path, ARTICLES[0].name)
    cmd = [sys.executable, "-m", "crawler", "fixtures", "check", "--dir", str(root)]
    ok = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "verdict" in ok.stdout and "body F1" in ok.stdout and " ok " in ok.stdout
    path = next(root.glob("*/*/expected.json"))
    data = json.loads(path.read_text(encoding="utf-8"))
    data["body_excludes"].append(data["body"].split("\n\n")[0][:40])
    data["title"] = "Wrong"
    path.write_text(json.dumps(data), encoding="utf-8")
    bad = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout and "title" in bad.stdout and "body_excludes" in bad.stdout


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", "fixtures", "check", "--dir", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _edit(root: Path, name: str, change: dict[str, object]) -> None:
    path = next(root.glob(f"*/*/{name}"))
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(change)
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.integration  # the command in a subprocess, per case
@pytest.mark.parametrize(
    ("name", "change", "complaint"),
    [
        ("expected.json", {"body_contains": []}, "body_contains: 0 hand-written snippets"),
        ("expected.json", {"body_excludes": []}, "body_excludes: empty"),
        # The 2012 page's navigation is "Home | Middle East | World": written with slashes it can never match.
        ("expected.json", {"body_excludes": ["Home / Middle East / World"]}, "never matches"),
        (
            "expected.json",
            {
                "body_contains": [
                    "The Arab League has decided",
                    "to extend its observer mission",
                    "in Syria for another month",
                ]
            },
            "snippets bunched",
        ),
        (
            "meta.json",
            {"truth": {"title": "Arab League extends Syria observer mission"}},
            "truth lacks published, section, authors",
        ),
        (
            "meta.json",
            {
                "truth": {
                    "title": "Arab League extends Syria observer mission",
                    "published": "2012-01-21T02:04:00+03:30",
                    "section": "Middle East",
                    "authors": ["Hassan Shah"],
                }
            },
            "truth section: got null",
        ),
    ],
)
def test_fixtures_check_fails_a_fixture_whose_hand_written_truth_is_thin_or_cannot_match(
    tmp_path: Path, name: str, change: dict[str, object], complaint: str
) -> None:
    root = _copy(tmp_path, "2012-01-21_syria-arab-league-mission")
    assert _check(root).returncode == 0
    _edit(root, name, change)
    bad = _check(root)
    assert bad.returncode == 1, bad.stdout
    row = next(line for line in bad.stdout.splitlines() if "syria-arab-league" in line)
    assert " FAIL " in row and complaint in row, row
