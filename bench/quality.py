"""Print extraction quality and speed: crawler.extract beside plain trafilatura, on fixtures and a benchmark.

Usage: .venv/bin/python bench/quality.py [--benchmark DIR] [--fixtures DIR] [--limit N] [--repeat N]
                                         [--site-pages N] [--site-size BYTES] [--skip-bench]

The public benchmark (https://github.com/scrapinghub/article-extraction-benchmark, a checkout or its
release files: ground-truth.json and html/*.html.gz) is read from --benchmark DIR or, without it, from the
folder named by the environment variable ARTICLE_BENCHMARK_DIR.

Scores bodies with 4-word shingles as the public article-extraction benchmark does: per page
precision and recall of shingle counts (normalised per page), averaged over pages, F1 of the averages.
Both extractors run on the same pages in the same process, alternating page by page (and which goes
first), so machine load hits both alike; trafilatura's per-string caches are cleared before every call.
A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import justext.core as justext_core
import trafilatura
from trafilatura import external as tf_external
from trafilatura import utils as tf_utils

from crawler.extract import NotAnArticle, extract
from crawler.testing.fixturecheck import DEFAULT_DIR, f1, load_fixtures, precision_recall, shingle_counts

BENCH_ENV = "ARTICLE_BENCHMARK_DIR"

Page = tuple[str, str, bytes, str]  # (id, url, html bytes, true body)


def _crawler(html: bytes, url: str) -> str:
    try:
        return extract(html, url).body
    except NotAnArticle:
        return ""


def _trafilatura(html: bytes, url: str) -> str:
    # Plain trafilatura as a user would call it; decoding the bytes is part of its job too.
    return trafilatura.extract(html, include_comments=False) or ""


def bench_pages(root: Path, limit: int | None) -> list[Page]:
    truth = json.loads((root / "ground-truth.json").read_text(encoding="utf-8"))
    pages: list[Page] = []
    for key in sorted(truth)[:limit]:
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes())
        pages.append((key, truth[key].get("url") or f"https://example.invalid/{key}", html, truth[key]["articleBody"]))
    return pages


def fixture_pages(root: Path) -> list[Page]:
    return [
        (fx.name, fx.url, fx.page.read_bytes(), str(fx.expected.get("body", "")))
        for fx in load_fixtures(root)
        if fx.kind == "articles"
    ]


Extractor = Callable[[bytes, str], str]


def site_pages(n: int, size: int) -> list[Page]:
    """Article pages of the project's look-alike site (both layouts, padded to `size` bytes like real pages).

    No ground truth beyond the paragraphs the page was rendered from: the body is scored against those.
    """
    from datetime import UTC, datetime

    from crawler.testing.site.pages import ArticleSpec, RelatedLink, filler_paragraphs, render_article

    pages: list[Page] = []
    for i in range(n):
        paragraphs = filler_paragraphs(8, i)
        spec = ArticleSpec(
            article_id=str(700000 + i),
            published=datetime(2024, 3, 1, 10, 0, tzinfo=UTC),
            section_id="101",
            section_name="Iran",
            title=f"Headline number {i} about talks in Tehran",
            lead="A lead sentence that sums up the story in a few words.",
            paragraphs=paragraphs,
            caption="A caption under the photo. (Photo by AFP)",
            image_path="/Photo/2024/3/1/x.jpg",
            related=[RelatedLink("/Detail/2024/02/01/690000/Related-story", "A related story")],
            pad_to_bytes=size,
        )
        html = render_article(spec, "current" if i % 2 == 0 else "bootstrap")
        pages.append((spec.article_id, f"https://www.presstv.co.uk{spec.path}", html, "\n\n".join(paragraphs)))
    return pages


def forget_page_strings() -> None:
    """Clear trafilatura's caches keyed by text strings, so no call profits from an earlier call on the same
    page (crawler.extract runs trafilatura too). Caches that a long crawl keeps warm (stop lists) stay."""
    for fn in (tf_utils.line_processing, tf_utils.trim, tf_utils.return_printables_and_spaces):
        fn.cache_clear()


def warm_stop_lists() -> None:
    """Build trafilatura's merged justext stop list, and justext's lower-case set of it, before timing: both are
    made on the first page that needs justext (0.05-0.4 s each, once per process), which a warm-up page may not
    be, and would be charged to whichever extractor met such a page first. A long crawl has them built."""
    stop_list = tf_external.JT_STOPLIST or tf_external.jt_stoplist_init()
    justext_core.define_stoplist(stop_list)  # (cached by justext, keyed on the list)


def score(pages: list[Page], extractors: dict[str, Extractor], repeat: int) -> dict[str, dict[str, float]]:
    per: dict[str, list[tuple[float, float, float]]] = {name: [] for name in extractors}
    times: dict[str, list[float]] = {name: [] for name in extractors}
    cpu: dict[str, list[float]] = {name: [] for name in extractors}
    names = list(extractors)
    for _, url, html, _ in pages[:1]:  # warm-up: imports, compiled XPaths
        for fn in extractors.values():
            fn(html, url)
    warm_stop_lists()
    for i, (_, url, html, true) in enumerate(pages):
        # Alternate which extractor goes first, so neither always meets a warmer machine.
        for name in names if i % 2 == 0 else names[::-1]:
            fn = extractors[name]
            walls, cpus, out = [], [], ""
            for _ in range(repeat):
                forget_page_strings()
                w0, c0 = time.perf_counter(), time.process_time()
                out = fn(html, url)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
            times[name].append(statistics.median(walls))
            cpu[name].append(statistics.median(cpus))
            per[name].append(shingle_counts(true, out))
    result: dict[str, dict[str, float]] = {}
    for name in extractors:
        prs = [precision_recall(*c) for c in per[name]]
        # As the benchmark does: a page with no predicted shingle has no precision, one with no true
        # shingle no recall; such pages are left out of that average.
        pairs = list(zip(prs, per[name], strict=True))
        precision = statistics.mean(p for (p, _), (tp, fp, _) in pairs if tp + fp > 0)
        recall = statistics.mean(r for (_, r), (tp, _, fn) in pairs if tp + fn > 0)
        result[name] = {
            "f1": f1(precision, recall),
            "precision": precision,
            "recall": recall,
            "ms": 1000 * statistics.mean(times[name]),
            "cpu_ms": 1000 * statistics.mean(cpu[name]),
            "pages": len(pages),
        }
    return result


def furniture_leaks(root: Path, extractors: dict[str, Extractor]) -> str:
    """How many of the fixtures' hand-written body_excludes snippets each extractor lets into the body."""
    from crawler.core.items import normalise_text

    fixtures = [fx for fx in load_fixtures(root) if fx.kind == "articles"]
    total = sum(len(fx.expected.get("body_excludes", [])) for fx in fixtures)
    parts = []
    for name, fn in extractors.items():
        leaked = 0
        for fx in fixtures:
            body = normalise_text(fn(fx.page.read_bytes(), fx.url)).lower()
            leaked += sum(1 for snip in fx.expected.get("body_excludes", []) if normalise_text(snip).lower() in body)
        parts.append(f"{name} {leaked} of {total}")
    return "furniture snippets (body_excludes) leaked into the body: " + ", ".join(parts)


def table(title: str, result: dict[str, dict[str, float]]) -> str:
    lines = [
        title,
        "| extractor | pages | F1 | precision | recall | ms/page | CPU ms/page |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in result.items():
        lines.append(
            f"| {name} | {int(r['pages'])} | {r['f1']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} "
            f"| {r['ms']:.1f} | {r['cpu_ms']:.1f} |"
        )
    base = result.get("trafilatura")
    ours = result.get("crawler.extract")
    if base and ours and base["ms"]:
        lines.append(
            f"\ntime ratio crawler.extract / trafilatura: wall {ours['ms'] / base['ms']:.2f}x, "
            f"CPU {ours['cpu_ms'] / base['cpu_ms']:.2f}x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--benchmark",
        "--bench",
        dest="bench",
        type=Path,
        default=None,
        help=f"article-extraction-benchmark folder (default: ${BENCH_ENV})",
    )
    ap.add_argument("--fixtures", type=Path, default=DEFAULT_DIR, help="fixture folder")
    ap.add_argument("--limit", type=int, default=None, help="only the first N benchmark pages")
    ap.add_argument("--repeat", type=int, default=1, help="runs per page; the median counts (default 1)")
    ap.add_argument("--skip-bench", action="store_true", help="no public benchmark")
    ap.add_argument("--site-pages", type=int, default=40, help="look-alike site pages to time (0: none)")
    ap.add_argument("--site-size", type=int, default=80_000, help="bytes per look-alike page (default 80000)")
    args = ap.parse_args(argv)
    bench: Path | None = None
    if not args.skip_bench:
        bench = args.bench or (Path(os.environ[BENCH_ENV]) if os.environ.get(BENCH_ENV) else None)
        if bench is None or not (bench / "ground-truth.json").is_file():
            # Checked before the slow parts run, so a wrong path costs nothing.
            where = f"no ground-truth.json in {bench}" if bench else f"no --benchmark DIR and ${BENCH_ENV} unset"
            print(
                f"article-extraction-benchmark: {where}; pass --benchmark DIR (a checkout of "
                "scrapinghub/article-extraction-benchmark) or --skip-bench",
                file=sys.stderr,
            )
            return 2
    extractors: dict[str, Extractor] = {"crawler.extract": _crawler, "trafilatura": _trafilatura}
    print(
        f"trafilatura {trafilatura.__version__}; median of {args.repeat} run(s) per page; "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )
    fx = fixture_pages(args.fixtures)
    if fx:
        print(table(f"## Press TV fixtures ({args.fixtures})", score(fx, extractors, args.repeat)))
        print(furniture_leaks(args.fixtures, extractors))
        print()
    if args.site_pages:
        title = f"## Look-alike Press TV pages ({args.site_pages} pages of ~{args.site_size // 1000} KB, both layouts)"
        print(table(title, score(site_pages(args.site_pages, args.site_size), extractors, args.repeat)))
        print()
    if bench is not None:
        print(
            table(
                f"## article-extraction-benchmark ({bench.name})",
                score(bench_pages(bench, args.limit), extractors, args.repeat),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
