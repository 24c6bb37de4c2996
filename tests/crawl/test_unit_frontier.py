"""What the shared frontier needs without a Redis: every request the spider and the mirror middlewares make goes
through scrapy-redis's queue encoding and comes back the same; `--workers` without a frontier is one line."""

from __future__ import annotations

from pathlib import Path

from scrapy import Request
from scrapy.http import TextResponse
from scrapy.settings import Settings
from scrapy.utils.request import request_from_dict
from scrapy_redis import picklecompat
from support.crawlkit import cli
from support.unitkit import MIRRORS, article_request, make_crawler, spider_of
from support.unitkit import settings as unit_settings

from crawler.crawl.frontier import Frontier
from crawler.crawl.frontier.scheduler import FrontierDupeFilter
from crawler.crawl.middlewares import MirrorFailoverMiddleware


def round_trip(request: Request, spider: object) -> Request:
    """What scrapy-redis's queue does with a request: to a dict against the spider, pickled, and back."""
    data = picklecompat.dumps(request.to_dict(spider=spider))  # type: ignore[arg-type]
    return request_from_dict(picklecompat.loads(data), spider=spider)  # type: ignore[arg-type]


def spider_requests() -> tuple[object, list[Request]]:
    crawler = make_crawler()
    spider = spider_of(crawler)
    requests = list(spider.start_requests_list())
    sitemap = TextResponse(
        MIRRORS[0] + "/sitemap.xml",
        body=(
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            b'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>https://www.presstv.ir/Detail/'
            b"2026/01/02/777001/Some-story</loc><news:news><news:publication_date>2026-01-02T10:00:00+03:30"
            b"</news:publication_date><news:title>A title</news:title></news:news></url></urlset>"
        ),
        encoding="utf-8",
    )
    requests += list(spider.parse_sitemap(sitemap))
    article = article_request(crawler)
    requests.append(article)
    # The same path sent on to the next mirror by the failover middleware, with its decisions in meta.
    failover = MirrorFailoverMiddleware.from_crawler(crawler)
    moved = failover._failover(article, "http_503", 503)
    requests.append(moved)
    return spider, requests


def test_every_spider_request_round_trips_through_the_redis_queue_encoding() -> None:
    spider, requests = spider_requests()
    kinds = {r.callback.__name__ for r in requests if r.callback is not None}
    assert {"parse_feed", "parse_sitemap", "parse_listing", "parse_article"} <= kinds
    assert any(r.meta.get("mirrors_tried") for r in requests), "a failed-over request is among them"
    for request in requests:
        back = round_trip(request, spider)
        assert back.url == request.url
        assert back.callback == request.callback and back.errback == request.errback
        assert back.meta == request.meta
        assert back.priority == request.priority and back.dont_filter == request.dont_filter


def test_the_dupe_filter_keys_an_article_by_its_id_on_any_mirror_and_other_pages_by_url() -> None:
    crawler = make_crawler()
    first = article_request(crawler, mirror=MIRRORS[0])
    other = article_request(crawler, mirror=MIRRORS[1])
    dupefilter = FrontierDupeFilter(server=None, key="unused")
    assert dupefilter.request_fingerprint(first) == dupefilter.request_fingerprint(other) == "a:777001"
    feed = spider_of(crawler).start_requests_list()[0]
    assert not feed.meta.get("article_id")
    assert dupefilter.request_fingerprint(feed) != dupefilter.request_fingerprint(feed.replace(url=feed.url + "x"))


def test_workers_without_a_frontier_stop_with_one_line() -> None:
    result = cli("crawl", "--workers", "2", "--store", "")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "crawler: error: --workers needs a shared frontier: export CRAWLER_FRONTIER=redis://127.0.0.1:6379/0 "
        "or add -s CRAWLER_FRONTIER=... (a running Redis)"
    ]


def test_workers_get_the_store_and_frontier_in_their_environment_not_on_their_command_line(tmp_path: Path) -> None:
    from crawler.cli import build_parser
    from crawler.cli.commands.crawl import workers

    store = "postgresql://crawler:Pg-Pa55word@127.0.0.1:5432/crawler"
    frontier = "redis://:Redis-Pa55word@127.0.0.1:6379/0"
    args = build_parser().parse_args(
        [
            "crawl",
            "--workers",
            "2",
            "--store",
            "/old/store.sqlite",
            "-s",
            "LOG_LEVEL=DEBUG",
            "-s",
            f"CRAWLER_FRONTIER={frontier}",
            "-a",
            "mirrors=https://mirror.example",
            "--",
            f"--set=CRAWLER_STORE={store}",
            "-sCRAWLER_FRONTIER_IDLE_SECONDS=2",
        ]
    )
    children = workers(args, "run-1", tmp_path)
    assert len(children) == 2
    for argv in (c.argv for c in children):
        shown = " ".join(argv)
        assert "Pa55word" not in shown and "CRAWLER_STORE" not in shown and "CRAWLER_FRONTIER=" not in shown
        assert "LOG_LEVEL=DEBUG" in argv and "-sCRAWLER_FRONTIER_IDLE_SECONDS=2" in argv
        assert argv[argv.index("-a") + 1] == "mirrors=https://mirror.example"
    # The last store given wins, as it would on Scrapy's command line.
    for env in (c.env for c in children):
        assert env["CRAWLER_STORE"] == store and env["CRAWLER_FRONTIER"] == frontier


def test_a_store_without_a_password_stays_on_the_command_line_too() -> None:
    # A settings module of the user's own may not read the environment: the store given must still reach it.
    from crawler.services.launch import split_secrets

    kept, found = split_secrets(["crawl", "presstv", "-s", "CRAWLER_STORE=/srv/a.sqlite", "-sLOG_LEVEL=INFO"])
    assert kept == ["crawl", "presstv", "-s", "CRAWLER_STORE=/srv/a.sqlite", "-sLOG_LEVEL=INFO"]
    assert found == {"CRAWLER_STORE": "/srv/a.sqlite"}
    # The last value holds a password: every value of that setting leaves the command line, or an earlier one
    # given there would win over the environment.
    kept, found = split_secrets(["-s", "CRAWLER_STORE=/srv/a.sqlite", "--set=CRAWLER_STORE=postgresql://u:pw@h/d"])
    assert kept == [] and found == {"CRAWLER_STORE": "postgresql://u:pw@h/d"}


def test_the_add_on_switches_the_frontier_on_only_when_asked() -> None:
    local = Settings(unit_settings())
    before = local.copy_to_dict()
    Frontier().update_settings(local)
    assert local.copy_to_dict() == before
    shared = Settings(unit_settings(CRAWLER_FRONTIER="redis://127.0.0.1:6379/0"))
    Frontier().update_settings(shared)
    assert shared.get("SCHEDULER") == "crawler.crawl.frontier.scheduler.FrontierScheduler"
    assert shared.get("DUPEFILTER_CLASS") == "crawler.crawl.frontier.scheduler.FrontierDupeFilter"
    assert shared.getdict("DOWNLOAD_HANDLERS")["https"] == "crawler.crawl.handlers.HostRateHTTPHandler"
    assert shared.getint("CRAWLER_STORE_COMMIT_ITEMS") == 1


def test_a_429_from_common_crawls_index_pauses_every_workers_data_requests_too(redis_url: str) -> None:
    import asyncio
    import secrets

    import redis
    from scrapy.http import Response

    from crawler.crawl.handlers import ArchivePace
    from crawler.crawl.spiders.archived import SLOT_CC_DATA, SLOT_CC_INDEX, SLOT_WAYBACK

    # Addresses of this test alone, so no other run's keys in the shared Redis meet these.
    index, data, wayback = (f"http://127.0.0.{secrets.randbelow(200) + 20}:{1024 + i}" for i in range(3))
    overrides = {"CRAWLER_CC_INDEX_URL": index, "CRAWLER_CC_DATA_URL": data, "CRAWLER_WAYBACK_URL": wayback}
    client = redis.Redis.from_url(redis_url)
    first, second = (ArchivePace(make_crawler(**overrides), client) for _ in range(2))
    query = Request(f"{index}/CC-MAIN-2020-05-index?url=x", meta={"download_slot": SLOT_CC_INDEX})
    first.answered(query, SLOT_CC_INDEX, Response(query.url, status=429, headers={"Retry-After": "30"}))

    async def waits(url: str, slot: str) -> bool:
        """Whether the second worker's request would still be waiting a second from now."""
        try:
            await asyncio.wait_for(second.wait_turn(Request(url, meta={"download_slot": slot}), slot), 1.0)
        except TimeoutError:
            return True
        return False

    # Another worker's record fetch from the data host waits out the index's pause; the Wayback Machine, another
    # archive, is not paused.
    assert asyncio.run(waits(f"{data}/crawl-data/CC-MAIN-2020-05/x.warc.gz", SLOT_CC_DATA))
    assert not asyncio.run(waits(f"{wayback}/web/2020id_/x", SLOT_WAYBACK))
    client.close()
