"""A year's backfill from the look-alike Wayback Machine: every archived article of the year stored once, seizure
captures failed over to older ones, hosts merged, the CDX server's 429s waited out, its rate kept."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.crawlkit import crawl

from crawler.testing.site import pages
from crawler.testing.site.corpus import SiteArticle, SiteCorpus
from crawler.testing.site.server import closed_port
from crawler.testing.site.wayback import ArchivedCapture, RunningWayback, WaybackArchive

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]  # backfills of up to 300 s each

NO_MIRROR = f"http://127.0.0.1:{closed_port()}"
"""The live site is not part of these runs: a mirror that refuses connections stands in for it."""

SEIZED = datetime(2021, 7, 1, 9, 0, tzinfo=UTC)


def _ts(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def _capture(
    article: SiteArticle,
    host: str,
    when: datetime,
    body: bytes | None = None,
    *,
    lower: bool = False,
    status: int = 200,
) -> ArchivedCapture:
    path = article.path.lower() + "/" if lower else article.path
    return ArchivedCapture(f"http://{host}{path}", _ts(when), article.html if body is None else body, statuscode=status)


class Year:
    """Articles of 2013 (and some either side), their captures, and what the backfill must store."""

    def __init__(self) -> None:
        corpus = SiteCorpus()
        self.in_year = corpus.generate(
            24, start_id=330001, start=datetime(2013, 12, 20, 10), interval=timedelta(days=15), seed=3
        )
        self.outside = [
            *corpus.generate(2, start_id=320001, start=datetime(2012, 12, 28, 10), seed=4),
            *corpus.generate(2, start_id=345001, start=datetime(2014, 1, 3, 10), seed=5),
        ]
        self.captures: list[ArchivedCapture] = []
        self.expected_time: dict[str, datetime] = {}
        self.seizure_only: set[str] = set()
        seizure = pages.render_seizure_notice()
        for i, art in enumerate(self.in_year):
            published = art.published.replace(tzinfo=UTC)
            first = published + timedelta(days=1)
            self.captures.append(_capture(art, "www.presstv.ir", first))
            newest_good = first
            if i % 3 == 0:  # the same id on a second host, captured later: one article, from the newer capture
                newest_good = published + timedelta(days=30)
                self.captures.append(_capture(art, "www.presstv.com", newest_good, lower=True))
            if i % 4 == 0:  # captured again after the seizure: the notice is the newest capture
                self.captures.append(_capture(art, "www.presstv.com", SEIZED + timedelta(hours=i), seizure))
            if i % 5 == 0:  # a redirect and an error capture, newer still: never candidates
                self.captures.append(_capture(art, "presstv.ir", SEIZED + timedelta(days=40), b"", status=301))
                self.captures.append(_capture(art, "presstv.ir", SEIZED + timedelta(days=41), b"gone", status=404))
            self.expected_time[art.article_id] = newest_good
        # Two articles the archive only holds as the seizure notice: nothing to store, recorded as refused.
        for art in corpus.generate(2, start_id=339001, start=datetime(2013, 6, 1, 10), seed=6):
            self.captures.append(_capture(art, "www.presstv.com", SEIZED, seizure))
            self.seizure_only.add(art.article_id)
        for art in self.outside:
            self.captures.append(_capture(art, "www.presstv.ir", art.published.replace(tzinfo=UTC)))


def _stored(store: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT article_id, version FROM versions").fetchall()
        pages_ = db.execute(
            "SELECT article_id, fetched_from, archived_at, url, headers FROM pages WHERE outcome = 'article'"
        ).fetchall()
        failures = db.execute("SELECT article_id, kind, reason FROM failures").fetchall()
    finally:
        db.close()
    return {"versions": rows, "pages": pages_, "failures": failures}


def _backfill(tmp_path: Path, wayback: RunningWayback, store: Path, **settings: Any) -> Any:
    return crawl(
        tmp_path,
        NO_MIRROR,
        "sources=wayback",
        "since=2013-01-01",
        "until=2013-12-31",
        settings={
            "CRAWLER_WAYBACK_URL": wayback.url,
            "CRAWLER_STORE": str(store),
            "CRAWLER_WAYBACK_CDX_RATE": 40,
            "CRAWLER_WAYBACK_FETCH_RATE": 40,
            **settings,
        },
        timeout=300,
    )


def test_a_year_of_the_archive_is_stored_once_from_the_newest_good_capture(tmp_path: Path) -> None:
    year = Year()
    archive = WaybackArchive(year.captures, line_cap=1)  # one line per answer: the crawl must follow resume keys
    archive.faults.throttle_first, archive.faults.retry_after = 2, "1"
    store = tmp_path / "store.sqlite"
    with RunningWayback(archive) as wayback:
        result = _backfill(tmp_path, wayback, store)
    assert result.returncode == 0, result.stderr[-3000:]
    by_id = {item["article_id"]: item for item in result.items}
    assert len(result.items) == len(by_id), "an article came out twice"
    assert set(by_id) == {a.article_id for a in year.in_year}
    for article_id, item in by_id.items():
        assert item["fetched_from"] == "wayback"
        # The capture used is the newest one that is an article: seizure notices were refused and passed over.
        assert datetime.fromisoformat(item["archived_at"]) == year.expected_time[article_id], article_id
        assert item["url"].startswith("https://www.presstv.ir/Detail/2013/")
        assert "seized" not in item["body"].lower()
    stored = _stored(store)
    assert sorted(aid for aid, _ in stored["versions"]) == sorted(by_id)
    assert {row[1] for row in stored["pages"]} == {"wayback"} and all(row[2] for row in stored["pages"])
    assert all("text/html" in str(row[4]) for row in stored["pages"])
    # Refused captures with an older one left were counted by reason; an id whose last capture is refused too
    # (only archived as the notice) is refused like a live page, and recorded as failed with the reason.
    refused = {k: v for k, v in result.stats.items() if k.startswith("archive/wayback/capture_refused/")}
    assert refused == {"archive/wayback/capture_refused/seizure notice": len(range(0, 24, 4))}
    assert result.stats.get("extract/refused") == len(year.seizure_only)
    failed_ids = {row[0] for row in stored["failures"]}
    assert failed_ids == year.seizure_only
    assert all("seiz" in row[2].lower() for row in stored["failures"])
    # Paging and politeness: resume keys followed, the two 429s waited out (and counted), no capture asked twice.
    assert any("resumeKey=" in r for r in archive.requests)
    assert result.stats.get("archive/wayback/throttled_429") == 2
    replays = [r for r in archive.requests if r.startswith("/web/")]
    assert len(replays) == len(set(replays))
    assert not any(r.startswith("/web/") and "2014" in r.split("id_/")[0] and "/2014/" in r for r in replays)


def test_a_second_backfill_fetches_nothing_again(tmp_path: Path) -> None:
    year = Year()
    store = tmp_path / "store.sqlite"
    with RunningWayback(WaybackArchive(year.captures)) as wayback:
        first = _backfill(tmp_path, wayback, store)
        assert first.returncode == 0, first.stderr[-2000:]
        before = len(wayback.archive.requests)
        second = _backfill(tmp_path, wayback, store)
        replays = [r for r in wayback.archive.requests[before:] if r.startswith("/web/")]
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.items == []
    # Only the seizure-only ids (never stored) are asked for again.
    assert len(replays) == len(year.seizure_only)


def test_cdx_rate_is_kept_across_the_crawl(tmp_path: Path) -> None:
    year = Year()
    with RunningWayback(WaybackArchive(year.captures)) as wayback:
        result = crawl(
            tmp_path,
            NO_MIRROR,
            "sources=wayback",
            "since=2013-08-01",
            "until=2013-12-31",
            settings={
                "CRAWLER_WAYBACK_URL": wayback.url,
                "CRAWLER_WAYBACK_CDX_RATE": 4,
                "CRAWLER_WAYBACK_FETCH_RATE": 8,
            },
            timeout=300,
        )
        times = {
            kind: [t for t, path in wayback.archive.request_times if path.startswith(prefix)]
            for kind, prefix in (("cdx", "/cdx/"), ("replay", "/web/"))
        }
    assert result.returncode == 0, result.stderr[-2000:]
    for kind, rate in (("cdx", 4), ("replay", 8)):
        stamps = sorted(times[kind])
        assert len(stamps) >= 8, kind
        # Measured where the requests arrive, so each stamp may be late by however long a busy machine takes
        # to put a send on the wire and to schedule the server's thread: a stamp late at the start of a window
        # shortens it. Hence margins: the whole run spans at least 80% of its intervals at the rate (a late
        # first stamp costs a fraction of a long span), and no eight in a row come in under 40% of seven
        # intervals (a crawl that ignored the rate sends them within milliseconds).
        expected = (len(stamps) - 1) / rate
        assert stamps[-1] - stamps[0] >= 0.8 * expected, (kind, stamps[-1] - stamps[0], expected)
        spans = [b - a for a, b in zip(stamps, stamps[7:], strict=False)]
        assert min(spans) >= 0.4 * 7 / rate, (kind, min(spans))


def test_an_archive_that_keeps_refusing_ends_the_source_with_one_clear_line(tmp_path: Path) -> None:
    year = Year()
    archive = WaybackArchive(year.captures)
    archive.faults.throttle_first, archive.faults.retry_after = 10_000, None
    with RunningWayback(archive) as wayback:
        result = _backfill(
            tmp_path,
            wayback,
            tmp_path / "store.sqlite",
            CRAWLER_ARCHIVE_BACKOFF=0.2,
            CRAWLER_ARCHIVE_MAX_THROTTLES=3,
            CRAWLER_WAYBACK_CDX_RATE=2,
        )
        cdx_requests = [r for r in archive.requests if r.startswith("/cdx/")]
    assert result.returncode == 6
    assert len(cdx_requests) == 4  # three waits, then the fourth 429 ends the source: no hammering
    lines = [ln for ln in result.stderr.splitlines() if "answered 429 4 times in a row" in ln]
    # Logged once as an ERROR where it happened, and repeated as the run's last line.
    assert len(lines) == 2 and " ERROR: " in lines[0] and "run it again later" in lines[0]
    assert result.stderr.strip().splitlines()[-1] == lines[0].split(" ERROR: ", 1)[1]
    assert result.items == []


def test_archive_fallback_fetches_what_every_live_mirror_lost_from_the_wayback_machine(tmp_path: Path) -> None:
    from crawler.testing.site.server import serve_site, status

    corpus = SiteCorpus()
    live = corpus.generate(6, start_id=781001)
    gone, never_archived = live[1], live[4]
    archive = WaybackArchive(
        [
            _capture(gone, "www.presstv.ir", datetime(2026, 1, 2, tzinfo=UTC)),
            _capture(gone, "www.presstv.ir", datetime(2026, 1, 5, tzinfo=UTC), pages.render_challenge_page()),
        ]
    )
    with serve_site(corpus, ["healthy", "healthy"]) as site, RunningWayback(archive) as wayback:
        for art in (gone, never_archived):
            site.override(art.path, status(404, pages.render_not_found()))
        settings = {
            "CRAWLER_WAYBACK_URL": wayback.url,
            "CRAWLER_WAYBACK_CDX_RATE": 40,
            "CRAWLER_WAYBACK_FETCH_RATE": 40,
            "CRAWLER_STORE": str(tmp_path / "store.sqlite"),
        }
        plain = crawl(tmp_path, site.mirrors_arg, "sources=rss", settings=settings, output_name="plain.jsonl")
        assert not [r for r in archive.requests if not r.startswith("/robots")]  # off unless asked for
        result = crawl(tmp_path, site.mirrors_arg, "sources=rss", "archive_fallback=1", settings=settings)
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert {i["article_id"] for i in plain.items} == {a.article_id for a in live} - {
        gone.article_id,
        never_archived.article_id,
    }
    assert result.returncode == 0, result.stderr[-2000:]
    assert [(i["article_id"], i["fetched_from"]) for i in result.items] == [(gone.article_id, "wayback")]
    item = result.items[0]
    assert item["archived_at"].startswith("2026-01-02T00:00:00")  # the newer capture was a challenge page
    assert item["title"] == gone.title
    # The article never archived stays failed: looked up on every outlet domain, then given up.
    assert result.stats.get("archive/fallback/articles") == 2
    cdx = [r for r in archive.requests if r.startswith("/cdx/")]
    assert len(cdx) == 2 * 4
