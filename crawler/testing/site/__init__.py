"""The offline look-alike Press TV site (loopback only) that tests and `crawler demo` crawl for real.

Public API (the tests, the benchmarks and `crawler demo` rely on it; keep it stable):

    from crawler.testing.site import SiteCorpus, MirrorSpec, serve_site, faults, pages

    corpus = SiteCorpus.from_fixtures(FIXTURES_ROOT)   # fixture pages served at their meta.json url path
    corpus.generate(20, pad_to_bytes=60_000)                  # and/or generated articles (ids from 780001)
    with serve_site(corpus, ["seized", "refuse", "503", "healthy"]) as site:
        site.mirrors_arg              # "http://127.0.0.1:P1,...": pass as `-a mirrors=...`
        site.mirror("healthy").base_url
        site.override("/rss.xml", faults.status(500))                      # every mirror
        site.override("/sitemap.xml", faults.first(2, faults.reset()), mirror="healthy")
        corpus.update_article("780001", title="New title")   # generated: re-rendered; fixture: html=b"..."
        corpus.remove_article("780002")                       # its URLs now answer 404
        site.log                     # [(mirror name, path, status or "reset"), ...]

Mirror behaviours (`MirrorSpec(behaviour, delay=, down_requests=, down_seconds=)`): healthy, seized (200
seizure notice on every path), refuse (a closed port), 503, slow, down-then-up. An override is any callable
`(SiteRequest) -> Reply | None` (None falls through); `faults` has status, redirect, delay, reset, truncated,
drip, seizure, challenge, body, first. `Reply` fields: status, body, headers, content_type, delay, reset,
truncate_to, drip, raw (a callable given the stdlib request handler, for anything else).

Pages: `pages.render_article(ArticleSpec(...), layout="current"|"bootstrap")` renders one article with the
site's furniture; `ArticleSpec.pad_to_bytes` sets its size. Run as a process:
`python -m crawler.testing.site --mirrors seized,refuse,503,healthy [--port N] [--fixtures DIR] [--generate N]`
prints `mirrors=<urls>` on its first stdout line and serves until interrupted.
The served paths: /rss.xml, /rss/rss-<id>.xml, /sitemap.xml, /SiteMap/YYYY-MM/sitemap-news-YYYY-MM.xml(.gz),
/Section/<id>[/<page>], article paths (any URL variant of an id), / ; robots.txt and anything else 404.
"""

from __future__ import annotations

from pathlib import Path

from crawler.testing.site import pages
from crawler.testing.site import server as faults
from crawler.testing.site.corpus import SiteArticle, SiteCorpus
from crawler.testing.site.pages import ArticleSpec, RelatedLink
from crawler.testing.site.server import (
    BEHAVIOURS,
    MirrorSpec,
    Reply,
    RunningMirror,
    RunningSite,
    SiteRequest,
    serve_site,
)

FIXTURES_ROOT = Path(__file__).resolve().parents[1] / "fixtures" / "presstv"
"""The project's fixture pages (present in a source checkout and an editable install)."""

__all__ = [
    "BEHAVIOURS",
    "FIXTURES_ROOT",
    "ArticleSpec",
    "MirrorSpec",
    "RelatedLink",
    "Reply",
    "RunningMirror",
    "RunningSite",
    "SiteArticle",
    "SiteCorpus",
    "SiteRequest",
    "faults",
    "pages",
    "serve_site",
]
