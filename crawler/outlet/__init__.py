"""Load and validate an outlet profile (a TOML data file) and answer URL questions with it."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from crawler.core.urls import split_url


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
    """XPaths for one page layout era of the outlet, as written (each checked by compiling it when the profile
    loads; extraction compiles what it runs once per process)."""

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
class Discovery:
    """Where the outlet lists its articles (the profile's [discovery]): path templates the spider formats, the
    section listings it walks and the XPaths (as written; Scrapy's selectors run them) of their links."""

    rss: str
    section_rss: str
    sitemap_index: str
    monthly_sitemap: str
    section_listing: str
    max_pages: int
    listing_sections: tuple[str, ...]
    listing_link_xpaths: tuple[str, ...]
    pagination_xpaths: tuple[str, ...]


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
    discovery: Discovery
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
    canonical_paths: Mapping[str, str] = field(default_factory=dict)
    """Per article-pattern era, the canonical path template (eras without one keep their path)."""
    section_listing_regex: re.Pattern[str] | None = None
    """A section listing page's path, with groups `section` and (optional) `page`."""
    boilerplate: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Every [boilerplate] key, validated and compiled; keys without an attribute of their own are read as
    attributes too (`outlet.<key>`), so a new key needs one line in the schema and none here."""
    notice_phrases: Mapping[str, tuple[bytes, ...]] = field(default_factory=dict, compare=False, repr=False)
    """[non_article] seizure/challenge/error phrases, lower-cased UTF-8, for scanning raw response bytes."""
    line_phrase_set: frozenset[str] = frozenset()
    """`line_phrases` as a set for whole-line lookups, each without surrounding space or a trailing colon."""
    contains_phrase_regex: re.Pattern[str] | None = None
    """Any of `contains_phrases`, as one compiled case-insensitive pattern (None when the list is empty)."""
    date_words_regex: re.Pattern[str] | None = None
    """Any of the [dates] foreign day and month names, longest first, as whole words (None when there are none)."""
    updated_regex: re.Pattern[str] | None = None
    """"[<label>: <date>]" with any of the [dates] `updated_labels`; group 1 is the date."""
    archives: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The [archives] table: URL heads and eras web-archive backfills query (see crawler.archives.cdx)."""
    signs: tuple[str, ...] = ()
    """The [signs] table's names (site name, copyright line, logo file): with the hosts, what marks a page as the
    outlet's own (crawler.extract.outletsigns). Optional: a profile without it accepts every page."""

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: a [boilerplate] key added to the schema alone.
        extra = self.__dict__.get("boilerplate") or {}
        if name in extra:
            return extra[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # ---- hosts -------------------------------------------------------------------------------

    def domain_of(self, host: str) -> str | None:
        """The registered outlet domain a host belongs to (any subdomain; seized domains too), or None."""
        host = host.lower().rstrip(".")
        for domain in (*self.domains, *self.seized_domains):
            if host == domain or host.endswith("." + domain):
                return domain
        if any(p.match(host) for p in self.mirror_host_patterns):
            return host
        return None

    def is_outlet_host(self, host: str) -> bool:
        """True for any page host of the outlet: known domains, www., language sites, CDN mirrors."""
        host = host.lower().rstrip(".")
        return host not in self.non_page_hosts and self.domain_of(host) is not None

    def is_seized(self, host: str) -> bool:
        """True for a host on a seized or dead domain: its links are followed on a live mirror instead."""
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.seized_domains)

    def language_for_host(self, host: str) -> str:
        """The language of the site on this host: a language subdomain's, else the outlet's."""
        first = host.lower().split(".", 1)[0]
        return self.language_subdomains.get(first, self.language)

    # ---- article URLs ------------------------------------------------------------------------

    def parse_article_url(self, url: str) -> ArticleUrl | None:
        """Article id, era and path date for an article URL of this outlet; None for any other URL (a malformed
        one too)."""
        parts = split_url(url.strip())
        if parts is None:
            return None
        if parts.scheme and parts.scheme not in ("http", "https"):
            return None
        if parts.netloc and not self.is_outlet_host(parts.hostname or ""):
            return None
        path = parts.path or "/"
        # Patterns are matched against the path, and then against path and query: the 2008-2011 form
        # (`/detail.aspx?id=130017&sectionid=3510203`) carries its id in the query. Path patterns end before
        # any `?`, so the second try only ever matches a pattern that names the query.
        tries = (path, f"{path}?{parts.query}") if parts.query else (path,)
        for era, pattern in self.article_patterns:
            match = next((m for m in (pattern.match(t) for t in tries) if m), None)
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
        """The URL on the canonical host, its path rebuilt from the era's `canonical` template (padded date,
        fixed capitals, no trailing slash); eras without a template keep their path.

        Only the host and the fixed parts change: the slug is kept as given, since the id and not the
        slug identifies the article.
        """
        parts = urlsplit(url.strip())
        parsed = self.parse_article_url(url)
        host = parts.hostname or self.canonical_host
        if not self.is_outlet_host(host) or self.language_for_host(host) == self.language:
            host = self.canonical_host
        path, query = parts.path, ""
        template = self.canonical_paths.get(parsed.era) if parsed else None
        if parsed and template and "{y" not in template:
            # An undated form whose id sits in the query: the template alone (other query fields dropped).
            path, _, query = template.format(id=parsed.article_id).partition("?")
        elif parsed and parsed.path_date and template:
            d = parsed.path_date
            path = template.format(y=d.year, m=d.month, d=d.day, id=parsed.article_id)
            slug = canonical_slug(parsed.slug)
            if slug:
                path += "/" + slug
        return urlunsplit((self.canonical_scheme, host, path, query, ""))

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
        return self.discovery.monthly_sitemap.format(year=year, month=month)

    def section_listing_path(self, section: str, page: int) -> str:
        """Path of one page of a section listing."""
        return self.discovery.section_listing.format(section=section, page=page)

    def parse_section_listing(self, path: str) -> tuple[str, int] | None:
        """(section id, page number) of a section listing page's path, else None."""
        if self.section_listing_regex is None:
            return None
        match = self.section_listing_regex.match(path)
        if match is None:
            return None
        return match.group("section"), int(match.groupdict().get("page") or 1)

    def section_rss_path(self, section: str) -> str:
        """Path of a section's RSS feed."""
        return self.discovery.section_rss.format(section=section)


def canonical_slug(slug: str) -> str:
    """A URL slug with mirror noise removed: stray leading, trailing and doubled hyphens and slashes.

    Mirrors serve the same article as `/774397/-Iran-urges...`, `...-Olympics-South-Korea-` and
    `North-Korea--Winter...`; the canonical URL must not depend on which one was crawled.
    """
    slug = re.sub(r"-{2,}", "-", slug.strip("/"))
    return slug.strip("-,")


# ---- loading and validation ----------------------------------------------------------------------
#
# The profile's shape is declared once below (SCHEMA, TABLE_LISTS): each key with its kind. Adding a key to a
# table is one line there; a key the schema does not know is a typo, reported by name rather than ignored.
# Regular expressions and XPaths are compiled here, once per process.


@dataclass(frozen=True)
class Key:
    """One key of a profile table: its kind, and whether it may be left out (then `default`)."""

    kind: str
    required: bool = True
    default: Any = None


def _fail(where: str, message: str) -> OutletConfigError:
    return OutletConfigError(f"{where}: {message}")


def _as(value: Any, types: type | tuple[type, ...], key: str, where: str, label: str) -> Any:
    if not isinstance(value, types) or (
        isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,))
    ):
        raise _fail(where, f"key '{key}' must be {label}, got {type(value).__name__}")
    return value


def _str_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    _as(value, list, key, where, "list")
    if not all(isinstance(v, str) for v in value):
        raise _fail(where, f"key '{key}' must be a list of strings")
    return tuple(value)


def _lower(phrase: str) -> str:
    """A literal of a case-blind pattern in lower case, which is searched faster (ASCII only: lower-casing some
    other letters changes their number)."""
    return phrase.lower() if phrase.isascii() else phrase


def _regex(value: str, key: str, where: str, ignore_case: bool = True) -> re.Pattern[str]:
    try:
        return re.compile(value, re.IGNORECASE if ignore_case else 0)
    except re.error as exc:
        raise _fail(where, f"key '{key}' holds a bad regular expression {value!r}: {exc}") from None


def _xpath(value: str, key: str, where: str) -> etree.XPath:
    try:
        return etree.XPath(value)
    except etree.XPathSyntaxError as exc:
        raise _fail(f"{where} key '{key}'", f"bad XPath {value!r}: {exc}") from None


def _xpath_list(value: Any, key: str, where: str) -> tuple[tuple[str, ...], tuple[etree.XPath, ...]]:
    texts = _str_list(value, key, where)
    return texts, tuple(_xpath(x, key, where) for x in texts)


def _relative_xpath_list(value: Any, key: str, where: str) -> tuple[tuple[str, ...], tuple[etree.XPath, ...]]:
    for xp in _str_list(value, key, where):
        if not xp.startswith("."):
            raise _fail(
                where,
                f"key '{key}' holds {xp!r}; these XPaths run inside the body region and must be "
                "relative (start with './/')",
            )
    return _xpath_list(value, key, where)


def _urls(value: Any, key: str, where: str) -> tuple[str, ...]:
    urls = _str_list(value, key, where)
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _fail(where, f"key '{key}' has a URL that is not http(s): {url!r}")
    return urls


def _timezone(value: Any, key: str, where: str) -> ZoneInfo:
    _as(value, str, key, where, "str")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(where, f"key '{key}' names no known zone: {value!r}") from None


def _map(of: type | tuple[type, ...], label: str, digits: bool = False) -> Callable[[Any, str, str], dict[str, Any]]:
    def check(value: Any, key: str, where: str) -> dict[str, Any]:
        _as(value, dict, key, where, "table")
        # Errors name the table as TOML does: [sections], [dates.words].
        table = where if where.endswith(f"[{key}]") else f"{where.removesuffix(']')}.{key}]"
        for k, v in value.items():
            if (digits and not k.isdigit()) or isinstance(v, bool) or not isinstance(v, of):
                ident = "a numeric id naming " if digits else ""
                raise _fail(table, f"key '{k}' must be {ident}{label}")
        return dict(value)

    return check


def _date(value: Any, key: str, where: str) -> date:
    try:
        return date.fromisoformat(_as(value, str, key, where, "str"))
    except ValueError:
        raise _fail(where, f"key '{key}' is not a date like 2012-12-31: {value!r}") from None


KINDS: dict[str, Callable[[Any, str, str], Any]] = {
    "str": lambda v, k, w: _as(v, str, k, w, "str"),
    "date": _date,
    "int": lambda v, k, w: _as(v, int, k, w, "int"),
    "str_list": _str_list,
    "regex": lambda v, k, w: _regex(_as(v, str, k, w, "str"), k, w),
    "case_regex": lambda v, k, w: _regex(_as(v, str, k, w, "str"), k, w, ignore_case=False),
    "regex_list": lambda v, k, w: tuple(_regex(x, k, w) for x in _str_list(v, k, w)),
    "xpath": lambda v, k, w: (_as(v, str, k, w, "str"), _xpath(v, k, w)),
    "xpath_list": _xpath_list,
    "relative_xpath_list": _relative_xpath_list,
    "url_list": _urls,
    "timezone": _timezone,
    "str_map": _map(str, "a string"),
    "number_map": _map((int, float), "a number"),
    "section_map": _map(str, "a string", digits=True),
    "table": lambda v, k, w: _as(v, dict, k, w, "table"),
}
"""Each kind of value: a checker (value, key, where) -> the value as the Outlet holds it."""

_LAYOUT_XPATHS = ("title", "date", "breadcrumb", "body", "lead", "image", "caption", "byline")

SCHEMA: dict[str, dict[str, Key]] = {
    "outlet": {
        "name": Key("str"),
        "display_name": Key("str", required=False),
        "language": Key("str"),
        "timezone": Key("timezone"),
        "canonical_host": Key("str"),
        "canonical_scheme": Key("str", required=False, default="https"),
    },
    "hosts": {
        "domains": Key("str_list"),
        "mirror_host_patterns": Key("regex_list"),
        "non_page_hosts": Key("str_list"),
        "seized_domains": Key("str_list"),
        "language_subdomains": Key("str_map", required=False, default={}),
    },
    "mirrors": {
        "default": Key("url_list"),
    },
    "discovery": {
        "rss": Key("str"),
        "section_rss": Key("str"),
        "sitemap_index": Key("str"),
        "monthly_sitemap": Key("str"),
        "section_listing": Key("str"),
        "section_listing_regex": Key("regex", required=False),
        "max_pages": Key("int"),
        "listing_sections": Key("str_list"),
        "listing_link_xpaths": Key("xpath_list"),
        "pagination_xpaths": Key("xpath_list"),
    },
    "boilerplate": {
        "line_phrases": Key("str_list"),
        "contains_phrases": Key("str_list"),
        "host_line_regex": Key("regex"),
        "read_more_regex": Key("regex"),
        "byline_place_regex": Key("regex"),
        "caption_regex": Key("regex"),
        "breadcrumb_skip": Key("str_list"),
        "title_decoration_regex": Key("regex"),
        "box_heading_regex": Key("regex"),
        "byline_line_regex": Key("regex"),
        "initials_regex": Key("case_regex"),  # editor initials are capitals: case carries the meaning
        "site_clock_regex": Key("regex"),
        # Furniture known by what it is (crawler.extract.furniture); a profile without them finds none.
        "share_link_regex": Key("regex", required=False, default=re.compile(r"(?!)")),
        "share_line_regex": Key("regex", required=False, default=re.compile(r"(?!)")),
        "alternate_address_regex": Key("regex", required=False, default=re.compile(r"(?!)")),
    },
    "non_article": {
        "seizure": Key("str_list"),
        "challenge": Key("str_list"),
        "error": Key("str_list"),
        "listing_path_regex": Key("regex"),
        "homepage_paths": Key("str_list"),
    },
    "dates": {
        "formats": Key("str_list"),
        "words": Key("str_map"),
        "updated_labels": Key("str_list"),
    },
    "archives": {
        "dated_heads": Key("str_list"),
        "undated_heads": Key("str_list", required=False, default=()),
        "undated_until": Key("date", required=False),
        "id_prefix_digits": Key("int", required=False, default=2),
        "first_year": Key("int"),
    },
}
"""The profile's tables and their keys."""

FREE_TABLES: dict[str, str] = {"sections": "section_map", "health": "number_map"}
"""Tables whose keys are data (section ids, health floor names): only their values are checked."""

TABLE_LISTS: dict[str, dict[str, Key]] = {
    "article_patterns": {
        "era": Key("str"),
        "regex": Key("regex"),
        "canonical": Key("str", required=False),
    },
    "layouts": {
        "name": Key("str"),
        "years": Key("str", required=False, default=""),
        "detect": Key("xpath"),
        **{key: Key("xpath_list") for key in _LAYOUT_XPATHS},
        "prune": Key("relative_xpath_list"),
    },
}
"""Arrays of tables ([[article_patterns]], [[layouts]]) and the keys of each entry."""


def _check_table(table: Any, schema: dict[str, Key], where: str) -> dict[str, Any]:
    """The table's values converted by kind; OutletConfigError names the first missing, unknown or bad key."""
    if not isinstance(table, dict):
        raise _fail(where, f"must be a table, got {type(table).__name__}")
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise _fail(where, f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(schema))})")
    out: dict[str, Any] = {}
    for key, spec in schema.items():
        if key not in table:
            if spec.required:
                raise _fail(where, f"missing key '{key}'")
            out[key] = spec.default
            continue
        out[key] = KINDS[spec.kind](table[key], key, where)
    return out


def _top(data: dict[str, Any], key: str, source: str) -> Any:
    if key not in data:
        raise _fail(source, f"missing key '{key}'")
    return data[key]


def _pattern(entry: dict[str, Any], where: str) -> tuple[str, re.Pattern[str], str | None]:
    rx: re.Pattern[str] = entry["regex"]
    if "id" not in rx.groupindex:
        raise _fail(where, "key 'regex' needs a named group 'id'")
    template = entry["canonical"]
    if template is not None:
        try:
            template.format(y=2000, m=1, d=1, id="1")  # undated templates name id alone
        except (KeyError, IndexError, ValueError) as exc:
            raise _fail(where, f"key 'canonical' is not a path template of y, m, d and id: {exc}") from None
    return entry["era"], rx, template


def _layout(entry: dict[str, Any]) -> Layout:
    lists = {key: entry[key][0] for key in (*_LAYOUT_XPATHS, "prune")}
    detect_text, _checked = entry["detect"]
    return Layout(name=entry["name"], years=str(entry["years"]), detect=detect_text, **lists)


def parse_outlet(data: dict[str, Any], source: str = "<data>") -> Outlet:
    """Build an Outlet from parsed TOML, raising OutletConfigError that names the bad key."""
    t = {name: _check_table(_top(data, name, source), schema, f"{source} [{name}]") for name, schema in SCHEMA.items()}
    free = {
        name: KINDS[kind](_top(data, name, source), name, f"{source} [{name}]") for name, kind in FREE_TABLES.items()
    }
    entries: dict[str, list[dict[str, Any]]] = {}
    for name, schema in TABLE_LISTS.items():
        raw = _as(_top(data, name, source), list, name, source, "list")
        entries[name] = [_check_table(e, schema, f"{source} [[{name}]] #{i + 1}") for i, e in enumerate(raw)]
    if not entries["article_patterns"]:
        raise _fail(source, "key 'article_patterns' needs at least one pattern")
    patterns = [
        _pattern(e, f"{source} [[article_patterns]] #{i + 1}") for i, e in enumerate(entries["article_patterns"])
    ]
    listing_rx = t["discovery"]["section_listing_regex"]
    if listing_rx is not None and "section" not in listing_rx.groupindex:
        raise _fail(f"{source} [discovery]", "key 'section_listing_regex' needs a named group 'section'")
    meta, hosts, boiler, non_article = t["outlet"], t["hosts"], t["boilerplate"], t["non_article"]
    found = t["discovery"]
    discovery = Discovery(
        rss=found["rss"],
        section_rss=found["section_rss"],
        sitemap_index=found["sitemap_index"],
        monthly_sitemap=found["monthly_sitemap"],
        section_listing=found["section_listing"],
        max_pages=found["max_pages"],
        listing_sections=tuple(found["listing_sections"]),
        listing_link_xpaths=found["listing_link_xpaths"][0],  # as written: the spider's selectors run them
        pagination_xpaths=found["pagination_xpaths"][0],
    )
    notices = {key: non_article[key] for key in ("seizure", "challenge", "error")}
    return Outlet(
        name=meta["name"],
        display_name=meta["display_name"] or meta["name"],
        language=meta["language"],
        timezone=meta["timezone"],
        canonical_host=meta["canonical_host"],
        canonical_scheme=meta["canonical_scheme"],
        domains=hosts["domains"],
        mirror_host_patterns=hosts["mirror_host_patterns"],
        non_page_hosts=frozenset(hosts["non_page_hosts"]),
        seized_domains=hosts["seized_domains"],
        language_subdomains=dict(hosts["language_subdomains"]),
        default_mirrors=t["mirrors"]["default"],
        article_patterns=tuple((era, rx) for era, rx, _ in patterns),
        discovery=discovery,
        sections=free["sections"],
        layouts=tuple(_layout(e) for e in entries["layouts"]),
        line_phrases=boiler["line_phrases"],
        contains_phrases=boiler["contains_phrases"],
        host_line_regex=boiler["host_line_regex"],
        read_more_regex=boiler["read_more_regex"],
        byline_place_regex=boiler["byline_place_regex"],
        caption_regex=boiler["caption_regex"],
        breadcrumb_skip=frozenset(s.casefold() for s in boiler["breadcrumb_skip"]),
        title_decoration_regex=boiler["title_decoration_regex"],
        box_heading_regex=boiler["box_heading_regex"],
        byline_line_regex=boiler["byline_line_regex"],
        initials_regex=boiler["initials_regex"],
        site_clock_regex=boiler["site_clock_regex"],
        updated_labels=t["dates"]["updated_labels"],
        date_formats=t["dates"]["formats"],
        date_words={k.casefold(): v for k, v in t["dates"]["words"].items()},
        listing_path_regex=non_article["listing_path_regex"],
        homepage_paths=frozenset(p.lower() for p in non_article["homepage_paths"]),
        non_article=notices,
        health={k: float(v) for k, v in free["health"].items()},
        source_path=source,
        canonical_paths={era: template for era, _, template in patterns if template},
        section_listing_regex=listing_rx,
        boilerplate=boiler,
        notice_phrases={k: tuple(p.lower().encode("utf-8") for p in v) for k, v in notices.items()},
        line_phrase_set=frozenset(p.strip().rstrip(":").strip() for p in boiler["line_phrases"]),
        contains_phrase_regex=re.compile(
            "|".join(re.escape(_lower(p)) for p in boiler["contains_phrases"]), re.IGNORECASE
        )
        if boiler["contains_phrases"]
        else None,
        date_words_regex=_words_regex(t["dates"]["words"]),
        updated_regex=_updated_regex(t["dates"]["updated_labels"]),
        archives=t["archives"],
        signs=_signs(data.get("signs", {}), f"{source} [signs]"),
    )


SIGNS_SCHEMA: dict[str, Key] = {
    "site_names": Key("str_list"),
    "copyright_lines": Key("str_list", required=False, default=()),
    "logos": Key("str_list", required=False, default=()),
}
"""The optional [signs] table: names a page of the outlet carries in its furniture."""


def _signs(table: Any, where: str) -> tuple[str, ...]:
    if table == {}:
        return ()
    checked = _check_table(table, SIGNS_SCHEMA, where)
    return tuple(name for key in SIGNS_SCHEMA for name in checked[key])


def _words_regex(words: Mapping[str, str]) -> re.Pattern[str] | None:
    ordered = sorted(words, key=len, reverse=True)  # "mardi" before "mar": the longest name wins
    if not ordered:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in ordered) + r")\b", re.IGNORECASE)


def _updated_regex(labels: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(lb).replace(r"\ ", r"\s+") for lb in labels) or "Updated"
    return re.compile(r"\[\s*(?:" + alternatives + r")\s*:\s*([^\]]+?)\s*\]", re.IGNORECASE)


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
    """The bundled outlet profile of this name (crawler/outlet/profiles/<name>.toml), loaded once per process."""
    ref = resources.files("crawler.outlet") / "profiles" / f"{name}.toml"
    if not ref.is_file():
        raise OutletConfigError(f"no bundled outlet named {name!r} (looked for crawler/outlet/profiles/{name}.toml)")
    data = tomllib.loads(ref.read_text(encoding="utf-8"))
    return parse_outlet(data, f"crawler/outlet/profiles/{name}.toml")


def bundled_outlets() -> list[str]:
    """Names of the bundled outlet profiles."""
    folder = resources.files("crawler.outlet") / "profiles"
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def outlet_for_url(url: str) -> Outlet | None:
    """The bundled outlet whose hosts include this URL's host, if any (none for a malformed URL)."""
    parts = split_url(url)
    return _outlet_for_host(parts.hostname or "") if parts is not None else None


@lru_cache(maxsize=1024)
def _outlet_for_host(host: str) -> Outlet | None:
    # Asked once per extracted page: the profiles folder is listed once per host, not once per page.
    for name in bundled_outlets():
        outlet = load_outlet(name)
        if outlet.is_outlet_host(host):
            return outlet
    return None
