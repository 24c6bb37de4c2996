"""Print body F1, snippet leaks and CPU time of three readings of WCXB article pages (a script, not a test).

Usage: .venv/bin/python bench/wcxb.py [--benchmark DIR] [--limit N] [--worst N]

DIR holds WCXB pages (https://github.com/Murrough-Foley/web-content-extraction-benchmark, CC-BY-4.0):
pages/NNNN.html.gz (the page as crawled) and pages/NNNN.json (its ground truth); without --benchmark the folder
named by the environment variable WCXB_DIR is read. Use the development split only: the test split is for a
final evaluation, never for tuning.

Three readings of every page, taking turns page by page (which one goes first rotates):
  trafilatura   plain trafilatura.extract(html, include_comments=False), as a user would call it
  generic       crawler.extract on the page's own URL (the generic path: no outlet profile applies)
  outlet        crawler.extract on a Press TV article URL: the page read as a Press TV page in a layout never
                seen (the layout-independent path: cues, density region, second opinion)

Scores, as WCXB defines them: word-level F1 of lowercase \\w+ tokens (bag of words, counts clipped) against
ground_truth.main_content, averaged over pages; `with` snippets of the ground truth missing from the body and
`without` snippets (page furniture) found in it, a snippet counting as found when its \\w+ token sequence occurs in
the body's. CPU time is time.process_time around each call, trafilatura's per-string caches cleared before
every call as bench/quality.py does, so no reading profits from another having seen the page.

A fourth row, `outlet, lead + body`, scores the same outlet reading's `lead` and `body` together: what a user of
the record reads as the article's text (on a Press TV page the standfirst is a field of its own, while WCXB's
main_content holds it in the text). It costs no call of its own.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import trafilatura
from quality import forget_page_strings, warm_stop_lists

from crawler.extract import NotAnArticle, extract

ENV = "WCXB_DIR"
_TOKEN = re.compile(r"\w+")

Reading = Callable[[bytes, str, int], str]


def _trafilatura(html: bytes, url: str, i: int) -> str:
    return trafilatura.extract(html, include_comments=False) or ""


def _generic(html: bytes, url: str, i: int) -> str:
    try:
        return extract(html, url).body
    except NotAnArticle:
        return ""


def presstv_url(i: int) -> str:
    """A Press TV article URL with a 6-digit id of its own for page number i."""
    return f"https://www.presstv.ir/Detail/2020/01/01/{600000 + i}/Some-Title"


LEADS: dict[int, str] = {}
"""The `lead` field of each page's outlet reading (the standfirst, a field of its own beside the body)."""


def _outlet(html: bytes, url: str, i: int) -> str:
    LEADS.pop(i, None)
    try:
        article = extract(html, presstv_url(i))
    except NotAnArticle:
        return ""
    LEADS[i] = article.lead
    return article.body


READINGS: dict[str, Reading] = {"trafilatura": _trafilatura, "generic": _generic, "outlet": _outlet}


WHOLE = "outlet, lead + body"
"""The outlet reading scored on its lead and body together (the same call's record)."""


def score(
    name: str,
    text: str,
    gt: dict[str, object],
    f1s: dict[str, list[float]],
    leaked: dict[str, int],
    missed: dict[str, int],
) -> list[str]:
    """Count one reading's F1, leaked `without` and missed `with` snippets on a page; the missed ones."""
    f1s[name].append(word_f1(str(gt.get("main_content") or ""), text))
    joined = " " + " ".join(tokens(text)) + " "
    lost = [s for s in snippets(gt, "with") if not contains(joined, s)]
    missed[name] += len(lost)
    leaked[name] += sum(1 for s in snippets(gt, "without") if contains(joined, s))
    return lost


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def word_f1(true: str, pred: str) -> float:
    t, p = Counter(tokens(true)), Counter(tokens(pred))
    if not t and not p:
        return 1.0
    common = sum((t & p).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(t.values())
    return 2 * precision * recall / (precision + recall)


def contains(body_tokens: str, snippet: str) -> bool:
    """True when the snippet's token sequence occurs in the body's (both as space-joined token strings)."""
    snip = " ".join(tokens(snippet))
    return bool(snip) and f" {snip} " in body_tokens


def snippets(truth: dict[str, object], key: str) -> list[str]:
    """The ground truth's `with` or `without` snippets."""
    value = truth.get(key)
    return [str(s) for s in value] if isinstance(value, list) else []


def load(root: Path, limit: int | None) -> list[tuple[str, str, bytes, dict[str, object]]]:
    pages = []
    for meta in sorted((root / "pages").glob("*.json"))[:limit]:
        data = json.loads(meta.read_text(encoding="utf-8"))
        html = gzip.decompress(meta.with_suffix(".html.gz").read_bytes())
        pages.append(
            (
                meta.stem,
                str(data.get("url") or f"https://example.invalid/{meta.stem}"),
                html,
                dict(data["ground_truth"]),
            )
        )
    return pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--benchmark",
        type=Path,
        default=Path(os.environ[ENV]) if os.environ.get(ENV) else None,
        help=f"WCXB folder with pages/*.json and pages/*.html.gz (default: ${ENV})",
    )
    ap.add_argument("--limit", type=int, default=None, help="only the first N pages")
    ap.add_argument("--worst", type=int, default=0, help="list the N pages where each reading trails trafilatura most")
    args = ap.parse_args(argv)
    if args.benchmark is None or not (args.benchmark / "pages").is_dir():
        print(
            f"WCXB: no pages/ folder in {args.benchmark}; pass --benchmark DIR (WCXB pages and ground truth) "
            f"or set ${ENV}",
            file=sys.stderr,
        )
        return 2
    pages = load(args.benchmark, args.limit)
    names = list(READINGS)
    rows = [*names, WHOLE]
    f1s: dict[str, list[float]] = {n: [] for n in rows}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    leaked = dict.fromkeys(rows, 0)
    missed = dict.fromkeys(rows, 0)
    in_lead = 0
    n_with = sum(len(snippets(gt, "with")) for *_, gt in pages)
    n_without = sum(len(snippets(gt, "without")) for *_, gt in pages)
    for _, url, html, _ in pages[:1]:  # warm-up: imports, compiled XPaths
        for i, fn in enumerate(READINGS.values()):
            fn(html, url, i)
    warm_stop_lists()
    for i, (_, url, html, gt) in enumerate(pages):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            forget_page_strings()
            c0 = time.process_time()
            body = READINGS[name](html, url, i)
            cpu[name].append(time.process_time() - c0)
            lost = score(name, body, gt, f1s, leaked, missed)
            if name == "outlet":
                lead = LEADS.get(i, "")
                joined_lead = " " + " ".join(tokens(lead)) + " "
                in_lead += sum(1 for s in lost if contains(joined_lead, s))
                score(WHOLE, f"{lead}\n{body}" if lead else body, gt, f1s, leaked, missed)
    base_cpu = statistics.mean(cpu["trafilatura"])
    print(
        f"WCXB ({args.benchmark.name}): {len(pages)} pages, {n_with} `with` and {n_without} `without` snippets; "
        f"trafilatura {trafilatura.__version__}\n"
    )
    print("| reading | body F1 | without leaked | with missed | CPU ms/page | CPU vs trafilatura |")
    print("|---|---|---|---|---|---|")
    for name in rows:
        mean_cpu = statistics.mean(cpu[name if name != WHOLE else "outlet"])
        print(
            f"| {name} | {statistics.mean(f1s[name]):.3f} | {leaked[name]} | {missed[name]} | "
            f"{1000 * mean_cpu:.1f} | {mean_cpu / base_cpu:.2f}x |"
        )
    print(
        f"\noutlet: {in_lead} of its missed `with` snippets stand in the article's `lead` field (a standfirst "
        "the page sets apart from its body: another element, class or container than the paragraphs after it)"
    )
    if args.worst:
        for name in names[1:]:
            gaps = sorted((f1s[name][i] - f1s["trafilatura"][i], pages[i][0]) for i in range(len(pages)))
            print(
                f"\n{name}: pages furthest below trafilatura: "
                + ", ".join(f"{pid} {gap:+.3f}" for gap, pid in gaps[: args.worst])
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
