"""A worker entry point that fails on purpose (CRAWLER_EXTRACT_FUNCTION in test_failover): raises for one
article id and kills its worker process for another, extracting every other page normally."""

from __future__ import annotations

import os

from crawler.crawl.handoff import ExtractOutcome
from crawler.pool.extraction import extract_page

RAISES_FOR = "780003"
KILLS_WORKER_FOR = "780005"


def faulty_extract_page(html: bytes, url: str, mirror: str, outlet_name: str) -> ExtractOutcome:
    if f"/{RAISES_FOR}/" in url:
        raise RuntimeError("extractor bug on purpose")
    if f"/{KILLS_WORKER_FOR}/" in url:
        os._exit(9)  # a worker dying mid-page, as a segfault or an OOM kill would
    return extract_page(html, url, mirror, outlet_name)
