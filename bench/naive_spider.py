"""The baseline a user would write: a minimal Scrapy sitemap spider calling `trafilatura.extract` in its pipeline.

It reads the same sitemaps as the project's spider, points their links at the local mirror, and extracts on
the reactor thread (a plain synchronous item pipeline), writing JSON Lines. No store, no raw HTML kept, no
dedupe by article id, no furniture pruning. Run by bench/crawl.py as its own process so its CPU time and
memory can be measured:

    .venv/bin/python bench/naive_spider.py --base http://127.0.0.1:PORT --out naive.jsonl [--concurrency 32]

Project settings (scrapy.cfg) are not loaded: only the settings below apply.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import trafilatura
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.spiders import SitemapSpider


class TrafilaturaPipeline:
    """Extract the article text with plain trafilatura, in the reactor thread, as a user would."""

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        html = item.pop("html")
        item["text"] = trafilatura.extract(html, url=item["url"])
        return item


class NaiveSpider(SitemapSpider):
    """Every URL the sitemaps list, fetched from the local mirror."""

    name = "naive"
    sitemap_rules = [("/Detail/", "parse_article")]  # noqa: RUF012 - Scrapy reads it as a class attribute

    def __init__(self, base: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base = urlsplit(base)
        self.sitemap_urls = [base.rstrip("/") + "/sitemap.xml"]

    def sitemap_filter(self, entries: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        # The site's sitemaps name the public hosts; fetch the same paths from the local mirror instead.
        for entry in entries:
            loc = urlsplit(entry["loc"])
            entry["loc"] = urlunsplit((self.base.scheme, self.base.netloc, loc.path, loc.query, ""))
            yield entry

    def parse_article(self, response: Response) -> Iterator[dict[str, Any]]:
        yield {"url": response.url, "html": response.text}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="bench/naive_spider.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--base", required=True, help="base URL of the local mirror (http://127.0.0.1:PORT)")
    ap.add_argument("--out", required=True, help="JSON Lines output file")
    ap.add_argument("--concurrency", type=int, default=32, help="CONCURRENT_REQUESTS (and per domain)")
    args = ap.parse_args(argv)
    host = urlsplit(args.base).hostname
    if host not in ("127.0.0.1", "::1", "localhost"):
        print(f"naive_spider: --base must be a loopback URL, not {args.base!r}", file=sys.stderr)
        return 2
    process = CrawlerProcess(
        {
            "BOT_NAME": "naive",
            "ITEM_PIPELINES": {TrafilaturaPipeline: 300},
            "FEEDS": {args.out: {"format": "jsonlines", "encoding": "utf8", "overwrite": True}},
            # Politeness off, as in the project's benchmark settings: the same knobs on both sides.
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
            "ROBOTSTXT_OBEY": True,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_LEVEL": "INFO",
        }
    )
    process.crawl(NaiveSpider, base=args.base)
    process.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
