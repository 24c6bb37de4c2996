"""Compare extraction output with the saved fixture pages' expected.json and hand-written truth: one verdict each.

Used by `crawler fixtures check|regen`, tests/extract/test_fixtures.py and bench/quality.py, so all three judge
a fixture the same way. Body similarity is scored with 4-word shingles, as the public
article-extraction benchmark does (precision/recall over shingle counts, F1 of the two).

expected.json is a snapshot of the extractor's output; the truth is written by hand from the page: meta.json's
`truth` (title, published, section, authors) and expected.json's `body_contains`/`body_excludes` lists. A fixture
whose hand-written truth is missing, too thin or could never match fails like a wrong field.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from crawler.core.items import Article, normalise_text
from crawler.extract import NotAnArticle, extract

DEFAULT_DIR = Path(__file__).resolve().parent / "fixtures" / "presstv"
MIN_BODY_F1 = 0.98
"""Body F1 (4-word shingles) an article fixture must reach against its expected body."""

IGNORED_FIELDS = frozenset({"extracted_at", "fetched_from", "archived_at"})
"""Fields that change on every run or are facts of the fetch, not of the page, so never part of expected.json."""

SNIPPET_KEYS = ("body_contains", "body_excludes")
"""Hand-written snippet lists: `regen` never touches these (nor `not_an_article`)."""

TRUTH_KEYS = ("title", "published", "section", "authors")
"""Fields every article fixture's meta.json `truth` states by hand (section null when the page shows none)."""

MIN_BODY_CONTAINS = 3
"""Hand-written body snippets an article fixture needs, spread over its body."""

MIN_SNIPPET_SPREAD = 0.5
"""The body_contains snippets must span at least this share of the expected body (first to last snippet)."""

_TOKEN = re.compile(r"\w+")


# ---- shingle scoring (the article-extraction-benchmark's method) -----------------------------------


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """Counts of the n-word shingles of a text (words are \\w+ runs; short texts give one shingle)."""
    words = _TOKEN.findall(text or "")
    return Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)) if words[i : i + n])


def shingle_counts(true: str, pred: str, n: int = 4) -> tuple[float, float, float]:
    """(tp, fp, fn) shingle counts normalised to sum 1, so a long page weighs no more than a short one."""
    t, p = shingles(true, n), shingles(pred, n)
    tp = float(sum((t & p).values()))
    fp = float(sum((p - t).values()))
    fn = float(sum((t - p).values()))
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision_recall(tp: float, fp: float, fn: float) -> tuple[float, float]:
    """Precision and recall of one page; two empty texts agree perfectly."""
    if fp == fn == 0:
        return 1.0, 1.0
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall


def to_minute(value: str | None) -> datetime | None:
    """An ISO 8601 time cut to the minute (what the fixtures' truths are written to), None when unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(second=0, microsecond=0)
    except ValueError:
        return None


def f1(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall (0 when both are 0)."""
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def body_f1(expected: str, got: str) -> float:
    """F1 of one body against its expected text, by 4-word shingles."""
    return f1(*precision_recall(*shingle_counts(expected, got)))


# ---- fixtures --------------------------------------------------------------------------------------


@dataclass
class Fixture:
    """One saved page with its URL, description and expectations."""

    name: str
    kind: str
    path: Path
    url: str
    description: str
    expected: dict[str, Any]
    truth: dict[str, Any] = field(default_factory=dict)
    """Hand-written title, published, section and authors (meta.json `truth`)."""

    @property
    def page(self) -> Path:
        """The saved page file."""
        return self.path / "page.html"


@dataclass
class Verdict:
    """The outcome of comparing one fixture: ok, the body F1, and each failing field with why."""

    fixture: Fixture
    ok: bool
    body_f1: float | None = None
    failures: dict[str, str] = field(default_factory=dict)
    article: Article | None = None
    refused: str | None = None


def load_fixtures(root: Path = DEFAULT_DIR, only: str | None = None) -> list[Fixture]:
    """Every fixture under root/{articles,non_articles}/<name>/ (page.html + meta.json + expected.json)."""
    found: list[Fixture] = []
    for kind in ("articles", "non_articles"):
        folder = root / kind
        if not folder.is_dir():
            continue
        for path in sorted(p for p in folder.iterdir() if p.is_dir()):
            if only and only not in path.name:
                continue
            meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
            exp_file = path / "expected.json"
            expected = json.loads(exp_file.read_text(encoding="utf-8")) if exp_file.exists() else {}
            found.append(
                Fixture(
                    path.name,
                    kind,
                    path,
                    meta["url"],
                    meta.get("description", ""),
                    expected,
                    dict(meta.get("truth") or {}),
                )
            )
    return found


def run_extraction(fx: Fixture) -> tuple[Article | None, str | None]:
    """The article extracted from a fixture page, or the NotAnArticle reason."""
    try:
        return extract(fx.page.read_bytes(), fx.url), None
    except NotAnArticle as exc:
        return None, exc.reason


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _more(items: list[str]) -> str:
    return f" (+{len(items) - 1} more)" if len(items) > 1 else ""


def _squash(text: str) -> str:
    """Text without any whitespace, lower case: what a snippet must at least share with the page to match."""
    return re.sub(r"\s+", "", normalise_text(text)).lower()


def page_text(fx: Fixture) -> str:
    """Every text node of the saved page, joined: a body can only ever hold text from here."""
    try:
        root = lxml_html.document_fromstring(fx.page.read_bytes())
    except (ValueError, etree.ParserError) as exc:
        raise ValueError(f"{fx.name}: page.html does not parse: {exc}") from None
    return " ".join(root.itertext())


def hand_written_problems(fx: Fixture) -> dict[str, str]:
    """What is wrong with an article fixture's hand-written truth: missing truth fields, too few body snippets,
    snippets bunched in one place, empty lists, or entries that can never match because the page does not
    hold their text. Non-article fixtures have none."""
    exp = fx.expected
    if "not_an_article" in exp or fx.kind != "articles":
        return {}
    problems: dict[str, str] = {}
    missing = [k for k in TRUTH_KEYS if k not in fx.truth]
    if missing:
        problems["truth"] = f"meta.json truth lacks {', '.join(missing)}: write them from the page"
    contains = [str(s) for s in exp.get("body_contains") or []]
    excludes = [str(s) for s in exp.get("body_excludes") or []]
    if len(contains) < MIN_BODY_CONTAINS:
        problems["body_contains"] = (
            f"{len(contains)} hand-written snippets; write at least {MIN_BODY_CONTAINS} spread over the body"
        )
    if not excludes:
        problems["body_excludes"] = "empty: list the page's furniture that must stay out of the body"
    text = _squash(page_text(fx))
    never = [s for s in contains + excludes if not _squash(s) or _squash(s) not in text]
    if never:
        problems["never matches"] = f"{_short(never[0])} is not in the page's text" + _more(never)
    body = _squash(str(exp.get("body", "")))
    places = [body.find(_squash(s)) for s in contains]
    spread_known = len(contains) >= MIN_BODY_CONTAINS and body and all(p >= 0 for p in places)
    if spread_known and max(places) - min(places) < MIN_SNIPPET_SPREAD * len(body):
        problems.setdefault("body_contains", "snippets bunched in one part of the body: spread them out")
    return problems


def _truth_failures(fx: Fixture, got: dict[str, Any]) -> dict[str, str]:
    failures: dict[str, str] = {}
    for key in TRUTH_KEYS:
        if key not in fx.truth:
            continue
        want, have = fx.truth[key], got.get(key)
        if key == "authors":
            want, have = list(want or []), list(have or [])
        if have != want:
            failures[f"truth {key}"] = f"got {_short(have)}, want {_short(want)}"
    return failures


def compare(fx: Fixture) -> Verdict:
    """Judge one fixture: the hand-written truth holds and is sound, every expected field equal, snippets
    in/out, body F1 >= MIN_BODY_F1."""
    article, refused = run_extraction(fx)
    exp = fx.expected
    failures: dict[str, str] = hand_written_problems(fx)
    if "not_an_article" in exp:
        if article is not None:
            failures["not_an_article"] = f"extracted an article: {_short(article.title)}"
        elif str(exp["not_an_article"]).lower() not in (refused or "").lower():
            failures["not_an_article"] = f"refused for another reason: {refused!r}"
        return Verdict(fx, not failures, None, failures, article, refused)
    if article is None:
        return Verdict(fx, False, 0.0, {**failures, "*": f"refused: {refused}"}, None, refused)
    got = article.to_dict()
    failures.update(_truth_failures(fx, got))
    for key, want in sorted(exp.items()):
        if key in SNIPPET_KEYS:
            continue
        if key not in got:
            failures[key] = "no such item field"
        elif got[key] != want:
            failures[key] = f"got {_short(got[key])}, want {_short(want)}"
    for key, value in sorted(got.items()):
        if key not in exp and key not in IGNORED_FIELDS and value not in (None, "", [], 0):
            failures[key] = f"not in expected.json: {_short(value)} (run `crawler fixtures regen`)"
    body = article.body
    norm_body = normalise_text(body)
    missing = [s for s in exp.get("body_contains", []) if normalise_text(s) not in norm_body]
    if missing:
        failures["body_contains"] = f"missing {_short(missing[0])}" + _more(missing)
    # Furniture must not appear in any case: "Share This Article" leaking is as bad as the capitals.
    leaked = [s for s in exp.get("body_excludes", []) if normalise_text(s).lower() in norm_body.lower()]
    if leaked:
        failures["body_excludes"] = f"leaked {_short(leaked[0])}" + _more(leaked)
    score = body_f1(str(exp.get("body", "")), body)
    if score < MIN_BODY_F1:
        failures.setdefault("body", f"F1 {score:.3f} < {MIN_BODY_F1}")
    return Verdict(fx, not failures, score, failures, article, None)


def expected_from(article: Article) -> dict[str, Any]:
    """The expected.json fields for an extracted article: every non-empty field except extracted_at."""
    return {
        k: v for k, v in sorted(article.to_dict().items()) if k not in IGNORED_FIELDS and v not in (None, "", [], 0)
    }


def regen(fx: Fixture, fields: list[str] | None = None) -> list[str]:
    """Refresh expected.json of one fixture and return the fields changed.

    With `fields`, those fields are rewritten from the current extraction; without, only fields missing
    from expected.json are filled (existing values are the hand-checked truth). The snippet lists and
    `not_an_article` are never touched.
    """
    exp = dict(fx.expected)
    if "not_an_article" in exp:
        return []
    article, refused = run_extraction(fx)
    if article is None:
        raise NotAnArticle(f"{fx.name}: refused ({refused}); fix the page or mark it not_an_article")
    fresh = expected_from(article)
    changed: list[str] = []
    protected = set(SNIPPET_KEYS) | {"not_an_article"}
    names = fields if fields is not None else [k for k in fresh if k not in exp]
    for key in names:
        if key in protected or key in IGNORED_FIELDS:
            continue
        if key in fresh:
            if exp.get(key) != fresh[key]:
                exp[key] = fresh[key]
                changed.append(key)
        elif key in exp:
            del exp[key]
            changed.append(key)
    exp.setdefault("body_contains", [])
    exp.setdefault("body_excludes", [])
    if changed or not (fx.path / "expected.json").exists():
        write_expected(fx.path / "expected.json", exp)
        fx.expected = exp
    return changed


def write_expected(path: Path, data: dict[str, Any]) -> None:
    """Write expected.json with sorted keys, UTF-8, one trailing newline."""
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
