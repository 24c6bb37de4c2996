"""The look-alike site's content: articles (fixtures or generated) and the feeds, sitemaps and listings over them."""

from __future__ import annotations

import json
import math
import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from crawler.outlet import Outlet, load_outlet
from crawler.testing.site import pages
from crawler.testing.site.pages import ArticleSpec, ListingEntry, RelatedLink

FEED_HOSTS = (
    "https://www.presstv.ir",
    "https://presstv.ir",
    "https://www.presstv.co.uk",
    "https://presstv.co.uk",
    "http://www.presstv.com",
)
"""Hosts the site's own feeds and sitemaps put in links, in turn: the mix a crawler must map onto one mirror."""


@dataclass
class SiteArticle:
    """One page the site serves at an article URL (usually an article; a non-article fixture may sit there too)."""

    article_id: str
    path: str
    """Path the site links to, e.g. /Detail/2026/08/15/774416/Iran-...; any variant of it with the same id works."""
    html: bytes
    published: datetime
    """Tehran local time (naive)."""
    section_id: str
    title: str
    lead: str = ""
    link_variants: list[str] = field(default_factory=list)
    """Other URLs (absolute, any host) the feeds also use for this article."""
    is_article: bool = True
    content_type: str = "text/html; charset=utf-8"
    spec: ArticleSpec | None = None
    """What generated the page; set for generated articles, so they can be re-rendered with changes."""
    layout: str = "current"
    in_feeds: bool = True

    def entry(self) -> ListingEntry:
        """This article as listings, feeds and sitemaps show it."""
        return ListingEntry(self.path, self.title, self.published, self.lead)


class SiteCorpus:
    """Everything one look-alike Press TV site serves; safe to change while a server thread reads it.

    Build it with `from_fixtures(...)` and/or `generate(...)` / `add_article(...)`; change an article at run
    time with `update_article(article_id, ...)` (the next request sees the new page) or `remove_article(...)`.
    """

    def __init__(
        self,
        outlet: Outlet | None = None,
        *,
        listing_page_size: int = 10,
        rss_size: int = 100,
        gzip_sitemaps: bool = False,
        off_site_sitemap: bool = True,
        robots_txt: str | None = None,
        now: datetime | None = None,
    ) -> None:
        self.outlet = outlet or load_outlet("presstv")
        self.listing_page_size = listing_page_size
        self.rss_size = rss_size
        self.gzip_sitemaps = gzip_sitemaps
        """Serve monthly sitemaps as `.xml.gz` (the index then lists those)."""
        self.off_site_sitemap = off_site_sitemap
        """List one sitemap on an off-site host (127.0.0.2) in the index: a crawler must ignore it."""
        self.robots_txt = robots_txt
        """robots.txt body to serve; None answers 404 as the real site does."""
        self.now = now or datetime.now()
        self.extra_pages: dict[str, tuple[int, str, bytes]] = {}
        """Other paths (lower-cased) served as (status, content type, body): non-article fixture pages."""
        self._articles: dict[str, SiteArticle] = {}
        self._lock = threading.Lock()
        self.version = 0
        """Bumped on every change."""

    # ---- building ------------------------------------------------------------------------------

    def add_article(self, article: SiteArticle) -> SiteArticle:
        """Add (or replace, by id) one served article."""
        with self._lock:
            self._articles[article.article_id] = article
            self.version += 1
        return article

    def add_spec(self, spec: ArticleSpec, layout: str = "current") -> SiteArticle:
        """Render an article from its spec and add it."""
        return self.add_article(
            SiteArticle(
                article_id=spec.article_id,
                path=spec.path,
                html=pages.render_article(spec, layout),
                published=spec.published,
                section_id=spec.section_id,
                title=spec.title,
                lead=spec.lead,
                spec=spec,
                layout=layout,
            )
        )

    def generate(
        self,
        count: int,
        *,
        start_id: int = 780001,
        start: datetime | None = None,
        interval: timedelta = timedelta(hours=5),
        sections: Iterable[str] = ("10101", "102", "103", "104"),
        layout: str = "current",
        paragraphs: int = 8,
        pad_to_bytes: int = 0,
        seed: int = 1,
        reports_every: int = 5,
    ) -> list[SiteArticle]:
        """Add `count` generated articles with ids from `start_id`, one every `interval` back from `start`.

        `layout` is "current", "bootstrap" or "mix"; `pad_to_bytes` makes each page about that big (sidebars
        and scripts, outside the article), for benchmark sites of realistic 40-120 KB pages.
        """
        start = start or self.now.replace(microsecond=0) - timedelta(hours=1)
        sections = list(sections)
        rng = random.Random(seed)
        added: list[SiteArticle] = []
        for i in range(count):
            aid = str(start_id + i)
            published = start - interval * (count - 1 - i)
            section_id = sections[i % len(sections)]
            topic = rng.choice(("Iran", "Lebanon", "Yemen", "Gaza", "Venezuela", "Russia", "China", "Europe"))
            verb = rng.choice(("urges", "condemns", "rejects", "welcomes", "warns against", "calls for"))
            obj = rng.choice(("new sanctions", "UN resolution", "trade talks", "military drills", "peace plan"))
            title = f"{topic} {verb} {obj} ({aid})"
            related = [
                RelatedLink(f"/Detail/2026/01/0{k + 1}/77{k}000/Related-story-{k}", f"Related story {k}")
                for k in range(3)
            ]
            spec = ArticleSpec(
                article_id=aid,
                published=published,
                section_id=section_id,
                section_name=self.outlet.section_name(section_id) or "News",
                title=title,
                lead=f"{topic} has responded to {obj}, officials said on {pages._DAYS[published.weekday()]}.",
                paragraphs=pages.filler_paragraphs(paragraphs, seed * 100003 + i),
                caption=f"A view of the capital of {topic}. (File photo by AFP)",
                image_path=f"/Photo/{published.year}/{published.month}/{published.day}/{aid}.jpg",
                byline=("Ali Musavi", "Press TV, Tehran") if reports_every and i % reports_every == 0 else None,
                related=related,
                pad_to_bytes=pad_to_bytes,
            )
            this_layout = layout if layout != "mix" else ("current", "bootstrap")[i % 2]
            added.append(self.add_spec(spec, this_layout))
        return added

    @classmethod
    def from_fixtures(cls, root: str | Path, outlet: Outlet | None = None, **options: Any) -> SiteCorpus:
        """A corpus serving the fixture pages under `root` (testing/fixtures/presstv) by their meta.json url path.

        Article fixtures with the same id collapse into one served page (the first by folder name); their
        other URLs become link variants the feeds use. Non-article fixtures at article URLs are served and
        linked too (a crawler must refuse them); others are served at their path, unlinked.
        """
        corpus = cls(outlet, **options)
        corpus.add_fixtures(root)
        return corpus

    def add_fixtures(self, root: str | Path) -> int:
        """Add the fixture pages under `root`; returns how many pages were added."""
        root = Path(root)
        added = 0
        for kind in ("articles", "non_articles"):
            for folder in sorted((root / kind).glob("*/")):
                page, meta_file = folder / "page.html", folder / "meta.json"
                if not page.is_file() or not meta_file.is_file():
                    continue
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
                expected: dict[str, Any] = {}
                if (folder / "expected.json").is_file():
                    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
                if self._add_fixture(kind, folder.name, str(meta["url"]), page.read_bytes(), meta, expected):
                    added += 1
        return added

    def _add_fixture(
        self, kind: str, name: str, url: str, html: bytes, meta: dict[str, Any], expected: dict[str, Any]
    ) -> bool:
        parsed = self.outlet.parse_article_url(url)
        path = url.split("://", 1)[-1]
        path = "/" + path.split("/", 1)[1] if "/" in path else "/"
        content_type = str(meta.get("content_type", "text/html; charset=utf-8"))
        if parsed is None:
            if path.lower().startswith("/section/") or path == "/":
                return False  # the site renders its own listings and front page
            self.extra_pages[path.lower()] = (int(meta.get("status", 200)), content_type, html)
            return True
        existing = self._articles.get(parsed.article_id)
        if existing is not None:
            if url not in existing.link_variants:
                existing.link_variants.append(url)
            return False
        published = _fixture_date(expected.get("published"), parsed.path_date)
        section_name = expected.get("section") or ""
        section_id = next((k for k, v in self.outlet.sections.items() if v == section_name), "101")
        self.add_article(
            SiteArticle(
                article_id=parsed.article_id,
                path=path,
                html=html,
                published=published,
                section_id=section_id,
                title=str(expected.get("title") or name),
                lead=str(expected.get("lead") or ""),
                link_variants=[url],
                is_article=kind == "articles",
                content_type=content_type,
            )
        )
        return True

    # ---- changing at run time ----------------------------------------------------------------------

    def update_article(self, article_id: str, *, html: bytes | None = None, **changes: Any) -> SiteArticle:
        """Change a served article: new raw `html`, or new spec fields (title=, lead=, paragraphs=, ...).

        Spec changes need a generated article (one with a spec); the page is re-rendered in its layout.
        """
        with self._lock:
            old = self._articles[article_id]
            if html is None:
                if old.spec is None:
                    raise ValueError(f"article {article_id} has no spec to change: pass html=")
                spec = replace(old.spec, **changes)
                new = replace(
                    old, spec=spec, html=pages.render_article(spec, old.layout), title=spec.title, lead=spec.lead
                )
            else:
                new = replace(old, html=html, **{k: v for k, v in changes.items() if k in ("title", "lead")})
            self._articles[article_id] = new
            self.version += 1
        return new

    def remove_article(self, article_id: str) -> None:
        """Stop serving an article (its URLs answer 404 and it leaves feeds, sitemaps and listings)."""
        with self._lock:
            self._articles.pop(article_id, None)
            self.version += 1

    # ---- reading -------------------------------------------------------------------------------------

    def articles(self) -> list[SiteArticle]:
        """Served articles, newest first."""
        with self._lock:
            items = list(self._articles.values())
        return sorted(items, key=lambda a: (a.published, a.article_id), reverse=True)

    def article_ids(self, *, only_articles: bool = True) -> set[str]:
        """Ids of served pages (only real articles unless told otherwise)."""
        return {a.article_id for a in self.articles() if a.is_article or not only_articles}

    def get(self, article_id: str) -> SiteArticle | None:
        """The served page for an id, or None."""
        with self._lock:
            return self._articles.get(article_id)

    def article_for_path(self, path: str) -> SiteArticle | None:
        """The page for any URL variant of an article path (host, padding, case and slug do not matter)."""
        parsed = self.outlet.parse_article_url(path)
        return self.get(parsed.article_id) if parsed else None

    def _linked(self) -> list[SiteArticle]:
        return [a for a in self.articles() if a.in_feeds]

    def feed_links(self, articles: list[SiteArticle]) -> list[tuple[str, ListingEntry]]:
        """(link, entry) pairs as the site's feeds give them: hosts mixed, variants used, some repeated,
        not in date order."""
        out: list[tuple[str, ListingEntry]] = []
        for i, a in enumerate(articles):
            variants = a.link_variants or []
            link = variants[i % len(variants)] if variants else FEED_HOSTS[i % len(FEED_HOSTS)] + a.path
            out.append((link, a.entry()))
            if i % 7 == 3:  # the real feed repeats items, sometimes on another host
                out.append((FEED_HOSTS[(i + 2) % len(FEED_HOSTS)] + a.path, a.entry()))
        rng = random.Random(len(out))
        rng.shuffle(out)
        return out

    def rss(self, section_id: str | None = None) -> bytes:
        """The main feed, or a section's."""
        arts = self._linked()
        if section_id is not None:
            arts = [a for a in arts if _in_section(a, section_id)]
        return pages.render_rss(self.feed_links(arts[: self.rss_size]), self.now)

    def months(self) -> list[date]:
        """Months that have articles, newest first."""
        return sorted({date(a.published.year, a.published.month, 1) for a in self._linked()}, reverse=True)

    def monthly_sitemap_path(self, month: date) -> str:
        """Path of a month's news sitemap (with .gz when the corpus gzips them)."""
        path = self.outlet.monthly_sitemap_path(month.year, month.month)
        return path + ".gz" if self.gzip_sitemaps else path

    def sitemap_index(self, base_url: str) -> bytes:
        """The /sitemap.xml index, with absolute locations on `base_url`."""
        locs = [base_url + self.monthly_sitemap_path(m) for m in self.months()]
        if self.off_site_sitemap:
            locs.append("http://127.0.0.2:9" + self.outlet.monthly_sitemap_path(2020, 1))
        return pages.render_sitemap_index(locs)

    def monthly_sitemap(self, year: int, month: int) -> bytes | None:
        """A month's news sitemap (gzipped when configured), None when the month has no articles."""
        arts = [a for a in self._linked() if (a.published.year, a.published.month) == (year, month)]
        if not arts:
            return None
        body = pages.render_news_sitemap(
            (
                "https://www.presstv.ir" + a.path
                if a.article_id[-1] in "02468"
                else "https://www.presstv.co.uk" + a.path,
                a.entry(),
            )
            for a in arts
        )
        return pages.gzipped(body) if self.gzip_sitemaps else body

    def listing(self, section_id: str, page: int) -> bytes | None:
        """A section listing page, None beyond the last page or for an unknown section."""
        if self.outlet.section_name(section_id) is None:
            return None
        arts = [a for a in self._linked() if _in_section(a, section_id)]
        last = max(1, math.ceil(len(arts) / self.listing_page_size))
        if page < 1 or page > last:
            return None
        chunk = arts[(page - 1) * self.listing_page_size : page * self.listing_page_size]
        return pages.render_listing(
            section_id, self.outlet.section_name(section_id) or "", page, last, [a.entry() for a in chunk]
        )

    def homepage(self) -> bytes:
        """The front page (a headline index)."""
        return pages.render_homepage([a.entry() for a in self._linked()[:30]])


def _in_section(article: SiteArticle, section_id: str) -> bool:
    # Listings of a parent section (101) also show its subsections' articles (10101).
    return article.section_id == section_id or (len(article.section_id) > 3 and article.section_id[:3] == section_id)


def _fixture_date(published: Any, path_date: date | None) -> datetime:
    if isinstance(published, str) and len(published) >= 19:
        try:
            return datetime.fromisoformat(published).replace(tzinfo=None)
        except ValueError:
            pass
    if path_date is not None:
        return datetime(path_date.year, path_date.month, path_date.day, 12, 0)
    return datetime(2012, 1, 1, 12, 0)
