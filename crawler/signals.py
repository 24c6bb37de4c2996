"""Project-specific Scrapy signals shared by the spider, middlewares and the store."""

from __future__ import annotations

page_failed = object()
"""Sent when a page could not be fetched on any mirror, or answered 404/410.

Arguments: url (str), article_id (str | None), reason (str, one line), status (int | None).
The store records it; the spider does not retry it in this run.
"""
