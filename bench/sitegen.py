"""Generate a benchmark look-alike Press TV site of N realistic article pages, and serve it or write it out.

Pages come from crawler.testing.site.pages renderers (both layouts, alternating) and are grown to 40-120 KB the way
real news pages are: a head full of inline CSS, analytics/ad scripts and JSON-LD; a mega-menu; a "latest
news" sidebar (the renderers' `pad_to_bytes`); a footer with link columns and trailing scripts. None of it
is article text. Sizes are drawn per page (seeded), so the same N always gives the same site.

Usage:
    .venv/bin/python bench/sitegen.py serve [--pages N] [--port P] [--latency S]   # prints "mirrors=<url>"
    .venv/bin/python bench/sitegen.py write DIR [--pages N]          # DIR/<id>.html plus DIR/urls.txt
    .venv/bin/python bench/sitegen.py stats [--pages N]              # sizes and element counts

Traffic stays on loopback: the server binds 127.0.0.1 only (crawler.testing.site refuses anything else).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import random
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from crawler.testing.site import MirrorSpec, RunningSite, SiteArticle, SiteCorpus, serve_site
from crawler.testing.site.pages import ArticleSpec, RelatedLink, filler_paragraphs, render_article

DEFAULT_PAGES = 2000
MIN_BYTES = 40_000
MAX_BYTES = 120_000
START_ID = 700_001
CANONICAL = "https://www.presstv.ir"
# Page i is published at FIRST + i * INTERVAL whatever N is, so page i is byte-identical in every site size
# and rendered pages can be cached on disk between runs.
FIRST = datetime(2025, 1, 1, 6, 0)
INTERVAL = timedelta(minutes=30)
GENERATOR_VERSION = 3
"""Bump when the generated markup changes: the page cache is kept per version."""
CACHE_DIR = Path(tempfile.gettempdir()) / f"crawler-bench-site-v{GENERATOR_VERSION}"

_WORDS = (
    "iran",
    "sanctions",
    "talks",
    "minister",
    "gaza",
    "yemen",
    "oil",
    "trade",
    "parliament",
    "president",
    "security",
    "council",
    "resolution",
    "drills",
    "strait",
    "economy",
    "election",
    "protest",
    "summit",
)


@dataclass
class BenchPage:
    """One generated page: its article id, path on the site, canonical URL and bytes."""

    article_id: str
    path: str
    url: str
    html: bytes
    layout: str


def _css(rng: random.Random, size: int) -> str:
    rules: list[str] = []
    n = 0
    while n < size:
        sel = f".c-{rng.randrange(10**6):x} .{rng.choice(_WORDS)}-{rng.randrange(99)}"
        rule = (
            f"{sel}{{margin:{rng.randrange(40)}px {rng.randrange(40)}px;color:#{rng.randrange(16**6):06x};"
            f"font-size:{rng.randrange(10, 30)}px;display:flex}}\n"
        )
        rules.append(rule)
        n += len(rule)
    return "<style>" + "".join(rules) + "</style>\n"


def _script(rng: random.Random, size: int, name: str) -> str:
    n = max(0, size - 120)
    blob = base64.b64encode(rng.randbytes(n * 3 // 4 + 3)).decode("ascii")[:n]
    return (
        f'<script type="text/javascript">(function(w,d){{w.__{name}=w.__{name}||[];'
        f'w.__{name}.push({{"cfg":"{blob}"}});}})(window,document);</script>\n'
    )


def _head_furniture(rng: random.Random, spec: ArticleSpec, size: int) -> str:
    """Inline CSS, analytics/ad/config scripts and JSON-LD: what real pages carry in their head."""
    jsonld = (
        '<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
        f'"headline":"{spec.title}","publisher":{{"@type":"Organization","name":"Press TV"}}}}</script>\n'
    )
    css = _css(rng, size * 2 // 5)
    scripts = "".join(_script(rng, size // 5, name) for name in ("gtag", "ads", "cfg"))
    return jsonld + css + scripts


def _menu(rng: random.Random) -> str:
    """A mega-menu: sections with sub-section links (about 120 links)."""
    cols = []
    for s in range(12):
        links = "".join(
            f'<li><a href="/Section/{100 + s}{k:02d}">{rng.choice(_WORDS).title()} {k}</a></li>' for k in range(10)
        )
        cols.append(
            f'<li class="dropdown"><a href="/Section/{100 + s}">{rng.choice(_WORDS).title()}</a>'
            f'<ul class="dropdown-menu">{links}</ul></li>'
        )
    return f'<header class="top"><ul class="mega-menu">{"".join(cols)}</ul></header>\n'


def _footer(rng: random.Random) -> str:
    """Footer link columns plus trailing scripts."""
    cols = []
    for c in range(6):
        links = "".join(
            f'<li><a href="/Page/{c}{k}">{rng.choice(_WORDS).title()} {rng.choice(_WORDS)}</a></li>' for k in range(10)
        )
        cols.append(f'<div class="footer-col"><h5>{rng.choice(_WORDS).title()}</h5><ul>{links}</ul></div>')
    return f'<div class="site-footer">{"".join(cols)}<p>All rights reserved</p></div>\n' + _script(rng, 3000, "tail")


def spec_for(i: int) -> ArticleSpec:
    """The i-th article (newest last), dated every 30 minutes from FIRST."""
    rng = random.Random(i)
    aid = str(START_ID + i)
    published = FIRST + INTERVAL * i
    topic = rng.choice(("Iran", "Lebanon", "Yemen", "Gaza", "Venezuela", "Russia", "China", "Europe"))
    verb = rng.choice(("urges", "condemns", "rejects", "welcomes", "warns against", "calls for"))
    obj = rng.choice(("new sanctions", "UN resolution", "trade talks", "military drills", "peace plan"))
    title = f"{topic} {verb} {obj} ({aid})"
    section = ("10101", "102", "103", "104")[i % 4]
    section_name = {"10101": "Politics", "102": "West Asia", "103": "US", "104": "Asia-Pacific"}[section]
    related = [
        RelatedLink(f"/Detail/2026/01/0{k + 1}/77{k}000/Related-story-{k}", f"Related story {k}") for k in range(3)
    ]
    return ArticleSpec(
        article_id=aid,
        published=published,
        section_id=section,
        section_name=section_name,
        title=title,
        lead=f"{topic} has responded to {obj}, officials said.",
        paragraphs=filler_paragraphs(rng.randint(6, 14), i),
        caption=f"A view of {topic}. (File photo by AFP)",
        image_path=f"/Photo/{published.year}/{published.month}/{published.day}/{aid}.jpg",
        byline=("Ali Musavi", "Press TV, Tehran") if i % 5 == 0 else None,
        related=related,
    )


def render_page(i: int) -> BenchPage:
    """Render the i-th page at its drawn size (40-120 KB), furniture around the renderer's article."""
    spec = spec_for(i)
    rng = random.Random(1_000_003 * (i + 1))
    target = rng.randint(MIN_BYTES, MAX_BYTES)
    layout = ("current", "bootstrap")[i % 2]
    head = _head_furniture(rng, spec, int(target * 0.45))
    menu, footer = _menu(rng), _footer(rng)
    extra = len(head) + len(menu) + len(footer)
    # The renderer's own knob grows the sidebar ("latest news" headlines) to fill the rest.
    spec.pad_to_bytes = max(0, target - extra)
    text = render_article(spec, layout).decode("utf-8")
    text = text.replace("</head>", head + "</head>", 1)
    text = text.replace("<body>\n", "<body>\n" + menu, 1)
    text = text.replace("</body>", footer + "</body>", 1)
    return BenchPage(spec.article_id, spec.path, CANONICAL + spec.path, text.encode("utf-8"), layout)


def cached_page(i: int, cache: Path | None = CACHE_DIR) -> BenchPage:
    """Page i, read from the on-disk cache when rendered before (rendering costs ~8 ms a page)."""
    if cache is None:
        return render_page(i)
    spec = spec_for(i)
    file = cache / f"{START_ID + i}.html"
    if file.is_file():
        return BenchPage(
            spec.article_id, spec.path, CANONICAL + spec.path, file.read_bytes(), ("current", "bootstrap")[i % 2]
        )
    page = render_page(i)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(page.html)
    tmp.replace(file)  # atomic: two benchmark processes may fill the cache at once
    return page


def iter_pages(count: int = DEFAULT_PAGES, cache: Path | None = CACHE_DIR) -> Iterator[BenchPage]:
    """The first N pages of the benchmark site, in id order (one at a time: memory stays flat)."""
    for i in range(count):
        yield cached_page(i, cache)


def since_date() -> str:
    """The `since=` spider argument that covers every page of the site."""
    return FIRST.date().isoformat()


def build_corpus(count: int = DEFAULT_PAGES, cache: Path | None = CACHE_DIR) -> SiteCorpus:
    """A SiteCorpus serving the N pages (sitemaps list them all; no off-site sitemap, no robots.txt)."""
    corpus = SiteCorpus(now=FIRST + INTERVAL * count, off_site_sitemap=False, rss_size=100)
    for i in range(count):
        page = cached_page(i, cache)
        spec = spec_for(i)
        corpus.add_article(
            SiteArticle(
                article_id=page.article_id,
                path=page.path,
                html=page.html,
                published=spec.published,
                section_id=spec.section_id,
                title=spec.title,
                lead=spec.lead,
                layout=page.layout,
            )
        )
    return corpus


def serve(count: int, port: int = 0, latency: float = 0.0) -> None:
    """Serve until killed; first stdout line `mirrors=<base URL>`. With `latency`, every answer waits that many
    seconds first (each request in its own thread, as a distant server would)."""
    corpus = build_corpus(count)
    spec = MirrorSpec("slow", delay=latency, port=port) if latency > 0 else MirrorSpec("healthy", port=port)
    with serve_site(corpus, [spec]) as site:
        site.log.clear()
        print(f"mirrors={site.mirrors_arg}", flush=True)
        _stop_log_growth(site)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


class _NoLog(list[tuple[str, str, "int | str"]]):
    """A request log that keeps nothing."""

    def append(self, _item: tuple[str, str, int | str]) -> None:
        pass


class _NoArrivals(list[tuple[str, float]]):
    """An arrival log that keeps nothing."""

    def append(self, _item: tuple[str, float]) -> None:
        pass


def _stop_log_growth(site: RunningSite) -> None:
    """The site's request and arrival logs are for tests; a long benchmark must not let them grow."""
    site.log = _NoLog()
    site.arrivals = _NoArrivals()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/sitegen.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the site on 127.0.0.1")
    s.add_argument("--pages", type=int, default=DEFAULT_PAGES)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--latency", type=float, default=0.0, help="seconds before each answer (default 0)")
    w = sub.add_parser("write", help="write the pages to a folder")
    w.add_argument("dir", type=Path)
    w.add_argument("--pages", type=int, default=DEFAULT_PAGES)
    t = sub.add_parser("stats", help="print page sizes and element counts")
    t.add_argument("--pages", type=int, default=200)
    args = ap.parse_args(argv)
    if args.pages < 1:
        print("sitegen: --pages must be at least 1", file=sys.stderr)
        return 2
    if args.cmd == "serve":
        serve(args.pages, args.port, args.latency)
    elif args.cmd == "write":
        args.dir.mkdir(parents=True, exist_ok=True)
        with open(args.dir / "urls.txt", "w", encoding="utf-8") as urls:
            for page in iter_pages(args.pages):
                (args.dir / f"{page.article_id}.html").write_bytes(page.html)
                urls.write(f"{page.article_id}\t{page.url}\n")
        print(f"wrote {args.pages} pages to {args.dir}")
    else:
        import lxml.html

        sizes, elements = [], []
        for page in iter_pages(args.pages):
            sizes.append(len(page.html))
            elements.append(sum(1 for _ in lxml.html.document_fromstring(page.html).iter()))
        print(
            f"{args.pages} pages: size min {min(sizes)} mean {sum(sizes) // len(sizes)} max {max(sizes)} bytes; "
            f"elements min {min(elements)} mean {sum(elements) // len(elements)} max {max(elements)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
