"""`crawler export --format warc`: every stored raw page as a WARC/1.1 response record that `warcio check` passes
and a real pywb replays byte for byte."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from support.archivekit import requires_pywb, serve_pywb
from support.crawlkit import cli
from warcio.archiveiterator import ArchiveIterator

from crawler import __version__
from crawler.core.page import Page
from crawler.pool.extraction import extract_page
from crawler.store.sqlite import SQLiteStore
from crawler.testing.site import SiteCorpus
from crawler.testing.site.pages import render_seizure_notice

pytestmark = pytest.mark.integration

IR = "https://www.presstv.ir"


def _fill(store_path: Path) -> dict[str, Page]:
    """A store as crawls and imports leave it; returns its pages by URL."""
    site = SiteCorpus()
    live, archived, old, *_ = site.generate(4, start_id=600001)
    pages = {
        # A live fetch: the body came gzipped and chunked, the store keeps it decoded.
        IR + live.path: Page(
            url=IR + live.path,
            html=live.html,
            status=200,
            encoding="utf-8",
            fetched_at="2026-11-30T10:00:00+00:00",
            mirror="www.presstv.ir",
            headers=[
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Encoding", "gzip"),
                ("Transfer-Encoding", "chunked"),
                ("Content-Length", "1234"),
                ("Server", "nginx"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
            ],
        ),
        # From a WARC import on 2026-11-29: WARC-Date must be the capture time (2013), not the import's.
        IR + archived.path: Page(
            url=IR + archived.path,
            html=archived.html,
            status=200,
            fetched_at="2026-11-29T08:00:00+00:00",
            mirror="www.presstv.ir",
            headers=[("Content-Type", "text/html")],
            fetched_from="warc",
            archived_at="2013-11-04T12:49:01+00:00",
        ),
        # Stored before headers were kept: the minimal set.
        IR + old.path: Page(
            url=IR + old.path,
            html=old.html,
            status=200,
            encoding="windows-1252",
            fetched_at="2020-01-02T03:04:05+00:00",
            mirror="www.presstv.ir",
        ),
    }
    notice = "http://www.presstv.com/Detail/2013/11/04/334416/x"
    pages[notice] = Page(
        url=notice,
        html=render_seizure_notice(),
        status=200,
        fetched_at="2022-01-01T00:00:00+00:00",
        mirror="www.presstv.com",
        headers=[("Content-Type", "text/html")],
    )
    with SQLiteStore(str(store_path)) as store:
        for url, page in pages.items():
            outcome = extract_page(page.html, url, page.mirror or "", "presstv")
            if outcome.article is None:
                store.record_failure(None, "refused", url, "334416", f"not an article: {outcome.refused}", 200, page)
            else:
                store.save_article(outcome.article, page, None)
    return pages


def _export(tmp_path: Path) -> tuple[Path, dict[str, Page]]:
    store = tmp_path / "store.sqlite"
    pages = _fill(store)
    out = tmp_path / "export" / "pages.warc.gz"
    done = cli("export", "--store", str(store), "--format", "warc", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert f"exported {len(pages)} pages" in done.stderr
    return out, pages


def test_every_stored_page_is_a_response_record_that_warcio_check_passes(tmp_path: Path) -> None:
    out, pages = _export(tmp_path)
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", str(out)], capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") == len(pages) + 1  # warcinfo, then one record per page

    with open(out, "rb") as fh:
        records = []
        for rec in ArchiveIterator(fh):
            records.append((rec.rec_type, dict(rec.rec_headers.headers), rec.http_headers, rec.content_stream().read()))
    assert records[0][0] == "warcinfo" and f"software: crawler/{__version__}".encode() in records[0][3]
    responses = {
        headers["WARC-Target-URI"]: (headers, http, body)
        for kind, headers, http, body in records[1:]
        if kind == "response"
    }
    assert set(responses) == set(pages)
    for url, page in pages.items():
        headers, http, body = responses[url]
        assert body == page.html, url
        assert headers["WARC-Payload-Digest"].startswith("sha1:")
        assert http.get_statuscode() == "200"
        assert http.get_header("Content-Length") == str(len(page.html))
        assert http.get_header("Content-Encoding") is None and http.get_header("Transfer-Encoding") is None
    live, archived, old = list(pages)[:3]
    assert responses[archived][0]["WARC-Date"] == "2013-11-04T12:49:01Z"
    assert responses[live][0]["WARC-Date"] == "2026-11-30T10:00:00Z"
    live_http = responses[live][1]
    assert live_http.get_header("Server") == "nginx"
    assert [v for k, v in live_http.headers if k == "Set-Cookie"] == ["a=1", "b=2"]  # as received, in order
    assert responses[old][1].get_header("Content-Type") == "text/html; charset=windows-1252"


def test_warc_export_needs_a_file_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    _fill(store)
    to_stdout = cli("export", "--store", str(store), "--format", "warc")
    assert to_stdout.returncode == 2 and "give -o FILE.warc.gz" in to_stdout.stderr
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    failed = cli("export", "--store", str(store), "--format", "warc", "-o", str(blocked / "x.warc.gz"))
    assert failed.returncode == 2 and "cannot write" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1


@requires_pywb
def test_pywb_replays_an_exported_page_byte_for_byte(tmp_path: Path) -> None:
    out, pages = _export(tmp_path)
    with serve_pywb({"exported": [out]}, tmp_path / "pywb") as pywb:
        live, archived = list(pages)[:2]
        for url, timestamp in ((archived, "20131104124901"), (live, "20261130100000")):
            with urllib.request.urlopen(pywb.replay_url("exported", timestamp, url), timeout=30) as answer:
                assert answer.status == 200
                assert answer.read() == pages[url].html
