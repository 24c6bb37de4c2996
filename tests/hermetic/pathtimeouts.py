"""Test-only downloader middleware: a download timeout of its own for a few paths (TEST_PATH_TIMEOUTS).

A fault test that needs one request to time out gives that path a short timeout; every other request keeps
the generous DOWNLOAD_TIMEOUT, so a slow machine does not turn healthy answers into timeouts.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler


class PathTimeouts:
    """Set `download_timeout` in the meta of requests whose path (case-insensitive) is listed."""

    def __init__(self, timeouts: dict[str, float]) -> None:
        self.timeouts = timeouts

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PathTimeouts:
        raw = crawler.settings.get("TEST_PATH_TIMEOUTS") or "{}"
        data = json.loads(raw) if isinstance(raw, str) else dict(raw)
        return cls({str(k).lower(): float(v) for k, v in data.items()})

    def process_request(self, request: Request, spider: Spider | None = None) -> Any:
        timeout = self.timeouts.get(urlsplit(request.url).path.lower())
        if timeout is not None:
            request.meta["download_timeout"] = timeout
        return None
