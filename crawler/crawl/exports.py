"""Scrapy add-on giving each run its own timestamped JSON Lines file under exports/, unless the user chose feeds."""

from __future__ import annotations

from scrapy.settings import Settings

from crawler.crawl import settings as defaults

DEFAULT_FEED_NAME = "%(name)s-%(time)s.jsonl"
"""File name of the per-run export (Scrapy fills in the spider name and the run's UTC start time)."""


class DefaultFeed:
    """Adds `<CRAWLER_EXPORT_DIR>/<spider>-<time>.jsonl` to FEEDS when nothing else set FEEDS.

    Any feed the user names (`-o`, `-O`, `-s FEEDS=...`, a project or spider FEEDS, Scrapyd's items_dir)
    replaces this default instead of being added to it, so `-O out.jsonl` writes only out.jsonl, as in any
    Scrapy project; `-s FEEDS={}` or `-s CRAWLER_EXPORT_DIR=` switches exports off. The file is written
    only when the run brought items, so a half-hourly schedule leaves no empty files behind.
    """

    def update_settings(self, settings: Settings) -> None:
        if (settings.getpriority("FEEDS") or 0) > 0:
            return  # the user (or Scrapyd) configured feeds
        folder = str(settings.get("CRAWLER_EXPORT_DIR", defaults.CRAWLER_EXPORT_DIR) or "")
        if not folder:
            return
        name = DEFAULT_FEED_NAME
        worker = str(settings.get("CRAWLER_WORKER", "") or "")
        if worker:
            # The workers of one `crawler crawl --workers N` start in the same second: one file each.
            name = name.replace(".jsonl", f"-worker{worker}.jsonl")
        uri = f"{folder.rstrip('/')}/{name}"
        settings.set(
            "FEEDS", {uri: {"format": "jsonlines", "encoding": "utf8", "store_empty": False}}, priority="addon"
        )
