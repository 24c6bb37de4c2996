"""The `presstv` spider: discover article URLs (feeds, sitemaps, listings) on the healthiest mirror and route pages.

Arguments (`scrapy crawl presstv -a name=value`):
- mirrors=URL,URL,...   base URLs in priority order (default: the outlet profile's [mirrors] default list)
- sources=rss,sitemap,sections   discovery sources on the live site (default all three)
- since=YYYY-MM-DD, until=YYYY-MM-DD   keep articles whose URL or sitemap date is in range, and, once extracted,
  whose `published` date is (an undated URL's article outside it is neither stored nor exported); with `since`
  (or `until`) every monthly sitemap the index lists in range is read, otherwise the current and previous month
- max_pages=N   section listing pages per section (default the profile's discovery.max_pages)
- sources=wayback,commoncrawl   web archives as sources too (alone, or beside the live ones): every capture of
  every article URL of the window (since/until; default the outlet's first year to today), newest first
- crawls=CC-MAIN-2024-10,...   Common Crawl crawls to read (default: those of collinfo.json that may hold the window)
- archive_fallback=1   an article every live mirror fails (or answers 404/410) comes from its newest good Wayback
  capture

The spider only discovers and routes: each article response becomes a `PageItem` (raw HTML and fetch facts)
that the extraction pipeline turns into an Article. Every link to any outlet host (seized domains included) is
mapped onto the same path on the healthiest mirror; the mirror failover middleware moves it further when a
mirror fails. Every outlet fact (hosts, paths, XPaths) comes from the profile the CRAWLER_OUTLET setting names.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lxml import etree
from scrapy import Request, Spider
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.gz import gunzip

from crawler.core.page import Page
from crawler.core.urls import join_url
from crawler.crawl import settings as defaults
from crawler.crawl import statkeys
from crawler.crawl.handoff import PageItem, SkippedRequest, response_headers
from crawler.crawl.middlewares import PageGivenUp, report_page_failed
from crawler.crawl.mirrors import MirrorPool
from crawler.crawl.spiders.archived import ARCHIVE_SOURCES, ArchiveSources, archive_slots
from crawler.outlet import Outlet, load_outlet

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from twisted.python.failure import Failure

LIVE_SOURCES = ("rss", "sitemap", "sections")
SOURCES = (*LIVE_SOURCES, *ARCHIVE_SOURCES)

# Sitemaps and feeds come from the network: never expand entities, load DTDs or touch the network.
_XML_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
    recover=True,
)
_NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9", "news": "http://www.google.com/schemas/sitemap-news/0.9"}
_MONTH_IN_PATH = re.compile(r"(\d{4})-(\d{2})")


class SpiderArgumentError(ValueError):
    """A spider argument has a bad value; the message is one line naming the argument."""


def _parse_date(name: str, value: str | None) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SpiderArgumentError(f"argument {name}={value!r} is not a date like 2026-08-15") from None


def _flag(name: str, value: Any) -> bool:
    text = str(value if value is not None else "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise SpiderArgumentError(f"argument {name}={value!r}: use 1 or 0")


class PresstvSpider(ArchiveSources, Spider):
    """Crawl Press TV through its mirrors (and web archives); yields page items for the extraction pipeline."""

    name = "presstv"

    def __init__(
        self,
        mirrors: str | None = None,
        sources: str | None = None,
        since: str | None = None,
        until: str | None = None,
        max_pages: str | int | None = None,
        *,
        archive_fallback: str | None = None,
        crawls: str | None = None,
        outlet_profile: Outlet | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.archive_fallback = _flag("archive_fallback", archive_fallback)
        self.crawls = crawls
        # from_crawler passes the profile CRAWLER_OUTLET names; alone (argument checks) the project's setting.
        self.outlet: Outlet = outlet_profile or load_outlet(_project_outlet_name())
        self.outlet_name = self.outlet.name
        self.mirror_bases = self._mirrors_arg(mirrors)
        self.sources = self._sources_arg(sources)
        self.since = _parse_date("since", since)
        self.until = _parse_date("until", until)
        if self.since and self.until and self.since > self.until:
            raise SpiderArgumentError(f"argument since={self.since} is after until={self.until}")
        if max_pages in (None, ""):
            self.max_pages = self.outlet.discovery.max_pages
        else:
            try:
                self.max_pages = int(str(max_pages))
            except ValueError:
                raise SpiderArgumentError(f"argument max_pages={max_pages!r} is not a whole number") from None
            if self.max_pages < 1:
                raise SpiderArgumentError(f"argument max_pages={max_pages!r} must be at least 1")
        self.mirror_pool = MirrorPool(self.mirror_bases, self.outlet)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        """The time the monthly sitemaps are chosen by (tests set January by hand)."""

    def _mirrors_arg(self, value: str | None) -> list[str]:
        bases = [m.strip().rstrip("/") for m in (value or "").split(",") if m.strip()]
        if not bases:
            return list(self.outlet.default_mirrors)
        for base in bases:
            parts = urlsplit(base)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise SpiderArgumentError(
                    f"argument mirrors: {base!r} is not a base URL like {self.outlet.default_mirrors[0]}"
                )
        return bases

    @staticmethod
    def _sources_arg(value: str | None) -> tuple[str, ...]:
        if not value:
            return LIVE_SOURCES
        chosen = tuple(s.strip().lower() for s in value.split(",") if s.strip())
        bad = [s for s in chosen if s not in SOURCES]
        if bad or not chosen:
            raise SpiderArgumentError(
                f"argument sources={value!r}: use a comma-separated subset of {','.join(SOURCES)}"
            )
        return chosen

    @property
    def live_sources(self) -> tuple[str, ...]:
        """The chosen sources that read the outlet's own site."""
        return tuple(s for s in self.sources if s in LIVE_SOURCES)

    @classmethod
    def update_settings(cls, settings: Any) -> None:
        super().update_settings(settings)
        # The archives' politeness: one download slot per archive service, its rate from the settings. A bad
        # value is reported by check_settings before the crawl starts; the defaults stand in until then.
        try:
            slots = archive_slots(settings)
        except ValueError:
            return
        # Merged with (never replacing) DOWNLOAD_SLOTS given on the command line or in the project.
        settings.set("DOWNLOAD_SLOTS", {**slots, **settings.getdict("DOWNLOAD_SLOTS")}, priority="cmdline")

    @classmethod
    def check_settings(cls, settings: Any) -> None:
        """Raise ValueError (one line) for a bad setting of this spider, before any crawling starts."""
        archive_slots(settings)

    @classmethod
    def check_arguments(cls, **kwargs: Any) -> None:
        """Raise SpiderArgumentError (one line) for a bad argument, before any crawling starts."""
        cls(**kwargs)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        kwargs["outlet_profile"] = load_outlet(str(crawler.settings.get("CRAWLER_OUTLET")))
        spider = super().from_crawler(crawler, *args, **kwargs)
        settings = crawler.settings
        spider.mirror_pool.fail_threshold = max(
            1, settings.getint("CRAWLER_MIRROR_FAIL_THRESHOLD", defaults.CRAWLER_MIRROR_FAIL_THRESHOLD)
        )
        spider.mirror_pool.cooldown = settings.getfloat("CRAWLER_MIRROR_COOLDOWN", defaults.CRAWLER_MIRROR_COOLDOWN)
        spider.sitemap_max_bytes = settings.getint("CRAWLER_SITEMAP_MAX_BYTES", defaults.CRAWLER_SITEMAP_MAX_BYTES)
        spider.sitemap_max_depth = settings.getint("CRAWLER_SITEMAP_MAX_DEPTH", defaults.CRAWLER_SITEMAP_MAX_DEPTH)
        spider.sitemap_max_files = settings.getint("CRAWLER_SITEMAP_MAX_FILES", defaults.CRAWLER_SITEMAP_MAX_FILES)
        spider.sitemap_max_links_per_file = settings.getint(
            "CRAWLER_SITEMAP_MAX_LINKS_PER_FILE", defaults.CRAWLER_SITEMAP_MAX_LINKS_PER_FILE
        )
        spider.sitemap_max_links = settings.getint("CRAWLER_SITEMAP_MAX_LINKS", defaults.CRAWLER_SITEMAP_MAX_LINKS)
        spider.setup_archives(crawler)
        return spider

    sitemap_max_bytes = defaults.CRAWLER_SITEMAP_MAX_BYTES
    sitemap_max_depth = defaults.CRAWLER_SITEMAP_MAX_DEPTH
    sitemap_max_files = defaults.CRAWLER_SITEMAP_MAX_FILES
    sitemap_max_links_per_file = defaults.CRAWLER_SITEMAP_MAX_LINKS_PER_FILE
    sitemap_max_links = defaults.CRAWLER_SITEMAP_MAX_LINKS
    _sitemap_files = 0
    _sitemap_links = 0

    # ---- requests -------------------------------------------------------------------------------------

    def _request(
        self,
        path: str,
        callback: Any,
        source: str,
        *,
        meta: dict[str, Any] | None = None,
        priority: int = 0,
        source_url: str | None = None,
        errback: Any = None,
    ) -> Request:
        """A request for `path` on the healthiest mirror (the failover middleware may move it)."""
        base = self.mirror_pool.best() or self.mirror_bases[0]
        url = self.mirror_pool.url_on(base, path)
        full_meta = {"mirror_path": path, "source": source, "source_url": source_url or url, **(meta or {})}
        return Request(url, callback=callback, meta=full_meta, priority=priority, errback=errback)

    async def start(self) -> AsyncIterator[Any]:
        frontier = bool(self.settings.get("CRAWLER_FRONTIER"))
        if frontier and not self.settings.getbool("CRAWLER_FRONTIER_SEED", defaults.CRAWLER_FRONTIER_SEED):
            return  # a joining worker works the shared queue only: the seeding one queued discovery
        # Archive queries do not depend on the mirrors: they start at once, at the archives' own pace.
        for request in self.archive_start_requests():
            yield request
        # One probe first: when no mirror answers, the run ends after a handful of requests instead of
        # queueing every discovery URL against dead hosts.
        requests = self.start_requests_list()
        if not requests:
            return
        if frontier:
            # On a shared frontier any worker may take the probe, so nobody waits for it.
            for request in requests:
                yield request
            return
        yield requests[0].replace(errback=self._probe_failed)
        await maybe_deferred_to_future(self.mirror_pool.settled())
        if self.mirror_pool.gave_up:
            return
        best = self.mirror_pool.best() or self.mirror_bases[0]
        for request in requests[1:]:
            # Built before the probe answered: move onto the mirror that is healthiest now.
            yield request.replace(url=self.mirror_pool.url_on(best, request.meta["mirror_path"]))

    def _probe_failed(self, failure: Failure) -> None:
        """The probe ended without a response (robots.txt forbids it, a component dropped it): discovery
        must not wait for it any longer."""
        self.logger.warning("first discovery request failed: %s", failure.value)
        self.mirror_pool.settle()

    def start_requests_list(self) -> list[Request]:
        """The live discovery requests a run starts with."""
        d = self.outlet.discovery
        sections = list(d.listing_sections)
        out: list[Request] = []
        if "rss" in self.sources:
            out.append(self._request(d.rss, self.parse_feed, "rss"))
            out.extend(self._request(self.outlet.section_rss_path(s), self.parse_feed, "rss") for s in sections)
        if "sitemap" in self.sources:
            if self.since or self.until:
                out.append(self._request(d.sitemap_index, self.parse_sitemap, "sitemap", meta={"sitemap_depth": 0}))
                self._sitemap_files += 1
            else:
                today = self.clock().astimezone(self.outlet.timezone).date()
                prev = date(today.year - 1, 12, 1) if today.month == 1 else date(today.year, today.month - 1, 1)
                for month in (today, prev):
                    out.append(
                        self._request(
                            self.outlet.monthly_sitemap_path(month.year, month.month),
                            self.parse_sitemap,
                            "sitemap",
                            meta={"sitemap_depth": 0},
                        )
                    )
                    self._sitemap_files += 1
        if "sections" in self.sources:
            out.extend(
                self._request(self.outlet.section_listing_path(s, 1), self.parse_listing, "sections") for s in sections
            )
        return out

    def _joined(self, response: Response, link: str, source: str) -> str | None:
        """The link made absolute against the page; None (counted, logged) for a malformed one, which is skipped
        while the rest of the page is read."""
        joined = join_url(response.url, link)
        if joined is None:
            self.crawler.stats.inc_value(statkeys.DISCOVERY_MALFORMED_LINKS.format(source))
            self.logger.info("skipping a malformed link in %s: %r", response.url, link[:200])
        return joined

    def _site_path(self, url: str) -> str | None:
        """Path and query of a URL on a mirror or outlet host; None for off-site URLs."""
        if not self.mirror_pool.is_site_url(url):
            return None
        parts = urlsplit(url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")

    def published_in_window(self, published: str | None) -> bool:
        """Whether an extracted article's `published` date (its own calendar day, as the site shows it) is
        within since=/until=; an article without a date is kept (its URL or sitemap date was checked)."""
        if not (self.since or self.until) or not published:
            return True
        try:
            day = datetime.fromisoformat(str(published)).date()
        except ValueError:
            return True
        return self._in_range(day)

    def _in_range(self, day: date | None) -> bool:
        if day is None:
            return True
        return not ((self.since and day < self.since) or (self.until and day > self.until))

    def article_request(self, link: str, source: str, hints: dict[str, Any] | None = None) -> Request | None:
        """The request for an article link (any outlet host), or None when it is not an in-range article."""
        path = self._site_path(link)
        if path is None:
            self.crawler.stats.inc_value("discovery/offsite_links")
            return None
        parsed = self.outlet.parse_article_url(path)
        if parsed is None:
            return None
        day = parsed.path_date
        hints = dict(hints or {})
        if day is None and hints.get("publication_date"):
            try:
                day = datetime.fromisoformat(str(hints["publication_date"])).date()
            except ValueError:
                day = None
        if not self._in_range(day):
            self.crawler.stats.inc_value("discovery/out_of_range")
            return None
        self.crawler.stats.inc_value(statkeys.DISCOVERY_ARTICLE_LINKS.format(source))
        return self._request(
            path,
            self.parse_article,
            source,
            priority=10,
            source_url=link,
            meta={"article_id": parsed.article_id, "hints": hints},
            errback=self.article_failed,
        )

    # ---- discovery callbacks -------------------------------------------------------------------------

    def _xml_root(self, response: Response, what: str) -> etree._Element | None:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.sitemap_max_bytes)
            except Exception as exc:  # oversized or corrupt gzip: skip this file, keep crawling
                self.logger.warning("skipping %s %s: cannot gunzip (%s)", what, response.url, exc)
                self.crawler.stats.inc_value(f"discovery/{what}/bad_gzip")
                return None
        if len(body) > self.sitemap_max_bytes:
            self.crawler.stats.inc_value(f"discovery/{what}/too_big")
            return None
        try:
            root = etree.fromstring(body, parser=_XML_PARSER)
        except etree.XMLSyntaxError:
            root = None
        if root is None:
            self.logger.warning("skipping %s %s: not XML", what, response.url)
            self.crawler.stats.inc_value(f"discovery/{what}/not_xml")
        elif _XML_PARSER.error_log.filter_from_errors():
            # The parser recovered what it could; say so, since links after the damage may be missing.
            first = _XML_PARSER.error_log.filter_from_errors()[0]
            self.logger.warning(
                "malformed %s %s (line %d: %s): reading the links that could be recovered",
                what,
                response.url,
                first.line,
                first.message,
            )
            self.crawler.stats.inc_value(f"discovery/{what}/malformed")
        return root

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """A feed (RSS 2.0, RSS 1.0/RDF or Atom): every item link (hosts vary, items repeat, no dates) may be an
        article. A document that is XML but none of these is skipped with one warning line."""
        root = self._xml_root(response, "rss")
        if root is None:
            return
        entries = _feed_entries(root)
        if entries is None:
            self.logger.warning(
                "skipping feed %s: XML, but not RSS or Atom (root element <%s>)", response.url, _local(root.tag)[:40]
            )
            self.crawler.stats.inc_value("discovery/rss/not_a_feed")
            return
        self.crawler.stats.inc_value("discovery/rss/feeds")
        for link, title in entries:
            if not link:
                continue
            joined = self._joined(response, link, "rss")
            request = self.article_request(joined, "rss", {"title": title} if title else {}) if joined else None
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        """A sitemap index (monthly sitemaps in range, on-site only) or a news sitemap (articles with dates)."""
        root = self._xml_root(response, "sitemap")
        if root is None:
            return
        # Not etree.QName: on a recovered document the tag can be one QName refuses ("{...ap/0.9}urlset").
        tag = root.tag.rsplit("}", 1)[-1] if isinstance(root.tag, str) else ""
        if tag == "sitemapindex":
            yield from self._sitemap_index(response, root)
            return
        self.crawler.stats.inc_value("discovery/sitemap/files")
        in_file = 0
        for url in root.iterfind("sm:url", _NS):
            loc = (url.findtext("sm:loc", namespaces=_NS) or "").strip()
            if not loc:
                continue
            if in_file >= self.sitemap_max_links_per_file:
                self.limit_reached(
                    "sitemap_links_per_file",
                    (
                        f"sitemap {response.url} lists more than {self.sitemap_max_links_per_file} links: the rest "
                        f"of it is not read (CRAWLER_SITEMAP_MAX_LINKS_PER_FILE)"
                    ),
                )
                return
            if self._sitemap_links >= self.sitemap_max_links:
                self.limit_reached(
                    "sitemap_links",
                    (
                        f"sitemaps listed more than {self.sitemap_max_links} links this run: no more are read "
                        f"(CRAWLER_SITEMAP_MAX_LINKS)"
                    ),
                )
                return
            in_file += 1
            self._sitemap_links += 1
            hints: dict[str, Any] = {}
            pub = url.findtext("news:news/news:publication_date", namespaces=_NS)
            title = url.findtext("news:news/news:title", namespaces=_NS)
            if pub:
                hints["publication_date"] = pub.strip()
            if title:
                hints["title"] = " ".join(title.split())
            joined = self._joined(response, loc, "sitemap")
            request = self.article_request(joined, "sitemap", hints) if joined else None
            if request is not None:
                yield request

    def _sitemap_index(self, response: Response, root: etree._Element) -> Iterable[Request]:
        depth = int(response.meta.get("sitemap_depth", 0)) + 1
        if depth > self.sitemap_max_depth:
            self.limit_reached(
                "sitemap_depth",
                (
                    f"sitemap index {response.url} is nested {depth} deep: its sitemaps are not read "
                    f"(CRAWLER_SITEMAP_MAX_DEPTH={self.sitemap_max_depth})"
                ),
            )
            return
        for loc_node in root.iterfind("sm:sitemap/sm:loc", _NS):
            loc = self._joined(response, (loc_node.text or "").strip(), "sitemap")
            if loc is None:
                continue
            path = self._site_path(loc)
            if path is None:
                self.crawler.stats.inc_value("discovery/sitemap/offsite_ignored")
                self.logger.info("ignoring off-site sitemap %s", loc)
                continue
            month = _MONTH_IN_PATH.search(path)
            if month:
                first = date(int(month.group(1)), int(month.group(2)), 1)
                if self.since and first < self.since.replace(day=1):
                    continue
                if self.until and first > self.until:
                    continue
            if self._sitemap_files >= self.sitemap_max_files:
                self.limit_reached(
                    "sitemap_files",
                    (
                        f"more than {self.sitemap_max_files} sitemaps this run: no more are requested "
                        f"(CRAWLER_SITEMAP_MAX_FILES)"
                    ),
                )
                return
            self._sitemap_files += 1
            yield self._request(path, self.parse_sitemap, "sitemap", meta={"sitemap_depth": depth})

    def parse_listing(self, response: Response) -> Iterator[Request]:
        """A section listing page: article links, and further pages up to max_pages."""
        self.crawler.stats.inc_value("discovery/sections/pages")
        d = self.outlet.discovery
        for xp in d.listing_link_xpaths:
            for href in response.xpath(xp).getall():
                joined = self._joined(response, href.strip(), "sections")
                request = self.article_request(joined, "sections") if joined else None
                if request is not None:
                    yield request
        for xp in d.pagination_xpaths:
            for href in response.xpath(xp).getall():
                joined = self._joined(response, href.strip(), "sections")
                path = self._site_path(joined) if joined else None
                listing = self.outlet.parse_section_listing(urlsplit(path).path) if path else None
                if listing is None:
                    continue
                section, page = listing
                if 1 < page <= self.max_pages:
                    yield self._request(self.outlet.section_listing_path(section, page), self.parse_listing, "sections")

    # ---- articles -------------------------------------------------------------------------------------

    def article_failed(self, failure: Failure) -> None:
        """An article request that ended without a response and without a recorded reason is recorded here
        (page_failed), so no article vanishes without a trace: a body over DOWNLOAD_MAXSIZE once decompressed
        (gzip bomb), a redirect loop, robots.txt, an HTTP status no component handles (401, 400, ...)."""
        exc = failure.value
        if isinstance(exc, PageGivenUp | SkippedRequest):
            return  # recorded by the failover middleware / skipped on purpose by the incremental check
        request = failure.request  # type: ignore[attr-defined]
        status: int | None = None
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, HttpError):
            status = exc.response.status
            reason, key = f"HTTP {status}", str(status)
        # Scrapy raises a plain IgnoreRequest for these three, so only its message tells them apart.
        elif isinstance(exc, IgnoreRequest) and "max redirections" in message:
            limit = self.crawler.settings.getint("REDIRECT_MAX_TIMES")
            reason, key = f"redirect loop: more than {limit} redirects (REDIRECT_MAX_TIMES)", "redirect_loop"
        elif isinstance(exc, IgnoreRequest) and "DOWNLOAD_MAXSIZE" in message:
            limit = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
            reason = f"page too large: inflates past DOWNLOAD_MAXSIZE ({limit / 1048576:g} MB) (gzip bomb?)"
            key = "too_large"
        elif isinstance(exc, IgnoreRequest) and "robots.txt" in message:
            reason, key = "forbidden by robots.txt", "robots"
        else:
            reason, key = message[:300], type(exc).__name__
        report_page_failed(self.crawler, request, reason, status, key)

    def parse_article(self, response: Response) -> Iterator[PageItem | Request]:
        """An article response becomes a page item: raw bytes and fetch facts, extraction happens later."""
        meta = response.meta
        landed_at = urlsplit(response.url)  # path and query: a mirror's host (a loopback one too) is not asked
        landed = self.outlet.parse_article_url(landed_at.path + (f"?{landed_at.query}" if landed_at.query else ""))
        if landed is not None and landed.article_id != str(meta["article_id"]):
            # A redirect led to another article: this id has no page of its own any more. Record that, and ask
            # for the other article under its own id, so the dupe filter keeps it to one item per run.
            report_page_failed(
                self.crawler,
                response.request or Request(response.url, meta=dict(meta)),
                f"redirected to article {landed.article_id}",
                None,
                key="redirected_to_other_article",
            )
            request = self.article_request(response.url, str(meta.get("source", "")))
            if request is not None:
                yield request
            return
        self.crawler.stats.inc_value("pages/article_responses")
        yield PageItem(
            article_id=str(meta["article_id"]),
            source_url=meta.get("source_url", response.url),
            page=Page(
                url=response.url,
                html=response.body,
                status=response.status,
                encoding=getattr(response, "encoding", None),
                fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
                mirror=urlsplit(response.url).netloc,
                headers=response_headers(response),
            ),
            source=str(meta.get("source", "")),
            request=response.request,
        )


def _local(tag: Any) -> str:
    """An element's tag without its namespace ("" for comments and processing instructions)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child_text(node: etree._Element, name: str) -> str:
    for child in node:
        if _local(child.tag) == name:
            return " ".join("".join(child.itertext()).split())
    return ""


def _atom_link(entry: etree._Element) -> str:
    """An Atom entry's page: its `link rel="alternate"` (or a link without rel), else an `id` that is a URL."""
    for child in entry:
        if _local(child.tag) == "link" and child.get("rel", "alternate") == "alternate" and child.get("href"):
            return str(child.get("href")).strip()
    ident = _child_text(entry, "id")
    return ident if ident.startswith(("http://", "https://")) else ""


def _feed_entries(root: etree._Element) -> list[tuple[str, str]] | None:
    """(link, title) of every item of an RSS 0.9x/2.0, RSS 1.0 (RDF) or Atom feed; None when `root` is none of
    them. Elements are matched by local name: RSS 1.0 and Atom put them in a namespace, RSS 2.0 does not."""
    kind = _local(root.tag)
    if kind in ("rss", "RDF"):
        items = [el for el in root.iter() if _local(el.tag) == "item"]
        return [
            (
                _child_text(el, "link") or str(el.get("{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about", "")),
                _child_text(el, "title"),
            )
            for el in items
        ]
    if kind == "feed":
        entries = [el for el in root.iter() if _local(el.tag) == "entry"]
        return [(_atom_link(el), _child_text(el, "title")) for el in entries]
    return None


def _project_outlet_name() -> str:
    """The CRAWLER_OUTLET of the project settings (for a spider built without a crawler)."""
    from scrapy.utils.project import get_project_settings

    return str(get_project_settings().get("CRAWLER_OUTLET"))
