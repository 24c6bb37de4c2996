"""`crawler extract FILE_OR_URL [--url URL]`: print one page's article as JSON, or why it is not one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlsplit

from crawler.core.status import CommandError
from crawler.core.terminal import json_line, safe
from crawler.extract import NotAnArticle, extract
from crawler.extract.decode import read_page_file

NOT_AN_ARTICLE_STATUS = 3


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="extract one saved page (.html or .html.gz) or URL and print the item")
    p.add_argument("source", metavar="FILE_OR_URL", help="a saved page file, or an http(s) URL to fetch")
    p.add_argument(
        "--url",
        help="the page's original URL (chooses the outlet profile); default: the URL the page declares "
        "(canonical link or og:url), else the source",
    )
    p.set_defaults(func=run)


def _fetch(url: str) -> bytes:
    # Plain urllib: one page does not need a crawler, and the result goes through the same guards.
    from urllib.request import Request, urlopen

    from crawler.crawl.settings import USER_AGENT
    from crawler.extract.decode import MAX_PAGE_BYTES

    req = Request(url, headers={"User-Agent": USER_AGENT})
    with urlopen(req, timeout=30) as resp:
        data: bytes = resp.read(MAX_PAGE_BYTES + 1)
    return data


def _declared_url(data: bytes) -> str | None:
    """The page's own address from <link rel="canonical"> or og:url, so a saved page without --url still
    gets its outlet's rules; None when it declares none (then the file's own file:// URL is used)."""
    import re

    head = data[:65536].decode("utf-8", "replace")
    for tag in re.findall(r"<(?:link|meta)\b[^>]*>", head, flags=re.IGNORECASE):
        attrs = {k.lower(): v for k, _, v in re.findall(r"""([\w:-]+)\s*=\s*(["']?)([^"'\s>]*)\2""", tag)}
        if attrs.get("rel", "").lower() == "canonical" or attrs.get("property", "").lower() == "og:url":
            candidate = attrs.get("href") or attrs.get("content") or ""
            if urlsplit(candidate).scheme in ("http", "https") and urlsplit(candidate).netloc:
                return candidate
    return None


def run(args: argparse.Namespace) -> int:

    source: str = args.source
    if urlsplit(source).scheme in ("http", "https"):
        try:
            data = _fetch(source)
        except OSError as exc:
            raise CommandError(f"cannot fetch {source}: {exc}") from None
        url = args.url or source
    else:
        path = Path(source)
        if not path.exists():
            raise CommandError(f"no such file: {source}")
        if path.is_dir():
            raise CommandError(f"{source} is a folder; give a saved page file (.html or .html.gz)")
        try:
            data = read_page_file(str(path))
        except NotAnArticle as exc:
            print(f"not an article: {exc.reason}", file=sys.stderr)
            return NOT_AN_ARTICLE_STATUS
        except OSError as exc:
            raise CommandError(f"cannot read {source}: {exc.strerror or exc}") from None
        declared = None if args.url else _declared_url(data)
        url = args.url or declared or path.resolve().as_uri()
        if not args.url:
            # Without its address a saved page has no outlet rules: no id, no date, furniture left in the body.
            note = (
                f"no --url given: using the page's own canonical address {safe(declared, newlines=False)}"
                if declared
                else "no --url given and the page names no canonical address: the item may lack "
                "its id and date and keep page furniture; pass --url with the page's original address"
            )
            print(f"crawler: warning: {note}", file=sys.stderr)
    try:
        article = extract(data, url)
    except NotAnArticle as exc:
        print(f"not an article: {exc.reason}", file=sys.stderr)
        return NOT_AN_ARTICLE_STATUS
    sys.stdout.write(json_line(article.to_dict(), indent=2) + "\n")
    return 0
