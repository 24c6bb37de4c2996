"""The crawl's Scrapy components around extraction and the store, in process: the extraction pipeline's
hand-off, the store extension, pipeline and incremental middleware, and the run recorder's drift alarm."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import NotConfigured
from support.unitkit import article_request, extracted, make_crawler, spider_of

from crawler.core.items import Article
from crawler.crawl import signals
from crawler.crawl.extensions import RunRecorder, health_warnings
from crawler.crawl.handoff import ExtractionCrashed, ExtractOutcome, NotAnArticlePage, PageItem
from crawler.crawl.pipelines import ExtractPipeline, StripPrivateFieldsPipeline
from crawler.crawl.storing.extension import StoreExtension
from crawler.crawl.storing.incremental import AlreadyStoredRequest, IncrementalMiddleware
from crawler.crawl.storing.pipeline import AlreadyStored, StorePipeline
from crawler.pool.extraction import extract_page
from crawler.store import Page, open_store
from crawler.testing.site import FIXTURES_ROOT, SiteCorpus


def page_item(article_id: str = "777001") -> PageItem:
    url = f"http://m1.test/Detail/2026/01/02/{article_id}/A"
    return PageItem(
        article_id=article_id,
        source_url=url,
        source="sitemap",
        page=Page(url=url, html=b"<html></html>", status=200, mirror="m1.test"),
    )


# ---- extraction hand-off ------------------------------------------------------------------------------


def test_a_worker_outcome_becomes_an_extracted_item_with_removals_counted() -> None:
    crawler = make_crawler()
    pipeline = ExtractPipeline.from_crawler(crawler)
    seen: list[Any] = []
    crawler.signals.connect(lambda item: seen.append(item), signal=signals.page_extracted, weak=False)
    outcome = ExtractOutcome(
        article=extracted().article,
        layout="unknown",
        guard_removed=["Share"],
        removed={"dateline": ["TEHRAN, Jan 2"], "nav-block": ["Home", "Politics", "Video"]},
        compressed=b"z",
        sha256="ab",
    )
    item = pipeline.accept(page_item(), outcome)
    assert item.removed["nav-block"] == ["Home", "Politics", "Video"] and item.unknown_layout
    assert item.page.compressed == b"z" and seen == [item]
    stats = crawler.stats
    assert stats is not None
    assert stats.get_value("extract/removed/dateline") == 1 and stats.get_value("extract/removed/nav-block") == 3
    assert stats.get_value("extract/guard_removed") == 1 and stats.get_value("extract/layout/unknown") == 1


def test_a_refusal_or_a_bad_answer_drops_the_page_with_its_reason() -> None:
    crawler = make_crawler()
    pipeline = ExtractPipeline.from_crawler(crawler)
    with pytest.raises(NotAnArticlePage, match="not an article: too little text"):
        pipeline.accept(page_item(), {"refused": "too little text (12 words)"})
    with pytest.raises(ExtractionCrashed):
        pipeline.accept(page_item(), ["not", "an", "outcome"])
    assert crawler.stats is not None and crawler.stats.get_value("extract/refused/too little text") == 1


def test_the_worker_entry_point_returns_the_article_its_layout_and_removals() -> None:
    corpus = SiteCorpus.from_fixtures(FIXTURES_ROOT)
    article = next(iter(corpus.articles.values())) if isinstance(corpus.articles, dict) else corpus.articles()[0]
    outcome = extract_page(
        article.html.encode() if isinstance(article.html, str) else article.html,
        f"http://127.0.0.1:1{article.path}",
        "127.0.0.1:1",
        "presstv",
    )
    assert outcome.article is not None and outcome.refused is None
    assert outcome.article.mirror == "127.0.0.1:1" and outcome.article.url.startswith("https://www.presstv.ir/")
    assert outcome.layout == outcome.article.layout != "unknown"
    assert isinstance(outcome.removed, dict) and outcome.sha256 and outcome.compressed


def test_exports_get_the_bare_article() -> None:
    item = extracted()
    assert isinstance(StripPrivateFieldsPipeline().process_item(item), Article)


# ---- store extension, store pipeline, incremental middleware -----------------------------------------


def test_no_store_setting_means_no_store_extension_and_nothing_skipped() -> None:
    crawler = make_crawler()
    with pytest.raises(NotConfigured):
        StoreExtension.from_crawler(crawler)
    assert StoreExtension.of(crawler) is None
    middleware = IncrementalMiddleware.from_crawler(crawler)
    middleware.process_request(article_request(crawler))  # raises when it skips
    assert crawler.stats is not None and crawler.stats.get_value("incremental/skipped") is None
    item = extracted()
    assert StorePipeline.from_crawler(crawler).process_item(item) is item


def test_stored_once_then_unchanged_then_skipped(tmp_path: Path) -> None:
    crawler = make_crawler(store=tmp_path / "store.sqlite")
    handle = StoreExtension.of(crawler)
    assert handle is not None and handle.path.endswith("store.sqlite")
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    try:
        assert pipeline.process_item(extracted()) is not None
        with pytest.raises(AlreadyStored):
            pipeline.process_item(extracted())
        middleware = IncrementalMiddleware.from_crawler(crawler)
        middleware.spider_opened(spider_of(crawler))
        with pytest.raises(AlreadyStoredRequest):
            middleware.process_request(article_request(crawler))
        middleware.process_request(article_request(crawler, "/Detail/2026/01/02/777002/B"))  # not stored: asked
    finally:
        pipeline.close_spider()
        handle.close()
    stats = crawler.stats
    assert stats is not None
    assert (
        stats.get_value("store/new"),
        stats.get_value("store/unchanged"),
        stats.get_value("incremental/skipped"),
    ) == (1, 1, 1)
    with open_store(str(tmp_path / "store.sqlite"), readonly=True) as store:
        assert store.lookup("777001") is not None


def test_refresh_window_requests_recent_stored_articles_again(tmp_path: Path) -> None:
    store_path = tmp_path / "store.sqlite"
    with open_store(str(store_path)) as store:
        store.save_article(extracted().article, None, None)  # published 2026-01-02
    crawler = make_crawler(store=store_path, CRAWLER_REFRESH="2d")
    middleware = IncrementalMiddleware.from_crawler(crawler)
    middleware.spider_opened(spider_of(crawler))
    middleware.now = lambda: datetime(2026, 1, 3, tzinfo=UTC)
    middleware.process_request(article_request(crawler))  # within two days: fetched again
    assert crawler.stats is not None and crawler.stats.get_value("incremental/refreshed") == 1
    later = article_request(crawler)
    middleware.now = lambda: datetime(2026, 1, 3, tzinfo=UTC) + timedelta(days=5)
    with pytest.raises(AlreadyStoredRequest):
        middleware.process_request(later)
    handle = StoreExtension.of(crawler)
    assert handle is not None
    handle.close()


def test_refused_pages_and_failed_fetches_are_recorded(tmp_path: Path) -> None:
    crawler = make_crawler(store=tmp_path / "store.sqlite")
    pipeline = StorePipeline.from_crawler(crawler)
    pipeline.open_spider()
    pipeline.item_dropped(page_item("777005"), None, NotAnArticlePage("not an article: listing"), spider_of(crawler))
    pipeline.page_failed(
        url="http://m1.test/Detail/2026/01/02/777006/C", article_id="777006", reason="HTTP 404", status=404
    )
    pipeline.close_spider()
    handle = StoreExtension.of(crawler)
    assert handle is not None and handle.store is not None
    rows = handle.store.execute("SELECT kind, article_id, status FROM failures ORDER BY article_id")  # type: ignore[attr-defined]
    handle.close()
    assert rows == [("refused", "777005", 200), ("fetch", "777006", 404)]


# ---- run recorder -----------------------------------------------------------------------------------


def test_the_recorder_counts_health_and_names_unknown_layout_pages() -> None:
    crawler = make_crawler()
    recorder = crawler.get_extension(RunRecorder)
    assert recorder is not None
    for i in range(8):
        item = extracted(article_id=f"77700{i}", layout="unknown" if i < 7 else "current")
        crawler.signals.send_catch_log(signal=signals.page_extracted, item=item)
    stats = crawler.stats
    assert stats is not None
    assert stats.get_value("health/items") == 8 and stats.get_value("health/unknown_layout") == 7
    assert stats.get_value("store/mirror/m1.test") == 8
    stats.set_value("discovery/rss/article_links", 8)
    recorder.spider_closed(spider_of(crawler), "finished")
    assert stats.get_value("crawler/exit_status") == 4
    assert len(recorder.unknown_layout_urls) == 5


def test_the_unknown_layout_alarm_names_a_handful_of_pages_and_the_count() -> None:
    urls = [f"http://m1.test/Detail/2026/01/02/77700{i}/A" for i in range(5)]
    stats = {"health/items": 1, "health/unknown_layout": 7, "discovery/rss/article_links": 9}
    (line,) = health_warnings(stats, {}, {}, None, urls)
    assert line.startswith("7 page(s) matched no layout") and urls[0] in line and urls[4] in line
    assert "and 2 more" in line
    assert health_warnings({"health/items": 1, "discovery/rss/article_links": 9}, {}, {}, None, []) == []


def test_health_is_counted_without_a_store_and_the_run_summary_says_so() -> None:
    crawler = make_crawler()  # the project's EXTENSIONS include the recorder
    crawler.signals.send_catch_log(signal=signals.page_extracted, item=extracted(layout="unknown"))
    assert crawler.stats is not None
    text = RunRecorder.summary(crawler.stats.get_stats())["text"]
    assert "1 articles extracted" in text and "1 pages of unknown layout" in text
