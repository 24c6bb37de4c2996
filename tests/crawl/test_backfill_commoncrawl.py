"""A year's backfill from a look-alike Common Crawl: a real pywb as the index server (what index.commoncrawl.org
runs), collinfo.json beside it, and a data server answering Range requests with one WARC record each."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support.archivekit import Rec, requires_pywb, serve_pywb, write_warc_file
from support.crawlkit import crawl

from crawler.testing.site import pages
from crawler.testing.site.corpus import SiteArticle, SiteCorpus
from crawler.testing.site.ranged import RangedFiles
from crawler.testing.site.server import closed_port

pytestmark = [pytest.mark.integration, requires_pywb, pytest.mark.timeout(600)]  # a 300 s backfill and pywb

NO_MIRROR = f"http://127.0.0.1:{closed_port()}"
CRAWLS = {
    "CC-MAIN-2013-48": datetime(2013, 12, 5, tzinfo=UTC),
    "CC-MAIN-2022-05": datetime(2022, 1, 20, tzinfo=UTC),
    "CC-MAIN-2012": datetime(2012, 6, 1, tzinfo=UTC),
}
"""The crawls the look-alike index knows, and when each captured its pages."""


@contextmanager
def index_front(pywb_url: str, crawls: list[str]) -> Iterator[tuple[str, list[str]]]:
    """index.commoncrawl.org as one base URL: its collinfo.json, and every other path answered by pywb; also
    the list of paths asked for."""
    asked: list[str] = []

    class Front(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            asked.append(self.path)
            if self.path == "/collinfo.json":
                body = json.dumps(
                    [
                        {"id": c, "name": f"{c} crawl", "timegate": f"{base}/{c}/", "cdx-api": f"{base}/{c}-index"}
                        for c in crawls
                    ]
                ).encode()
                status = 200
            else:
                try:
                    with urllib.request.urlopen(pywb_url + self.path, timeout=30) as answer:  # loopback pywb
                        status, body = answer.status, answer.read()
                except urllib.error.HTTPError as exc:
                    status, body = exc.code, exc.read()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Front)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base, asked
    finally:
        server.shutdown()
        server.server_close()


def _rec(article: SiteArticle, host: str, when: datetime, body: bytes | None = None) -> Rec:
    return Rec(
        "response",
        f"https://{host}{article.path}",
        body=article.html if body is None else body,
        date=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def test_a_year_from_common_crawl_through_pywb_and_ranged_records(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    year = corpus.generate(10, start_id=331001, start=datetime(2013, 11, 25, 10), interval=timedelta(days=30), seed=7)
    later = corpus.generate(2, start_id=346001, start=datetime(2014, 3, 1, 10), seed=8)
    warcs = tmp_path / "data"
    warcs.mkdir()
    old = [_rec(a, "www.presstv.ir", CRAWLS["CC-MAIN-2013-48"]) for a in year]
    old += [_rec(a, "www.presstv.com", CRAWLS["CC-MAIN-2013-48"] + timedelta(hours=1)) for a in year[:3]]
    old.append(Rec("response", "https://example.com/detail/2013/05/01/331999/x", body=b"<html>other</html>"))
    seizure = pages.render_seizure_notice()
    new = [_rec(a, "www.presstv.com", CRAWLS["CC-MAIN-2022-05"], seizure) for a in year[::2]]
    new += [_rec(a, "www.presstv.ir", CRAWLS["CC-MAIN-2022-05"]) for a in later]
    write_warc_file(warcs / "CC-MAIN-2013-48-00000.warc.gz", old)
    write_warc_file(warcs / "CC-MAIN-2022-05-00000.warc.gz", new)
    collections = {
        "CC-MAIN-2013-48": [warcs / "CC-MAIN-2013-48-00000.warc.gz"],
        "CC-MAIN-2022-05": [warcs / "CC-MAIN-2022-05-00000.warc.gz"],
    }
    store = tmp_path / "store.sqlite"
    with (
        serve_pywb(collections, tmp_path / "pywb", config={"cdx_api_endpoint": "-index"}) as pywb,
        index_front(pywb.url, [*CRAWLS]) as (index, asked),
        RangedFiles(warcs) as data,
    ):
        data.slow_down_first = 2
        result = crawl(
            tmp_path,
            NO_MIRROR,
            "sources=commoncrawl",
            "since=2013-01-01",
            "until=2013-12-31",
            settings={
                "CRAWLER_CC_INDEX_URL": index,
                "CRAWLER_CC_DATA_URL": data.url,
                "CRAWLER_CC_INDEX_RATE": 40,
                "CRAWLER_CC_DATA_RATE": 40,
                "CRAWLER_STORE": str(store),
            },
            timeout=300,
        )
        ranges = [r for r in data.requests if r.status == 206]
    assert result.returncode == 0, result.stderr[-3000:]
    by_id = {i["article_id"]: i for i in result.items}
    assert len(by_id) == len(result.items) == len(year)
    assert set(by_id) == {a.article_id for a in year}
    for article in year:
        item = by_id[article.article_id]
        assert item["fetched_from"] == "commoncrawl" and item["title"] == article.title
        # The 2022 captures of presstv.com are the seizure notice: the 2013 crawl's capture was used instead.
        assert item["archived_at"].startswith("2013-12-05")
    refused = {k: v for k, v in result.stats.items() if k.startswith("archive/commoncrawl/capture_refused/")}
    assert sum(refused.values()) == len(year[::2])
    # One Range request per capture tried, each answered with exactly one record; the 503s were waited out.
    assert len(ranges) == len(year) + len(year[::2])
    assert all(r.range and r.range.startswith("bytes=") for r in ranges)
    assert result.stats.get("archive/commoncrawl/throttled_503") == 2
    # collinfo.json first; the CC-MAIN-2012 crawl ended before the window and was not asked, the others were.
    assert next(p for p in asked if p != "/robots.txt") == "/collinfo.json"
    queried = {path.split("-index?")[0].lstrip("/") for path in asked if "-index?" in path}
    assert queried == {"CC-MAIN-2013-48", "CC-MAIN-2022-05"}
