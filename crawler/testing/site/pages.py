"""Render the look-alike site's pages: articles (current and Bootstrap layouts), listings, feeds, sitemaps, notices.

Every function returns bytes (UTF-8) and is pure: the same arguments give the same page. The markup follows
the real site's, with the furniture that extraction must drop (share box, "Read more:" labels and
their related-link lists, data-oembed cards, the alternate-addresses note, the Roku line, the app promo) and
the quirks a crawler must survive (unquoted attributes, one-line feeds, mixed hosts).
"""

from __future__ import annotations

import gzip
import html
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

SEIZURE_NOTICE = (
    "This domain has been seized by the United States Government in accordance with a seizure warrant "
    "obtained by the United States Department of Commerce, Bureau of Industry and Security, Office of Export "
    "Enforcement, as part of a law enforcement action."
)

_E = html.escape

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

_FILLER_TEXT = (
    "officials said the government would continue talks with regional partners on trade energy security and "
    "the reconstruction of infrastructure damaged during the conflict while analysts warned that sanctions "
    "imposed by Washington and its allies had driven up prices of food and medicine for ordinary families "
    "across the country and the region according to figures released by the central bank on Monday"
)
_FILLER_WORDS = _FILLER_TEXT.split()


@dataclass
class RelatedLink:
    """A link to another article shown in page furniture ("Read more:" lists, oembed cards, sidebars)."""

    path: str
    title: str


@dataclass
class ArticleSpec:
    """Everything a rendered article page shows. Dates are Tehran local time (naive)."""

    article_id: str
    published: datetime
    section_id: str
    section_name: str
    title: str
    lead: str
    paragraphs: list[str]
    caption: str = ""
    image_path: str = ""
    byline: tuple[str, str] | None = None
    """(reporter name, "Press TV, Tehran") for reports; None for agency news."""
    updated: datetime | None = None
    slug: str = ""
    related: list[RelatedLink] = field(default_factory=list)
    language: str = "en"
    pad_to_bytes: int = 0
    """Grow the page with sidebar headlines and script blocks (outside the article) to about this size."""

    @property
    def path(self) -> str:
        """The article's path in the 2016-to-now pattern, zero-padded date."""
        d = self.published
        slug = self.slug or slugify(self.title)
        return f"/Detail/{d.year:04d}/{d.month:02d}/{d.day:02d}/{self.article_id}/{slug}"


def slugify(title: str) -> str:
    """The site's slug style: words joined by hyphens, punctuation dropped, case kept."""
    words = ["".join(ch for ch in w if ch.isalnum()) for w in title.split()]
    return "-".join(w for w in words if w)[:90] or "News"


def filler_paragraphs(n: int, seed: int, words: int = 45) -> list[str]:
    """`n` plausible news paragraphs of about `words` words, reproducible from `seed`."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        count = max(12, words + rng.randint(-10, 10))
        ws = [rng.choice(_FILLER_WORDS) for _ in range(count)]
        out.append(ws[0].capitalize() + " " + " ".join(ws[1:]) + ".")
    return out


def current_datetime_text(d: datetime) -> str:
    """ "Saturday, 15 August 2026 10:30 AM", the current layout's date text."""
    hour = d.hour % 12 or 12
    ampm = "AM" if d.hour < 12 else "PM"
    return f"{_DAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year} {hour}:{d.minute:02d} {ampm}"


def bootstrap_datetime_text(d: datetime) -> str:
    """ "Mon Jan 8, 2018 06:52PM", the Bootstrap layout's date text."""
    hour = d.hour % 12 or 12
    ampm = "AM" if d.hour < 12 else "PM"
    return f"{_DAYS[d.weekday()][:3]} {_MONTHS[d.month - 1][:3]} {d.day}, {d.year} {hour:02d}:{d.minute:02d}{ampm}"


def rfc822(d: datetime) -> str:
    """ "Sat, 15 Aug 2026 21:39:28 +0330" (Tehran offset as the site prints it)."""
    return f"{_DAYS[d.weekday()][:3]}, {d.day:02d} {_MONTHS[d.month - 1][:3]} {d.year} {d:%H:%M:%S} +0330"


_SIDEBAR_POOL: list[tuple[str, str]] = []
_BLOB_POOL: list[str] = []


def _pools() -> tuple[list[tuple[str, str]], list[str]]:
    """Headlines (escaped, with slug) and script blobs for sidebars, made once per process."""
    if not _SIDEBAR_POOL:
        rng = random.Random(7)
        for _ in range(512):
            words = " ".join(rng.choice(_FILLER_WORDS) for _ in range(9)).capitalize()
            _SIDEBAR_POOL.append((_E(words), slugify(words)))
        for _ in range(32):
            _BLOB_POOL.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(900)))
    return _SIDEBAR_POOL, _BLOB_POOL


def _padding(spec: ArticleSpec, page_so_far: int) -> str:
    """Sidebar headlines and script blocks: the bulk of a real 40-120 KB page, never article text."""
    if spec.pad_to_bytes <= page_so_far:
        return ""
    headlines, blobs = _pools()
    base = int(spec.article_id)
    parts: list[str] = ['<div class="col-md-3 sidebar"><div class="latest-news"><h4>Latest News</h4><ul>']
    size = page_so_far
    i = 0
    while size < spec.pad_to_bytes:  # the pools are ASCII: str length is byte length
        i += 1
        aid = base - i * 7
        title, slug = headlines[(base * 31 + i * 17) % len(headlines)]
        chunk = (
            f'<li class="latest-item"><a class="hover-effect" href="/Detail/2020/01/01/{aid}/{slug}">'
            f'<img src="//cdn.presstv.ir/Photo/2020/1/1/{aid:x}.s.jpg" alt="">'
            f'<span class="latest-title">{title}</span></a></li>\n'
        )
        if i % 25 == 0:
            chunk += (
                f'<script type="text/javascript">window.__cfg_{i}='
                f'{{"k":"{blobs[(base + i) % len(blobs)]}"}};</script>\n'
            )
        parts.append(chunk)
        size += len(chunk)
    parts.append("</ul></div></div>")
    return "".join(parts)


def _read_more_html(related: Sequence[RelatedLink], bootstrap: bool) -> str:
    if not related:
        return ""
    items = "".join(f'<li><a href="{_E(r.path)}">{_E(r.title)}</a></li>' for r in related[:2])
    label = '<p><span class="read-more">Read More:</span></p>' if bootstrap else "<p><strong>Read more:</strong></p>"
    return f'{label}\n<ul class="read-more-list">{items}</ul>\n'


def _oembed(r: RelatedLink) -> str:
    return (
        f'<div data-oembed-url="https://www.presstv.ir{_E(r.path)}"><div class="embed-card">'
        f'<a href="{_E(r.path)}"><img src="//cdn.presstv.ir/Photo/2026/1/1/card.s.jpg"></a>'
        f'<a href="{_E(r.path)}">{_E(r.title)}</a></div></div>\n'
    )


def render_article_current(spec: ArticleSpec) -> bytes:
    """An article page in the 2021-to-now layout (div.details-page, h1.news-title-container, ...)."""
    d = spec.published
    paras = list(spec.paragraphs)
    body: list[str] = []
    for i, p in enumerate(paras):
        body.append(f"<p>{_E(p)}</p>\n")
        if i == 1 and spec.related:
            body.append(_read_more_html(spec.related, bootstrap=False))
        if i == 3 and len(spec.related) > 2:
            body.append(_oembed(spec.related[2]))
    byline = ""
    if spec.byline:
        byline = (
            f'<div class="news-reporter"><span class="reporter-name">{_E(spec.byline[0])}</span><br>'
            f"<span>{_E(spec.byline[1])}</span></div>\n"
        )
    image = ""
    if spec.image_path:
        image = (
            f'<figure><img src="//cdn.presstv.ir{_E(spec.image_path)}" alt="">'
            f"<figcaption>{_E(spec.caption)}</figcaption></figure>\n"
        )
    updated = ""
    if spec.updated:
        updated = f" [Updated: {current_datetime_text(spec.updated)}]"
    ampm = "AM" if d.hour < 12 else "PM"
    created = f"{d.month}/{d.day}/{d.year} {d.hour % 12 or 12}:{d.minute:02d}:{d.second:02d} {ampm}"
    page = (
        "<!DOCTYPE html>\n"
        f'<html lang="{_E(spec.language)}"><head><meta charset="utf-8">\n'
        f"<title>{_E(spec.title)} - PressTV</title>\n"
        f"<meta name='DC.Date.Created'  content='{created}'/>\n"
        f"<meta name='date' content='{created}'/>\n"
        f'<meta property="og:title" content="{_E(spec.title)}">\n'
        f'<meta property="og:description" content="{_E(spec.lead)}">\n'
        + (
            f'<meta property="og:image" content="https://cdn.presstv.ir{_E(spec.image_path)}">\n'
            if spec.image_path
            else ""
        )
        + '<link rel="stylesheet" href="/Content/site.css"></head><body>\n'
        '<div class="app-promo">Install the new version of PressTv application</div>\n'
        '<nav class="main-menu"><ul><li><a href="/">Home</a></li><li><a href=/Section/101>Iran</a></li>'
        '<li><a href=/Section/102>West Asia</a></li><li><a href="/Section/103">US</a></li></ul></nav>\n'
        '<div class="body-content details-page">\n <div class="row"><div class="col-md-9">\n'
        f'  <div class="news-section-container"><a href="/">News</a> / <a href="/Section/{_E(spec.section_id)}">'
        f"{_E(spec.section_name)}</a></div>\n"
        f'  <h1 class="news-title-container">{_E(spec.title)}</h1>\n'
        f'  <time class="news-modifydate-container" datetime="{current_datetime_text(d)}">'
        f"{current_datetime_text(d)}{updated}</time>\n"
        f'  <div class="news-detail">\n   {image}'
        f'   <div class="news-summery-container">{_E(spec.lead)}</div>\n   {byline}'
        f'   <div class="news-body-container">\n{"".join(body)}   </div>\n'
        "  </div>\n"
        '  <div class="share-box"><span>SHARE THIS ARTICLE</span><a href="#">Facebook</a><a href="#">X</a></div>\n'
        " </div>\n"
        ' <div class="col-md-12">\n'
        "  <p>Press TV\u2019s website can also be accessed at the following alternate addresses:</p>\n"
        '  <p><a href="https://www.presstv.co.uk">www.presstv.co.uk</a></p>\n'
        '  <p><a href="https://www.presstv.ir">www.presstv.ir</a></p>\n'
        '  <p class="roku">Press TV News Roku</p>\n'
        " </div>\n"
    )
    tail = " </div>\n</div>\n<footer><p>&copy; Press TV</p></footer></body></html>\n"
    page += _padding(spec, len(page.encode("utf-8")) + len(tail)) + tail
    return page.encode("utf-8")


def render_article_bootstrap(spec: ArticleSpec) -> bytes:
    """An article page in the 2016-2020 Bootstrap layout (h2.page-header, div.item-date, div.item-text)."""
    d = spec.published
    body: list[str] = []
    for i, p in enumerate(spec.paragraphs):
        body.append(f"<p>{_E(p)}</p>\n")
        if i == 1 and spec.related:
            body.append(_read_more_html(spec.related, bootstrap=True))
    updated = ""
    if spec.updated:
        updated = f"<br>[Updated: {bootstrap_datetime_text(spec.updated)} ]"
    reporter = ""
    if spec.byline:
        reporter = f'<div class="item-reporter">{_E(spec.byline[0])}, {_E(spec.byline[1])}</div>\n'
    image = ""
    if spec.image_path:
        image = (
            f'<figure class="item-image"><img src="{_E(spec.image_path)}" class=img-responsive>'
            f'<figcaption class="item-caption">{_E(spec.caption)}</figcaption></figure>\n'
        )
    page = (
        "<!DOCTYPE html>\n"
        f'<html lang="{_E(spec.language)}"><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
        f"<title>PressTV-{_E(spec.title)}</title>\n"
        f'<meta property="og:title" content="{_E(spec.title)}">\n'
        f'<meta property="og:description" content="{_E(spec.lead)}">\n'
        "</head><body>\n"
        '<div class="app-banner">Install the new version of PressTv application</div>\n'
        '<div class="container"><div class="row"><div class="col-md-8">\n'
        '<ol class="breadcrumb"><li><a href="/">News</a></li>'
        f'<li><a href="/Section/{_E(spec.section_id)}">{_E(spec.section_name)}</a></li></ol>\n'
        f'<h2 class="page-header">{_E(spec.title)}</h2>\n'
        f'<div class="item-date">\n            {bootstrap_datetime_text(d)}{updated}</div>\n'
        f"{image}"
        f'<div class="item-lead">{_E(spec.lead)}</div>\n{reporter}'
        f'<div class="item-text"><div class="entry-content">\n{"".join(body)}</div></div>\n'
        '<div class="share-tools">SHARE THIS ARTICLE</div>\n'
        "</div>\n"
    )
    tail = "</div></div><footer>&copy; Press TV</footer></body></html>\n"
    page += _padding(spec, len(page.encode("utf-8")) + len(tail)) + tail
    return page.encode("utf-8")


def render_article(spec: ArticleSpec, layout: str = "current") -> bytes:
    """An article page in a layout: "current" (2021-) or "bootstrap" (2016-2020)."""
    if layout == "current":
        return render_article_current(spec)
    if layout == "bootstrap":
        return render_article_bootstrap(spec)
    raise ValueError(f"unknown layout {layout!r}: use 'current' or 'bootstrap'")


@dataclass
class ListingEntry:
    """One article as a listing, feed or sitemap shows it."""

    path: str
    title: str
    published: datetime
    lead: str = ""


def render_listing(
    section_id: str, section_name: str, page: int, last_page: int, entries: Sequence[ListingEntry]
) -> bytes:
    """A section listing page `/Section/<id>/<page>`: links in the four markups the site uses, pagination."""
    links: list[str] = []
    for i, e in enumerate(entries):
        kind = i % 4
        if kind == 0:  # div.section-data > div > a, quoted
            links.append(f'<div class="section-data"><div><a href="{_E(e.path)}">{_E(e.title)}</a></div></div>')
        elif kind == 1:  # unquoted attributes, as some listing markup has
            links.append(f"<div class=item><a class=section-latest-news-link href={e.path}>{_E(e.title)}</a></div>")
        elif kind == 2:
            links.append(
                f'<a class="hover-effect" href="{_E(e.path)}"><img src="//cdn.presstv.ir/Photo/x.s.jpg">'
                f"<span>{_E(e.title)}</span></a>"
            )
        else:
            links.append(f'<a class="loaded" href="{_E(e.path)}">{_E(e.title)}</a>')
    pages: list[str] = []
    if last_page > 1:
        for p in range(1, last_page + 1):
            cls = "page active" if p == page else "page"
            pages.append(f'<li class="{cls}"><a href="/Section/{section_id}/{p}">{p}</a></li>')
        if page < last_page:
            pages.append(f'<li class="next"><a href="/Section/{section_id}/{page + 1}">&raquo;</a></li>')
        pages.append(f'<li class="last"><a href="/Section/{section_id}/{last_page}">Last</a></li>')
    text = (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{_E(section_name)} - PressTV</title></head><body>\n"
        f'<div class="body-content"><h1 class="section-title">{_E(section_name)}</h1>\n'
        + "\n".join(links)
        + f'\n<ul class="pagination">{"".join(pages)}</ul></div></body></html>\n'
    )
    return text.encode("utf-8")


def render_rss(entries: Iterable[tuple[str, ListingEntry]], built: datetime, title: str = "Presstv") -> bytes:
    """An RSS feed as the site serves it: one line, no pubDate/guid/category, self-closing content:encoded.

    `entries` are (absolute link, entry) pairs, so the caller decides hosts and repetitions.
    """
    items = "".join(
        f"<item><link>{_E(link)}</link><title> {_E(e.title)}&#10; </title>"
        f"<description>{_E(e.lead)}</description>"
        '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/" /></item>'
        for link, e in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{_E(title)}</title><link>https://www.presstv.ir/</link><description>Press TV</description>"
        f"<language>en-us</language><lastBuildDate>{rfc822(built)}</lastBuildDate>{items}</channel></rss>"
    ).encode()


def render_sitemap_index(locs: Iterable[str]) -> bytes:
    """The /sitemap.xml index of monthly sitemaps."""
    body = "".join(f"<sitemap><loc>{_E(loc)}</loc></sitemap>\n" for loc in locs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n{body}</sitemapindex>\n'
    ).encode()


def render_news_sitemap(entries: Iterable[tuple[str, ListingEntry]]) -> bytes:
    """A monthly news sitemap: url/loc plus news:news with news:publication_date and news:title."""
    urls = "".join(
        f"<url><loc>{_E(loc)}</loc><news:news><news:publication><news:name>Press TV</news:name>"
        "<news:language>en</news:language></news:publication>"
        f"<news:publication_date>{e.published.isoformat()}+03:30</news:publication_date>"
        f"<news:title>{_E(e.title)}</news:title></news:news></url>\n"
        for loc, e in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n{urls}</urlset>\n'
    ).encode()


def gzipped(data: bytes) -> bytes:
    """Gzip bytes (for `.xml.gz` sitemaps)."""
    return gzip.compress(data, mtime=0)


def render_seizure_notice() -> bytes:
    """The page presstv.com answers every path with since 2021, status 200."""
    return (
        "<!DOCTYPE html><html><head><title>Domain Seized</title></head><body>"
        '<div class="seizure"><img src="/seal.png" alt="Seal">'
        f"<h1>This domain has been seized</h1><p>{_E(SEIZURE_NOTICE)}</p></div></body></html>"
    ).encode()


def render_challenge_page() -> bytes:
    """A bot-check interstitial some CDNs answer with (status 200 or 403)."""
    return (
        b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
        b"<h1>Checking your browser before accessing the site.</h1>"
        b"<p>Please enable JavaScript and cookies to continue</p><p>DDoS protection by CDN</p></body></html>"
    )


def render_not_found() -> bytes:
    """The site's 404 body."""
    return (
        b"<!DOCTYPE html><html><head><title>404 - File or directory not found.</title></head><body>"
        b"<h2>404 - File or directory not found.</h2>"
        b"<p>The resource you are looking for might have been removed.</p></body></html>"
    )


def render_homepage(entries: Sequence[ListingEntry]) -> bytes:
    """The front page: a headline index (links only)."""
    links = "".join(f'<li><a class="hover-effect" href="{_E(e.path)}">{_E(e.title)}</a></li>' for e in entries)
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>PressTV</title></head><body>"
        f'<div class="home-news"><ul>{links}</ul></div></body></html>'
    ).encode()


def month_start(d: date) -> date:
    """The first day of a date's month."""
    return date(d.year, d.month, 1)
