"""The run's exit status names its first cause: a failed store stays exit 5 when no mirror answers afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from support.unitkit import article_request, make_crawler
from twisted.internet import error as twisted_error

from crawler.core.status import ExitStatus
from crawler.crawl import statkeys
from crawler.crawl.middlewares import MirrorFailoverMiddleware
from crawler.crawl.storing.extension import StoreExtension


def test_a_store_error_then_no_mirror_reachable_keeps_exit_status_5(tmp_path: Path) -> None:
    (tmp_path / "not-a-folder").write_text("a file where the store's folder should be")
    crawler = make_crawler(store=tmp_path / "not-a-folder" / "store.sqlite", RETRY_ENABLED=False)
    assert StoreExtension.from_crawler(crawler).open() is None  # the store cannot be opened: exit 5
    assert crawler.stats is not None
    assert crawler.stats.get_value(statkeys.EXIT_STATUS) == ExitStatus.STORE_ERROR
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    request = article_request(crawler)
    with pytest.raises(IgnoreRequest):  # then every mirror refuses: the run gives up on them
        for _ in range(20):
            nxt = mw.process_exception(request, twisted_error.ConnectionRefusedError())
            assert isinstance(nxt, Request)
            request = nxt
    assert crawler.stats.get_value(statkeys.NO_MIRROR_REACHABLE), "the mirrors' failure is still reported"
    assert crawler.stats.get_value(statkeys.EXIT_STATUS) == ExitStatus.STORE_ERROR


def test_no_mirror_reachable_alone_is_exit_status_1() -> None:
    crawler = make_crawler(RETRY_ENABLED=False)
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    request = article_request(crawler)
    with pytest.raises(IgnoreRequest):
        for _ in range(20):
            nxt = mw.process_exception(request, twisted_error.ConnectionRefusedError())
            assert isinstance(nxt, Request)
            request = nxt
    assert crawler.stats is not None
    assert crawler.stats.get_value(statkeys.EXIT_STATUS) == ExitStatus.NO_MIRROR_REACHABLE
