"""Print how extraction holds up on redesign-like variants of every article fixture (a script, not a test).

Each article fixture page is mutated the way a redesign would change it (crawler.testing.mutations: classes and ids
renamed, extra wrappers, header/sidebar/footer moved, attribute quoting and whitespace changed, the article in
a table, and all of these at once), extracted, and scored against the fixture's expected output.

    .venv/bin/python bench/robustness.py             # table per fixture and mutation, then the summary
    .venv/bin/python bench/robustness.py --seeds 5   # more variants per mutation
    .venv/bin/python bench/robustness.py --no-layouts   # without the profile's layout rules (cues alone)
    .venv/bin/python bench/robustness.py --benchmark DIR   # also: other sites' pages read as outlet pages
    .venv/bin/python bench/robustness.py --transplant DIR [--transplant DIR2]   # the transplant suite alone

With --benchmark DIR (or the environment variable ARTICLE_BENCHMARK_DIR) naming a copy of the public
article-extraction-benchmark (ground-truth.json and html/*.html.gz), every benchmark page is also extracted as if
it were a Press TV page in a layout never seen: real markup of 181 other sites, whose furniture nobody wrote a
rule for, through the outlet path (profile layouts tried first, then the cues and the density region), scored
against the benchmark's ground truth beside the generic path on the page's real URL.

With --transplant DIR (a copy of the article-extraction-benchmark or of a WCXB split: pages/NNNN.html.gz +
NNNN.json; give it once per folder) the transplant suite runs instead (crawler.testing.transplant): every page whose
article block is found gets a Press TV article written into that block in the page's own markup, with Press
TV's real furniture (share bar, "Read more:" and "Lire aussi" cards, alternate-addresses note, a top menu,
captions, bylines, app promos), and is read at the article's Press TV URL. Printed: one line per variant, then
mean and min body F1, leaks by kind, title and date right, and sections taken from the menu.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from crawler.extract import NotAnArticle, extract_full
from crawler.testing.fixturecheck import f1, load_fixtures, precision_recall, shingle_counts
from crawler.testing.mutations import MUTATIONS, VariantScore, judge_all
from crawler.testing.transplant import (
    LEAK_KINDS,
    TransplantScore,
    judge,
    load_templates,
    stories_from_fixtures,
    summary,
    transplants,
)


def _cell(scores: list[VariantScore]) -> str:
    worst = min(s.body_f1 for s in scores)
    marks = ""
    if any(s.leaked for s in scores):
        marks += "L"
    if not all(s.title_ok for s in scores):
        marks += "T"
    if not all(s.date_ok for s in scores):
        marks += "D"
    if any(s.refused for s in scores):
        marks += "R"
    return f"{worst:.3f}{marks:<3}"


def foreign(bench: Path) -> None:
    """Other sites' pages read as Press TV pages of an unknown layout, beside the generic path."""
    truth = json.loads((bench / "ground-truth.json").read_text(encoding="utf-8"))
    rows: dict[str, list[tuple[float, float]]] = {"outlet path (cues)": [], "generic path": []}
    refused = 0
    for i, (key, item) in enumerate(sorted(truth.items())):
        html = gzip.decompress((bench / "html" / f"{key}.html.gz").read_bytes())
        for name, url in (
            ("outlet path (cues)", f"https://www.presstv.ir/Detail/2020/01/01/{100000 + i}/Page"),
            ("generic path", str(item["url"])),
        ):
            try:
                body = extract_full(html, url).article.body
            except NotAnArticle:
                body = ""
                refused += name.startswith("outlet")
            rows[name].append(precision_recall(*shingle_counts(str(item["articleBody"]), body)))
    print(f"\nother sites' markup read as outlet pages ({len(truth)} pages of the article-extraction-benchmark)")
    print(f"{'path':<20} {'F1':>6} {'precision':>10} {'recall':>7}")
    for name, scores in rows.items():
        p = statistics.mean(s[0] for s in scores)
        r = statistics.mean(s[1] for s in scores)
        print(f"{name:<20} {f1(p, r):>6.3f} {p:>10.3f} {r:>7.3f}")
    print(f"outlet path refused {refused} pages (scored 0)")


def transplant_suite(folders: list[Path], fixtures_dir: Path, seed: int, limit: int | None) -> int:
    """Press TV articles in other sites' real pages: one line per variant, then the summary."""
    stories = stories_from_fixtures(load_fixtures(fixtures_dir))
    if len(stories) < 2:
        print(f"need at least two article fixtures under {fixtures_dir}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    scores: list[TransplantScore] = []
    skipped = 0
    for folder in folders:
        try:
            templates = load_templates(folder)[:limit]
        except (OSError, ValueError) as exc:
            print(f"--transplant {folder}: {exc}", file=sys.stderr)
            return 2
        made = list(transplants(templates, stories, seed=seed))
        skipped += len(templates) - len(made)
        scores += [judge(t) for t in made]
    spent = time.perf_counter() - start
    print(f"{'template':<16} {'story':<42} {'F1':>6} {'title':>5} {'date':>5} {'section':<12} leaks")
    for s in scores:
        leaks = ", ".join(f"{k} {v[0][:40]!r}" for k, v in s.leaked.items())
        print(
            f"{s.template:<16} {s.story:<42} {s.body_f1:>6.3f} {'ok' if s.title_ok else 'NO':>5} "
            f"{'ok' if s.date_ok else 'NO':>5} {str(s.section)[:12]:<12} "
            + (f"refused: {s.refused}" if s.refused else leaks)
        )
    figures = summary(scores)
    if not scores:
        print("no transplant made: no template's article block was found", file=sys.stderr)
        return 2
    print(f"\n{figures['variants']} transplants ({skipped} pages skipped: article block not found) in {spent:.1f} s")
    print(
        f"body F1: mean {figures['mean_f1']:.3f}, min {figures['min_f1']:.3f}, "
        f"{figures['below_0.93']} variants below 0.93; refused {figures['refused']}"
    )
    print(
        f"variants with a leak: {figures['variants_leaking']}; by kind: "
        + ", ".join(f"{k} {figures['leaks'][k]}" for k in LEAK_KINDS)
    )
    print(
        f"title right {figures['title_right']:.1%}, date right {figures['date_right']:.1%}, "
        f"section set {figures['section_set']} (from the menu {figures['section_from_menu']})"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="variants per fixture and mutation (default 2)")
    parser.add_argument(
        "--fixtures", default="crawler/testing/fixtures/presstv", help="fixture folder (default: %(default)s)"
    )
    parser.add_argument("--only", help="only fixtures whose name contains this")
    parser.add_argument(
        "--benchmark",
        type=Path,
        default=os.environ.get("ARTICLE_BENCHMARK_DIR"),
        help="article-extraction-benchmark folder: also read other sites' pages as outlet pages",
    )
    parser.add_argument(
        "--no-layouts",
        action="store_true",
        help="drop the profile's layout rules: measure the layout-independent rules alone",
    )
    parser.add_argument(
        "--transplant",
        type=Path,
        action="append",
        help="benchmark folder whose pages receive Press TV articles (repeatable): run that suite",
    )
    parser.add_argument("--seed", type=int, default=0, help="transplant seed (default 0)")
    parser.add_argument("--limit", type=int, help="transplant only the first N pages of each folder")
    args = parser.parse_args()
    if args.transplant:
        return transplant_suite(args.transplant, Path(args.fixtures), args.seed, args.limit)
    fixtures = [fx for fx in load_fixtures(Path(args.fixtures), args.only) if fx.kind == "articles"]
    if not fixtures:
        print(f"no article fixtures under {args.fixtures}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    scores = judge_all(fixtures, MUTATIONS, args.seeds, layouts=not args.no_layouts)
    spent = time.perf_counter() - start
    by: dict[tuple[str, str], list[VariantScore]] = defaultdict(list)
    for s in scores:
        by[(s.fixture, s.mutation)].append(s)
    width = max(len(fx.name) for fx in fixtures)
    print("worst body F1 per fixture and mutation (L furniture leaked, T title wrong, D date wrong, R refused)")
    print("fields: share of variants whose lead, modified, section, authors, image and caption all match\n")
    print(f"{'fixture':<{width}}  " + "  ".join(f"{m:<11}" for m in MUTATIONS))
    for fx in fixtures:
        print(f"{fx.name:<{width}}  " + "  ".join(_cell(by[(fx.name, m)]) + "   " for m in MUTATIONS))
    print()
    print(
        f"{'mutation':<10} {'variants':>8} {'mean F1':>8} {'min F1':>7} {'leaks':>6} {'title':>7} {'date':>7} "
        f"{'fields':>7}"
    )
    for m in (*MUTATIONS, "all"):
        group = [s for s in scores if m == "all" or s.mutation == m]
        print(
            f"{m:<10} {len(group):>8} {statistics.mean(s.body_f1 for s in group):>8.3f} "
            f"{min(s.body_f1 for s in group):>7.3f} {sum(1 for s in group if s.leaked):>6} "
            f"{sum(s.title_ok for s in group) / len(group):>7.1%} {sum(s.date_ok for s in group) / len(group):>7.1%} "
            f"{sum(not s.wrong_fields for s in group) / len(group):>7.1%}"
        )
    unknown = sum(1 for s in scores if s.layout == "unknown")
    print(
        f"\n{len(scores)} variants of {len(fixtures)} fixtures in {spent:.1f} s; "
        f"{unknown} matched no layout rule (extracted by the layout-independent rules alone)"
    )
    for s in scores:
        if s.leaked or s.refused or not s.title_ok or not s.date_ok or s.body_f1 < 0.93:
            print(
                f"  {s.fixture} {s.mutation}#{s.seed}: F1 {s.body_f1:.3f} layout={s.layout} "
                f"title={'ok' if s.title_ok else 'WRONG'} date={'ok' if s.date_ok else 'WRONG'}"
                + (f" refused={s.refused}" if s.refused else "")
                + (f" leaked={s.leaked[:3]}" if s.leaked else "")
            )
    wrong: dict[str, int] = defaultdict(int)
    for s in scores:
        for name in s.wrong_fields:
            wrong[name] += 1
    if wrong:
        print(
            "other fields that differ from the fixture (variants): "
            + ", ".join(f"{k} {v}" for k, v in sorted(wrong.items()))
        )
    if args.benchmark:
        bench = Path(args.benchmark)
        if not (bench / "ground-truth.json").is_file():
            print(
                f"no ground-truth.json in {bench}: pass --benchmark DIR, a copy of the article-extraction-benchmark",
                file=sys.stderr,
            )
            return 2
        foreign(bench)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
