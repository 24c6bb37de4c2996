"""Load and validate an outlet profile (a TOML data file) and answer URL questions with it."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree


class OutletConfigError(ValueError):
    """An outlet data file is missing a key or holds a value of the wrong kind."""


@dataclass(frozen=True)
class ArticleUrl:
    """What an article URL says: the outlet's id, the era of its pattern, and the date in its path."""

    article_id: str
    era: str
    path_date: date | None
    slug: str


@dataclass(frozen=True)
class Layout:
    """XPaths for one page layout era of the outlet."""

    name: str
    years: str
    detect: str
    title: tuple[str, ...]
    date: tuple[str, ...]
    breadcrumb: tuple[str, ...]
    body: tuple[str, ...]
    lead: tuple[str, ...]
    image: tuple[str, ...]
    caption: tuple[str, ...]
    byline: tuple[str, ...]
    prune: tuple[str, ...]


@dataclass(frozen=True)
class Outlet:
    """One news outlet as data: hosts, mirrors, URL patterns, discovery, layouts and boilerplate."""

    name: str
    display_name: str
    language: str
    timezone: ZoneInfo
    canonical_host: str
    canonical_scheme: str
    domains: tuple[str, ...]
    mirror_host_patterns: tuple[re.Pattern[str], ...]
    non_page_hosts: frozenset[str]
    seized_domains: tuple[str, ...]
    language_subdomains: dict[str, str]
    default_mirrors: tuple[str, ...]
    article_patterns: tuple[tuple[str, re.Pattern[str]], ...]
    discovery: dict[str, Any]
    sections: dict[str, str]
    layouts: tuple[Layout, ...]
    line_phrases: tuple[str, ...]
    contains_phrases: tuple[str, ...]
    host_line_regex: re.Pattern[str]
    read_more_regex: re.Pattern[str]
    byline_place_regex: re.Pattern[str]
    caption_regex: re.Pattern[str]
    breadcrumb_skip: frozenset[str]
    title_decoration_regex: re.Pattern[str]
    box_heading_regex: re.Pattern[str]
    byline_line_regex: re.Pattern[str]
    initials_regex: re.Pattern[str]
    site_clock_regex: re.Pattern[str]
    updated_labels: tuple[str, ...]
    date_formats: tuple[str, ...]
    date_words: dict[str, str]
    listing_path_regex: re.Pattern[str]
    homepage_paths: frozenset[str]
    non_article: dict[str, tuple[str, ...]]
    health: dict[str, float]
    source_path: str = field(default="", compare=False)

    # ---- hosts -------------------------------------------------------------------------------

    def domain_of(self, host: str) -> str | None:
        """The registered outlet domain a host belongs to (any subdomain), or None."""
        host = host.lower().rstrip(".")
        for domain in self.domains:
            if host == domain or host.endswith("." + domain):
                return domain
        if any(p.match(host) for p in self.mirror_host_patterns):
            return host
        return None

    def is_outlet_host(self, host: str) -> bool:
        """True for any page host of the outlet: known domains, www., language sites, CDN mirrors."""
        host = host.lower().rstrip(".")
        return host not in self.non_page_hosts and self.domain_of(host) is not None

    def language_for_host(self, host: str) -> str:
        """The language of the site on this host: a language subdomain's, else the outlet's."""
        first = host.lower().split(".", 1)[0]
        return self.language_subdomains.get(first, self.language)

    # ---- article URLs ------------------------------------------------------------------------

    def parse_article_url(self, url: str) -> ArticleUrl | None:
        """Article id, era and path date for an article URL of this outlet; None for any other URL."""
        parts = urlsplit(url.strip())
        if parts.scheme and parts.scheme not in ("http", "https"):
            return None
        if parts.netloc and not self.is_outlet_host(parts.hostname or ""):
            return None
        path = parts.path or "/"
        for era, pattern in self.article_patterns:
            match = pattern.match(path)
            if not match:
                continue
            groups = match.groupdict()
            path_date: date | None = None
            if groups.get("y"):
                try:
                    path_date = date(int(groups["y"]), int(groups["m"]), int(groups["d"]))
                except ValueError:
                    path_date = None
            return ArticleUrl(
                article_id=str(int(groups["id"])),
                era=era,
                path_date=path_date,
                slug=(groups.get("slug") or "").strip("/"),
            )
        return None

    def article_id(self, url: str) -> str | None:
        """The outlet's numeric article id (as a string) for an article URL, else None."""
        parsed = self.parse_article_url(url)
        return parsed.article_id if parsed else None

    def is_article_url(self, url: str) -> bool:
        """True when the URL matches one of the outlet's article patterns."""
        return self.parse_article_url(url) is not None

    def canonical_url(self, url: str) -> str:
        """The URL on the canonical host: padded date, `Detail` capitalised, no trailing slash.

        Only the host and the fixed parts change: the slug is kept as given, since the id and not the
        slug identifies the article.
        """
        parts = urlsplit(url.strip())
        parsed = self.parse_article_url(url)
        host = parts.hostname or self.canonical_host
        if not self.is_outlet_host(host) or self.language_for_host(host) == self.language:
            host = self.canonical_host
        path = parts.path
        if parsed and parsed.path_date and parsed.era != "2012":
            head = "Video" if parsed.era == "video" else "Detail"
            d = parsed.path_date
            path = f"/{head}/{d.year:04d}/{d.month:02d}/{d.day:02d}/{parsed.article_id}"
            slug = canonical_slug(parsed.slug)
            if slug:
                path += "/" + slug
        return urlunsplit((self.canonical_scheme, host, path, "", ""))

    def extraction_url(self, url: str) -> str:
        """The URL a fetched page is extracted as: itself on an outlet host; the same path and query on the
        canonical host when it came from a host no profile knows (a loopback stand-in, a new CDN mirror), so the
        outlet's rules and not the generic ones apply."""
        parts = urlsplit(url)
        if self.is_outlet_host(parts.hostname or ""):
            return url
        return urlunsplit((self.canonical_scheme, self.canonical_host, parts.path, parts.query, ""))

    def map_to_mirror(self, url: str, mirror_base: str) -> str:
        """The same path and query on another mirror (any outlet host is mapped; others unchanged)."""
        parts = urlsplit(url)
        if parts.netloc and not self.is_outlet_host(parts.hostname or ""):
            return url
        base = urlsplit(mirror_base)
        return urlunsplit((base.scheme, base.netloc, parts.path or "/", parts.query, ""))

    # ---- discovery ---------------------------------------------------------------------------

    def section_name(self, section_id: str) -> str | None:
        """The display name of a section id, if known."""
        return self.sections.get(section_id)

    def monthly_sitemap_path(self, year: int, month: int) -> str:
        """Path of the monthly news sitemap for a month."""
        return str(self.discovery["monthly_sitemap"]).format(year=year, month=month)

    def section_listing_path(self, section: str, page: int) -> str:
        """Path of one page of a section listing."""
        return str(self.discovery["section_listing"]).format(section=section, page=page)

    def section_rss_path(self, section: str) -> str:
        """Path of a section's RSS feed."""
        return str(self.discovery["section_rss"]).format(section=section)


def canonical_slug(slug: str) -> str:
    """A URL slug with mirror noise removed: stray leading, trailing and doubled hyphens and slashes.

    Mirrors serve the same article as `/774397/-Iran-urges...`, `...-Olympics-South-Korea-` and
    `North-Korea--Winter...`; the canonical URL must not depend on which one was crawled.
    """
    slug = re.sub(r"-{2,}", "-", slug.strip("/"))
    return slug.strip("-,")


# ---- loading and validation ----------------------------------------------------------------------

_LAYOUT_LISTS = ("title", "date", "breadcrumb", "body", "lead", "image", "caption", "byline", "prune")

# Keys each table may hold: anything else is a typo, reported by name rather than silently ignored.
_ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "[[layouts]]": frozenset({"name", "years", "detect", *_LAYOUT_LISTS}),
    "[[article_patterns]]": frozenset({"era", "regex"}),
    "[boilerplate]": frozenset(
        {"line_phrases", "contains_phrases", "host_line_regex", "read_more_regex", "byline_place_regex",
         "caption_regex", "breadcrumb_skip", "title_decoration_regex", "box_heading_regex",
         "byline_line_regex", "initials_regex", "site_clock_regex"}
    ),
    "[non_article]": frozenset({"seizure", "challenge", "error", "listing_path_regex", "homepage_paths"}),
    "[dates]": frozenset({"formats", "words", "updated_labels"}),
    "[hosts]": frozenset(
        {"domains", "mirror_host_patterns", "non_page_hosts", "seized_domains", "language_subdomains"}
    ),
}


def _no_unknown_keys(table: dict[str, Any], kind: str, where: str) -> None:
    unknown = sorted(set(table) - _ALLOWED_KEYS[kind])
    if unknown:
        allowed = ", ".join(sorted(_ALLOWED_KEYS[kind]))
        raise OutletConfigError(f"{where}: unknown key '{unknown[0]}' (allowed: {allowed})")


def _require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in table:
        raise OutletConfigError(f"{where}: missing key '{key}'")
    value = table[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise OutletConfigError(f"{where}: key '{key}' must be {names}, got {type(value).__name__}")
    return value


def _str_list(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = _require(table, key, list, where)
    if not all(isinstance(v, str) for v in value):
        raise OutletConfigError(f"{where}: key '{key}' must be a list of strings")
    return tuple(value)


def _regex(value: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise OutletConfigError(f"{where}: bad regular expression {value!r}: {exc}") from None


def _case_sensitive_regex(value: str, where: str) -> re.Pattern[str]:
    """A regex where case carries meaning (editor initials are capitals)."""
    try:
        return re.compile(value)
    except re.error as exc:
        raise OutletConfigError(f"{where}: bad regular expression {value!r}: {exc}") from None


def _xpath(value: str, where: str) -> str:
    try:
        etree.XPath(value)
    except etree.XPathSyntaxError as exc:
        raise OutletConfigError(f"{where}: bad XPath {value!r}: {exc}") from None
    return value


def parse_outlet(data: dict[str, Any], source: str = "<data>") -> Outlet:
    """Build an Outlet from parsed TOML, raising OutletConfigError that names the bad key."""
    meta = _require(data, "outlet", dict, source)
    hosts = _require(data, "hosts", dict, source)
    mirrors = _require(data, "mirrors", dict, source)
    tz_name = _require(meta, "timezone", str, f"{source} [outlet]")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise OutletConfigError(f"{source} [outlet]: key 'timezone' names no known zone: {tz_name!r}") from None

    patterns_raw = _require(data, "article_patterns", list, source)
    if not patterns_raw:
        raise OutletConfigError(f"{source}: key 'article_patterns' needs at least one pattern")
    _no_unknown_keys(hosts, "[hosts]", f"{source} [hosts]")
    patterns: list[tuple[str, re.Pattern[str]]] = []
    for i, entry in enumerate(patterns_raw):
        where = f"{source} [[article_patterns]] #{i + 1}"
        _no_unknown_keys(entry, "[[article_patterns]]", where)
        era = _require(entry, "era", str, where)
        rx = _regex(_require(entry, "regex", str, where), where)
        if "id" not in rx.groupindex:
            raise OutletConfigError(f"{where}: key 'regex' needs a named group 'id'")
        patterns.append((era, rx))

    layouts: list[Layout] = []
    for i, entry in enumerate(_require(data, "layouts", list, source)):
        where = f"{source} [[layouts]] #{i + 1}"
        _no_unknown_keys(entry, "[[layouts]]", where)
        for xp in _str_list(entry, "prune", where):
            if not xp.startswith("."):
                raise OutletConfigError(f"{where}: key 'prune' holds {xp!r}; prune XPaths run inside the body region "
                                        "and must be relative (start with './/')")
        lists = {
            key: tuple(_xpath(x, f"{where} key '{key}'") for x in _str_list(entry, key, where))
            for key in _LAYOUT_LISTS
        }
        layouts.append(
            Layout(
                name=_require(entry, "name", str, where),
                years=str(entry.get("years", "")),
                detect=_xpath(_require(entry, "detect", str, where), f"{where} key 'detect'"),
                **lists,
            )
        )

    discovery = _require(data, "discovery", dict, source)
    for key in ("rss", "section_rss", "sitemap_index", "monthly_sitemap", "section_listing"):
        _require(discovery, key, str, f"{source} [discovery]")
    _require(discovery, "max_pages", int, f"{source} [discovery]")
    for key in ("listing_sections", "listing_link_xpaths", "pagination_xpaths"):
        _str_list(discovery, key, f"{source} [discovery]")

    sections = _require(data, "sections", dict, source)
    for key, value in sections.items():
        if not key.isdigit() or not isinstance(value, str):
            raise OutletConfigError(f"{source} [sections]: key '{key}' must be a numeric id naming a string")

    boiler = _require(data, "boilerplate", dict, source)
    _no_unknown_keys(boiler, "[boilerplate]", f"{source} [boilerplate]")
    non_article = _require(data, "non_article", dict, source)
    _no_unknown_keys(non_article, "[non_article]", f"{source} [non_article]")
    dates = _require(data, "dates", dict, source)
    _no_unknown_keys(dates, "[dates]", f"{source} [dates]")
    date_words = dict(_require(dates, "words", dict, f"{source} [dates]"))
    for key, value in date_words.items():
        if not isinstance(value, str):
            raise OutletConfigError(f"{source} [dates.words]: key '{key}' must name a string")
    health = _require(data, "health", dict, source)
    for key, value in health.items():
        if not isinstance(value, int | float):
            raise OutletConfigError(f"{source} [health]: key '{key}' must be a number")

    default_mirrors = _str_list(mirrors, "default", f"{source} [mirrors]")
    for url in default_mirrors:
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise OutletConfigError(f"{source} [mirrors]: key 'default' has a URL that is not http(s): {url!r}")

    return Outlet(
        name=_require(meta, "name", str, f"{source} [outlet]"),
        display_name=str(meta.get("display_name", meta["name"])),
        language=_require(meta, "language", str, f"{source} [outlet]"),
        timezone=tz,
        canonical_host=_require(meta, "canonical_host", str, f"{source} [outlet]"),
        canonical_scheme=str(meta.get("canonical_scheme", "https")),
        domains=_str_list(hosts, "domains", f"{source} [hosts]"),
        mirror_host_patterns=tuple(
            _regex(p, f"{source} [hosts] key 'mirror_host_patterns'")
            for p in _str_list(hosts, "mirror_host_patterns", f"{source} [hosts]")
        ),
        non_page_hosts=frozenset(_str_list(hosts, "non_page_hosts", f"{source} [hosts]")),
        seized_domains=_str_list(hosts, "seized_domains", f"{source} [hosts]"),
        language_subdomains=dict(hosts.get("language_subdomains", {})),
        default_mirrors=default_mirrors,
        article_patterns=tuple(patterns),
        discovery=dict(discovery),
        sections=dict(sections),
        layouts=tuple(layouts),
        line_phrases=_str_list(boiler, "line_phrases", f"{source} [boilerplate]"),
        contains_phrases=_str_list(boiler, "contains_phrases", f"{source} [boilerplate]"),
        host_line_regex=_regex(
            _require(boiler, "host_line_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        read_more_regex=_regex(
            _require(boiler, "read_more_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        byline_place_regex=_regex(
            _require(boiler, "byline_place_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        caption_regex=_regex(
            _require(boiler, "caption_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        breadcrumb_skip=frozenset(
            s.casefold() for s in _str_list(boiler, "breadcrumb_skip", f"{source} [boilerplate]")
        ),
        title_decoration_regex=_regex(
            _require(boiler, "title_decoration_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        box_heading_regex=_regex(
            _require(boiler, "box_heading_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        byline_line_regex=_regex(
            _require(boiler, "byline_line_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        initials_regex=_case_sensitive_regex(
            _require(boiler, "initials_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        site_clock_regex=_regex(
            _require(boiler, "site_clock_regex", str, f"{source} [boilerplate]"), f"{source} [boilerplate]"
        ),
        updated_labels=_str_list(dates, "updated_labels", f"{source} [dates]"),
        date_formats=_str_list(dates, "formats", f"{source} [dates]"),
        date_words={k.casefold(): v for k, v in date_words.items()},
        listing_path_regex=_regex(
            _require(non_article, "listing_path_regex", str, f"{source} [non_article]"), f"{source} [non_article]"
        ),
        homepage_paths=frozenset(
            p.lower() for p in _str_list(non_article, "homepage_paths", f"{source} [non_article]")
        ),
        non_article={
            key: _str_list(non_article, key, f"{source} [non_article]") for key in ("seizure", "challenge", "error")
        },
        health={k: float(v) for k, v in health.items()},
        source_path=source,
    )


def load_outlet_file(path: str | Path) -> Outlet:
    """Load and validate an outlet profile from a TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OutletConfigError(f"{path}: no such outlet file") from None
    except tomllib.TOMLDecodeError as exc:
        raise OutletConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_outlet(data, str(path))


@lru_cache(maxsize=16)
def load_outlet(name: str = "presstv") -> Outlet:
    """The bundled outlet profile of this name (crawler/outlets/<name>.toml), loaded once per process."""
    ref = resources.files("crawler") / "outlets" / f"{name}.toml"
    if not ref.is_file():
        raise OutletConfigError(f"no bundled outlet named {name!r} (looked for crawler/outlets/{name}.toml)")
    data = tomllib.loads(ref.read_text(encoding="utf-8"))
    return parse_outlet(data, f"crawler/outlets/{name}.toml")


def bundled_outlets() -> list[str]:
    """Names of the bundled outlet profiles."""
    folder = resources.files("crawler") / "outlets"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def outlet_for_url(url: str) -> Outlet | None:
    """The bundled outlet whose hosts include this URL's host, if any."""
    host = urlsplit(url).hostname or ""
    for name in bundled_outlets():
        outlet = load_outlet(name)
        if outlet.is_outlet_host(host):
            return outlet
    return None
