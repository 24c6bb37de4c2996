"""Project-specific Scrapy signals shared by the spider, middlewares and the store."""

from __future__ import annotations

page_failed = object()
"""Sent when a page could not be fetched on any mirror, or answered 404/410.

Arguments: url (str), article_id (str | None), reason (str, one line), status (int | None).
The store records it; the spider does not retry it in this run.
"""

page_extracted = object()
"""Sent by the extraction pipeline for every page that gave an article, before it is stored.

Arguments: item (crawler.crawl.handoff.ExtractedItem). The run recorder counts run health (field coverage, guard
and cleaning removals, unknown layouts) from it, whether or not a store is configured.
"""
