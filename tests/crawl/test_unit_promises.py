"""Promises at their edges, in process: a bare date is midnight UTC, a refresh window counts edits and keeps its
edge, 451 fails over like 403, the drift alarm fires at exactly half, archives' Retry-After (seconds or an HTTP
date) is waited out and capped, January asks for December's sitemap, date windows keep their first and last day,
passwords are masked whole, and the documented defaults (archive rates, mirror health, the per-run feed) hold."""

from __future__ import annotations

import asyncio
import os
import re
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy import Request
from scrapy.core.downloader import Slot
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.settings import Settings
from support.unitkit import MIRRORS, Clock, article_request, extracted, html_response, make_crawler, spider_of
from support.unitkit import settings as project_settings

import crawler.crawl.settings as project_module
from crawler.archives.cdx import plan_shards
from crawler.core.redact import redact
from crawler.crawl.exports import DefaultFeed
from crawler.crawl.extensions import health_warnings
from crawler.crawl.middlewares import ArchivePolitenessMiddleware, MirrorFailoverMiddleware, PageGivenUp
from crawler.crawl.mirrors import MirrorPool
from crawler.crawl.spiders.archived import (
    SLOT_CC_DATA,
    SLOT_CC_INDEX,
    SLOT_WAYBACK,
    SLOT_WAYBACK_CDX,
    WAYBACK,
    ArchiveSettingError,
    Candidate,
    archive_slots,
)
from crawler.crawl.spiders.presstv import PresstvSpider, SpiderArgumentError
from crawler.crawl.storing.extension import StoreExtension
from crawler.crawl.storing.incremental import AlreadyStoredRequest, IncrementalMiddleware
from crawler.outlet import load_outlet
from crawler.store import open_store
from crawler.store.when import parse_duration, parse_when

FLOORS = load_outlet("presstv").health


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2026-12-05", "2026-12-05T00:00:00"),  # a bare date is the start of that day in UTC, not its end
        ("2026-01-01", "2026-01-01T00:00:00"),
        ("2026-12-05T03:30:00+03:30", "2026-12-05T00:00:00"),  # an offset is turned into UTC
        ("2026-12-05T10:15:00", "2026-12-05T10:15:00"),  # a naive time is UTC
    ],
)
def test_a_users_date_is_read_as_the_readme_says(text: str, key: str) -> None:
    assert parse_when(text) == key


def test_an_age_counts_back_from_now_and_nonsense_is_one_readable_line() -> None:
    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert parse_when("7d", now=now) == "2026-11-29T12:00:00"
    assert parse_when("30m", now=now) == "2026-12-06T11:30:00"
    with pytest.raises(ValueError, match=r"not a date: 'yesterday' \(use YYYY-MM-DD"):
        parse_when("yesterday")


def test_refresh_brings_back_an_old_story_edited_within_the_window(tmp_path: Path) -> None:
    store_path = tmp_path / "store.sqlite"
    old = extracted().article
    old.published = "2024-03-01T10:00:00+00:00"  # published long ago...
    old.modified = "2026-01-02T09:00:00+00:00"  # ...edited yesterday
    with open_store(str(store_path)) as store:
        store.save_article(old, None, None)
    crawler = make_crawler(store=store_path, CRAWLER_REFRESH="2d")
    middleware = IncrementalMiddleware.from_crawler(crawler)
    middleware.spider_opened(spider_of(crawler))
    try:
        middleware.now = lambda: datetime(2026, 1, 3, tzinfo=UTC)
        middleware.process_request(article_request(crawler))  # asked again: its edit is within two days
        assert crawler.stats is not None and crawler.stats.get_value("incremental/refreshed") == 1
        middleware.now = lambda: datetime(2026, 1, 3, tzinfo=UTC) + timedelta(days=3)
        with pytest.raises(AlreadyStoredRequest):
            middleware.process_request(article_request(crawler))  # neither date within two days: skipped
    finally:
        handle = StoreExtension.of(crawler)
        assert handle is not None
        handle.close()


@pytest.mark.parametrize("status", [403, 451])
def test_a_blocked_answer_fails_over_to_the_next_mirror(status: int) -> None:
    crawler = make_crawler()
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    request = article_request(crawler)
    nxt = asyncio.run(mw.process_response(request, html_response(request, "<p>Unavailable</p>", status)))
    assert isinstance(nxt, Request) and nxt.url.startswith(MIRRORS[1]), f"a {status} must fail over"
    assert crawler.stats is not None and crawler.stats.get_value(f"failover/http_{status}") == 1


@pytest.mark.parametrize(("missed", "alarmed"), [(9, False), (10, True), (11, True)])
def test_the_layout_rule_alarm_fires_from_exactly_half_the_items(missed: int, alarmed: bool) -> None:
    items = 20
    full = {f"health/with_{s}": items for s in ("published", "lead", "section", "image")}
    stats = {**full, "health/items": items, "health/layout_miss/date": missed, "discovery/rss/article_links": items}
    warnings = [w for w in health_warnings(stats, FLOORS, {}) if "date rule missed" in w]
    assert bool(warnings) is alarmed, (missed, warnings)
    if alarmed:
        assert warnings[0].startswith(f"the layout's date rule missed on {missed} of {items} items")


def _throttled(crawler: Any, headers: dict[str, str]) -> tuple[Slot, float]:
    """A 429 from the Wayback CDX server through the archive middleware: its download slot and how long from
    now its next request may go out."""
    slot = Slot(concurrency=1, delay=1.0, jitter=0)
    # The engine's downloader slots are all the middleware reads; the crawl's engine is not started here.
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots={SLOT_WAYBACK: slot}))
    mw = ArchivePolitenessMiddleware.from_crawler(crawler)
    request = Request("http://127.0.0.1:9/cdx?url=x", meta={"archive_source": WAYBACK, "download_slot": SLOT_WAYBACK})
    again = mw.process_response(request, Response(request.url, status=429, headers=headers, request=request))
    assert isinstance(again, Request) and again.dont_filter
    return slot, slot.lastseen + slot.delay - time.monotonic()


@pytest.mark.parametrize("asked", ["seconds", "http-date"])
def test_an_archive_retry_after_is_waited_out_in_either_form(asked: str) -> None:
    crawler = make_crawler(CRAWLER_ARCHIVE_BACKOFF=60.0, CRAWLER_RETRY_AFTER_MAX=120.0)
    value = "20" if asked == "seconds" else format_datetime(datetime.now(UTC) + timedelta(seconds=21), usegmt=True)
    slot, wait = _throttled(crawler, {"Retry-After": value})
    # 20 s asked (an HTTP date has whole seconds); far from the 60 s backoff used when nothing is asked.
    assert 15 <= wait <= 21.5, wait
    assert slot.delay == 2.0, "the archive's rate is halved"


def test_an_archive_429_without_retry_after_waits_the_backoff() -> None:
    crawler = make_crawler(CRAWLER_ARCHIVE_BACKOFF=60.0, CRAWLER_RETRY_AFTER_MAX=120.0)
    _, wait = _throttled(crawler, {})
    assert 55 <= wait <= 60.5, wait


@pytest.mark.parametrize(
    ("today", "months"),
    [
        (datetime(2027, 1, 10, 12, 0, tzinfo=UTC), [(2027, 1), (2026, 12)]),  # January: last year's December
        (datetime(2026, 3, 31, 22, 0, tzinfo=UTC), [(2026, 4), (2026, 3)]),  # already April 1st in Tehran
        (datetime(2026, 7, 15, 8, 0, tzinfo=UTC), [(2026, 7), (2026, 6)]),
    ],
)
def test_a_live_run_reads_this_months_and_last_months_sitemap(today: datetime, months: list[tuple[int, int]]) -> None:
    spider = spider_of(make_crawler())
    spider.sources = ("sitemap",)
    spider.clock = lambda: today
    paths = [r.url.removeprefix(MIRRORS[0]) for r in spider.start_requests_list()]
    assert paths == [spider.outlet.monthly_sitemap_path(y, m) for y, m in months]


def test_a_backfill_keeps_the_first_and_last_day_of_its_window() -> None:
    crawler = make_crawler()
    spider = spider_of(crawler)
    spider.since, spider.until = date(2013, 11, 1), date(2013, 11, 30)
    days = {"340001": "2013/10/31", "340002": "2013/11/01", "340003": "2013/11/30", "340004": "2013/12/01"}
    for article_id, day in days.items():
        url = f"http://www.presstv.ir/Detail/{day}/{article_id}/Some-story"
        spider._add_candidate(Candidate(WAYBACK, url, "20131204000000"))
    assert sorted(spider._candidates) == ["340002", "340003"]


def test_a_backfill_asks_the_archive_for_every_month_of_its_window() -> None:
    shards = plan_shards(["www.presstv.ir"], dated_heads=["detail"], since=date(2013, 11, 30), until=date(2014, 1, 1))
    prefixes = {s.prefix for s in shards}
    assert {
        "www.presstv.ir/detail/2013/11/",
        "www.presstv.ir/detail/2013/12/",
        "www.presstv.ir/detail/2014/01/",
        "www.presstv.ir/detail/2014/1/",
    } == prefixes
    assert {s.since for s in shards} == {"20131130000000"}


@pytest.mark.parametrize("text", ["0", "0s", "0d", "-1d", "soon"])
def test_a_duration_must_be_positive_and_readable(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_duration(text)


def _incremental(tmp_path: Path, **settings: Any) -> tuple[Any, IncrementalMiddleware]:
    store_path = tmp_path / "store.sqlite"
    with open_store(str(store_path)) as store:
        store.save_article(extracted().article, None, None)  # published 2026-01-02T10:00+03:30 = 06:30 UTC
    crawler = make_crawler(store=store_path, **settings)
    middleware = IncrementalMiddleware.from_crawler(crawler)
    middleware.spider_opened(spider_of(crawler))
    return crawler, middleware


def test_the_refresh_window_includes_its_edge(tmp_path: Path) -> None:
    crawler, middleware = _incremental(tmp_path, CRAWLER_REFRESH="2d")
    try:
        published = datetime(2026, 1, 2, 6, 30, tzinfo=UTC)
        middleware.now = lambda: published + timedelta(days=2)  # exactly two days later: still within
        middleware.process_request(article_request(crawler))
        middleware.now = lambda: published + timedelta(days=2, seconds=1)
        with pytest.raises(AlreadyStoredRequest):
            middleware.process_request(article_request(crawler))
    finally:
        handle = StoreExtension.of(crawler)
        assert handle is not None
        handle.close()


def test_full_requests_every_stored_article_again(tmp_path: Path) -> None:
    crawler, middleware = _incremental(tmp_path, CRAWLER_FULL=True)
    try:
        middleware.process_request(article_request(crawler))  # raises AlreadyStoredRequest when skipped
        assert crawler.stats is not None and not crawler.stats.get_value("incremental/skipped")
    finally:
        handle = StoreExtension.of(crawler)
        assert handle is not None
        handle.close()


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_page_is_given_up_once_not_failed_over(status: int) -> None:
    crawler = make_crawler()
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    request = article_request(crawler)
    with pytest.raises(PageGivenUp, match=f"HTTP {status}"):
        asyncio.run(mw.process_response(request, html_response(request, "<p>Not found</p>", status)))


def test_an_archive_retry_after_is_capped() -> None:
    crawler = make_crawler(CRAWLER_ARCHIVE_BACKOFF=60.0, CRAWLER_RETRY_AFTER_MAX=90.0)
    _, wait = _throttled(crawler, {"Retry-After": "3600"})
    assert 85 <= wait <= 90.5, wait


def test_an_archive_that_keeps_throttling_is_stopped_after_the_limit_with_exit_status_6() -> None:
    crawler: Any = make_crawler(CRAWLER_ARCHIVE_BACKOFF=0.0, CRAWLER_ARCHIVE_MAX_THROTTLES=3)
    slot = Slot(concurrency=1, delay=1.0, jitter=0)
    crawler.engine = SimpleNamespace(downloader=SimpleNamespace(slots={SLOT_WAYBACK: slot}))
    mw = ArchivePolitenessMiddleware.from_crawler(crawler)
    request = Request("http://127.0.0.1:9/cdx?url=x", meta={"archive_source": WAYBACK, "download_slot": SLOT_WAYBACK})
    for _ in range(3):  # up to the limit: sent again
        again = mw.process_response(request, Response(request.url, status=429, request=request))
        assert isinstance(again, Request)
    with pytest.raises(IgnoreRequest, match="answered 429 4 times in a row"):
        mw.process_response(request, Response(request.url, status=429, request=request))
    assert crawler.stats is not None and crawler.stats.get_value("crawler/exit_status") == 6


def test_a_live_window_keeps_its_first_and_last_day_and_one_day_is_allowed() -> None:
    crawler = make_crawler()
    spider = spider_of(crawler)
    same_day = PresstvSpider(mirrors=",".join(MIRRORS), since="2026-12-05", until="2026-12-05")
    assert (same_day.since, same_day.until) == (date(2026, 12, 5), date(2026, 12, 5))
    spider.since, spider.until = date(2026, 12, 1), date(2026, 12, 5)
    assert [spider._in_range(date(2026, 12, d)) for d in (1, 5)] == [True, True]
    assert [spider._in_range(d) for d in (date(2026, 11, 30), date(2026, 12, 6))] == [False, False]
    with pytest.raises(SpiderArgumentError, match="since=2026-12-06 is after until=2026-12-05"):
        PresstvSpider(mirrors=",".join(MIRRORS), since="2026-12-06", until="2026-12-05")


def test_a_password_parameter_is_masked_whatever_its_case() -> None:
    shown = redact("postgresql://crawler@db/crawl?PASSWORD=S3cret&sslmode=require")
    assert "S3cret" not in shown and "sslmode=require" in shown


@pytest.mark.parametrize(("words", "fails_over"), [(400, True), (401, False)])
def test_a_notice_with_its_page_furniture_up_to_the_word_limit_still_fails_over(words: int, fails_over: bool) -> None:
    crawler = make_crawler()
    mw = MirrorFailoverMiddleware.from_crawler(crawler)
    phrase = load_outlet("presstv").non_article["seizure"][0]
    furniture = " menu" * (words - len(phrase.split()))
    request = article_request(crawler)
    page = f"<html><body><h1>{phrase}</h1><nav>{furniture}</nav></body></html>"
    answer = asyncio.run(mw.process_response(request, html_response(request, page)))
    assert isinstance(answer, Request) is fails_over, f"{words} words"


def test_a_mirror_that_answers_again_starts_its_failure_count_afresh() -> None:
    clock = Clock()
    pool = MirrorPool(MIRRORS[:2], load_outlet("presstv"), fail_threshold=2, cooldown=60.0, clock=clock)
    m1, m2 = (base.removeprefix("http://") for base in MIRRORS[:2])
    pool.record_failure(m1)
    pool.record_failure(m2)
    assert pool.all_failed()
    pool.record_success(m1)
    assert not pool.all_failed(), "a mirror that answers again is not a failed one"
    clock.advance(1)
    assert pool.best() == MIRRORS[0], "nor ranked behind the one still failing"
    assert pool.record_failure(m1) is False, "one failure after the success is not two in a row"
    assert not pool.is_set_aside(m1)


def test_the_archives_get_the_documented_politeness_by_default() -> None:
    crawler = make_crawler()  # the project's own settings
    slots = archive_slots(crawler.settings)
    # (slot, seconds between requests, requests at once): 0.4 CDX queries/s, 2 replays/s, 1 CC index query/s,
    # 2 CC record reads/s; index queries one at a time.
    assert {k: (v["delay"], v["concurrency"], v["jitter"]) for k, v in slots.items()} == {
        SLOT_WAYBACK_CDX: (2.5, 1, 0),
        SLOT_WAYBACK: (0.5, 2, 0),
        SLOT_CC_INDEX: (1.0, 1, 0),
        SLOT_CC_DATA: (0.5, 2, 0),
    }
    mw = ArchivePolitenessMiddleware.from_crawler(crawler)
    assert (mw.backoff, mw.max_throttles, mw.max_wait) == (60.0, 5, 120.0)
    with pytest.raises(ArchiveSettingError, match="CRAWLER_WAYBACK_CDX_RATE=0 must be above 0"):
        archive_slots(make_crawler(CRAWLER_WAYBACK_CDX_RATE=0).settings)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pa:ss@w0rd@cache:6379/0", "redis://:***@cache:6379/0"),  # no part of the password left behind
        ("postgresql://crawler:a@b@c@db:5432/crawl", "postgresql://crawler:***@db:5432/crawl"),
    ],
)
def test_a_password_with_at_signs_is_masked_whole(url: str, shown: str) -> None:
    assert redact(url) == shown


def _feeds(**overrides: Any) -> dict[str, Any]:
    settings = Settings(project_settings(**overrides))
    DefaultFeed().update_settings(settings)
    return dict(settings.getdict("FEEDS"))


def test_each_run_gets_one_timestamped_feed_that_is_not_written_when_empty() -> None:
    assert _feeds() == {
        "exports/%(name)s-%(time)s.jsonl": {"format": "jsonlines", "encoding": "utf8", "store_empty": False}
    }
    assert list(_feeds(CRAWLER_WORKER="2")) == ["exports/%(name)s-%(time)s-worker2.jsonl"], "one file per worker"
    assert _feeds(CRAWLER_EXPORT_DIR="") == {}, "switched off"


def test_the_mirror_defaults_are_the_documented_ones() -> None:
    crawler = make_crawler()
    settings = crawler.settings
    assert (settings.getint("CRAWLER_MIRROR_FAIL_THRESHOLD"), settings.getfloat("CRAWLER_MIRROR_COOLDOWN")) == (2, 300)
    assert MirrorFailoverMiddleware.from_crawler(crawler).retry_after_max == 120.0
    assert project_module.CRAWLER_STORE in ("data/crawler.sqlite", os.environ.get("CRAWLER_STORE"))


def test_every_test_the_promise_list_names_exists() -> None:
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "promises.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/]+\.py)::(\w+)", text))
    assert len(named) > 50
    missing = [
        f"{path}::{test}"
        for path, test in sorted(named)
        if not (root / "tests" / path).is_file()
        or not re.search(
            rf"^(?:async )?def {test}\(", (root / "tests" / path).read_text(encoding="utf-8"), re.MULTILINE
        )
    ]
    assert missing == [], "docs/promises.md names tests that do not exist (renamed or removed?)"
