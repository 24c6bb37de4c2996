"""Mirror failover is its own component: with Scrapy's retries switched off, the four-mirror crawl still gets
every article once, from the healthy mirror."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.crawlkit import CrawlResult

from crawler.testing.site import RunningSite

pytestmark = pytest.mark.integration


def test_retry_disabled_four_mirrors_every_article_once_from_the_healthy_mirror(
    four_mirrors: RunningSite, run_crawl: Callable[..., CrawlResult]
) -> None:
    result = run_crawl(four_mirrors.mirrors_arg, settings={"RETRY_ENABLED": False})
    assert result.returncode == 0, result.stderr[-3000:]
    ids = [item["article_id"] for item in result.items]
    assert len(ids) == len(set(ids)), "one item per article id"
    assert set(ids) == four_mirrors.corpus.article_ids()
    assert {item["mirror"] for item in result.items} == {four_mirrors.mirror("healthy").netloc}
    # Seizure notices and 503s still moved requests on; no request was retried on the same mirror.
    assert result.stats["failover/seizure"] >= 1 and result.stats["failover/http_503"] >= 1
    assert result.stats["mirror/set_aside"] == 3
    assert "retry/count" not in result.stats
