"""Web-archive building blocks: CDX query shards and answers, article candidates, WARC reading and writing."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archives.cdx import (
    Capture,
    CdxError,
    Shard,
    candidates_by_article,
    capture_time,
    parse_cdx_json,
    plan_shards,
    replay_url,
)
from crawler.archives.warc import PageRecord, WarcPage, WarcSkip, read_pages, write_warc
from crawler.outlet import load_outlet

OUTLET = load_outlet()
HTML = b"<html><head><title>t</title></head><body><p>Press TV article text.</p></body></html>"


def _surt_like(url: str) -> str:
    """What the CDX server matches prefixes against: no scheme, no www., lower case."""
    rest = url.split("://", 1)[-1].lower()
    return rest[4:] if rest.startswith("www.") else rest


# ---- CDX -----------------------------------------------------------------------------------------------


def test_shards_cover_every_article_url_form_of_the_window() -> None:
    shards = plan_shards(
        ["presstv.com", "presstv.ir"],
        dated_heads=["detail", "video"],
        undated_heads=["detail"],
        undated_until=date(2012, 12, 31),
        since=date(2012, 1, 1),
        until=date(2013, 12, 31),
    )
    prefixes = [s.prefix for s in shards]
    assert len(prefixes) == len(set(prefixes))
    for url in (
        "http://www.presstv.com/detail/222208.html",
        "http://www.presstv.ir/detail/2013/11/04/334416/iran-p5plus1-geneva-talks/",
        "https://www.presstv.com/Detail/2013/3/2/291491/Syrian-army",
        "http://presstv.ir/Video/2012/10/24/268490/Drone",
    ):
        assert any(_surt_like(url).startswith(p.lower()) for p in prefixes), url
    # Outside the window: no shard.
    assert not any(_surt_like("https://www.presstv.ir/Detail/2014/01/11/345080/X").startswith(p) for p in prefixes)
    assert all(s.since == "20120101000000" and s.until is None for s in shards)


def test_undated_shards_only_for_windows_that_reach_the_undated_era() -> None:
    late = plan_shards(
        ["presstv.ir"],
        dated_heads=["detail"],
        undated_heads=["detail"],
        undated_until=date(2012, 12, 31),
        since=date(2020, 1, 1),
        until=date(2020, 2, 29),
    )
    assert [s.prefix for s in late] == [
        "presstv.ir/detail/2020/01/",
        "presstv.ir/detail/2020/1/",
        "presstv.ir/detail/2020/02/",
        "presstv.ir/detail/2020/2/",
    ]
    with pytest.raises(ValueError, match="before since"):
        plan_shards(["presstv.ir"], dated_heads=["detail"], since=date(2020, 2, 1), until=date(2020, 1, 1))


def test_shard_query_asks_exactly_for_what_it_needs() -> None:
    url = Shard("presstv.com/detail/2013/11/", "20130101000000").url("http://127.0.0.1:9/", resume_key="abc 1")
    assert url.startswith("http://127.0.0.1:9/cdx/search/cdx?url=presstv.com%2Fdetail%2F2013%2F11%2F%2A&output=json")
    assert "&fl=original%2Ctimestamp%2Cstatuscode%2Cmimetype%2Cdigest" in url
    assert url.count("&filter=") == 2 and "statuscode%3A200" in url and "mimetype%3Atext%2Fhtml" in url
    assert "&showResumeKey=true&from=20130101000000&resumeKey=abc+1" in url


def test_cdx_json_rows_and_resume_key() -> None:
    header = ["original", "timestamp", "statuscode", "mimetype", "digest"]
    rows = [
        header,
        ["http://www.presstv.com/detail/222208.html", "20120121020400", "200", "text/html", "AAA"],
        ["http://presstv.ir/detail/222208.html", "20130101", "200"],  # torn line
        [],
        ["com,presstv)/detail/222209.html 20120122"],
    ]
    captures, resume = parse_cdx_json(json.dumps(rows))
    assert [c.original for c in captures] == ["http://www.presstv.com/detail/222208.html"]
    assert captures[0].captured_at == datetime(2012, 1, 21, 2, 4, tzinfo=UTC)
    assert resume == "com,presstv)/detail/222209.html 20120122"
    assert parse_cdx_json("") == ([], None) and parse_cdx_json("[]") == ([], None)
    assert parse_cdx_json(json.dumps([header])) == ([], None)
    for bad, message in (("<html>", "not JSON"), ('{"a": 1}', "array of arrays"), ('[["url"]]', "lacks")):
        with pytest.raises(CdxError, match=message):
            parse_cdx_json(bad)


def test_capture_time_pads_short_timestamps_and_refuses_junk() -> None:
    assert capture_time("2013") == datetime(2013, 1, 1, tzinfo=UTC)
    assert capture_time("20131104124901") == datetime(2013, 11, 4, 12, 49, 1, tzinfo=UTC)
    with pytest.raises(CdxError):
        capture_time("20x3")


def test_candidates_group_hosts_and_captures_newest_first() -> None:
    caps = [
        Capture("http://www.presstv.com/Detail/2018/10/07/575920/X", "20181008000000"),
        Capture("https://www.presstv.ir/Detail/2018/10/07/575920/X", "20210701000000"),  # after the seizure? no: .ir
        Capture("http://www.presstv.com/Detail/2018/10/07/575920/X", "20210801000000"),
        Capture("http://www.presstv.com/Detail/2018/10/07/575920/X", "20210801000000"),  # the same line twice
        Capture("http://www.presstv.com/Section/101", "20210801000000"),  # not an article
        Capture("http://www.presstv.com/Detail/2017/01/01/500000/Old", "20200101000000"),  # outside the window
    ]
    found = candidates_by_article(
        caps,
        OUTLET.article_id,
        since=date(2018, 1, 1),
        until=date(2018, 12, 31),
        path_date=lambda u: p.path_date if (p := OUTLET.parse_article_url(u)) else None,
    )
    assert list(found) == ["575920"]
    assert [c.timestamp for c in found["575920"]] == ["20210801000000", "20210701000000", "20181008000000"]
    assert replay_url("http://127.0.0.1:9", found["575920"][0]) == (
        "http://127.0.0.1:9/web/20210801000000id_/http://www.presstv.com/Detail/2018/10/07/575920/X"
    )


# ---- WARC ----------------------------------------------------------------------------------------------


def _outlet_url(url: str) -> bool:
    return OUTLET.is_article_url(url)


def _write(path: Path, records: list[tuple[str, str, bytes, dict[str, str]]], gzip: bool = True) -> None:
    """WARC records written the same way, byte for byte, on every run (ids made from the record's place and
    URL, gzip without a time stamp): a test that garbles bytes garbles the same ones every time."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip, warc_version="1.1")
        # warcio draws a random uuid4 per record: its ids are made from the file name and record number instead.
        ids = iter(f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{path.name}#{i}')}>" for i in range(10_000))
        writer._make_warc_id = lambda *_: next(ids)
        for rec_type, url, body, extra in records:
            if rec_type == "request":
                http = StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True)
                rec = writer.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=http)
            elif rec_type == "revisit":
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
                rec = writer.create_revisit_record(
                    url,
                    digest=extra["digest"],
                    refers_to_uri=extra["refers"],
                    refers_to_date="2013-11-04T12:49:01Z",
                    http_headers=http,
                )
            else:
                ctype = extra.get("type", "text/html; charset=utf-8")
                http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
                headers = {"WARC-Date": "2013-11-04T12:49:01Z"}
                headers.update({k: v for k, v in extra.items() if k.startswith("WARC-")})
                rec = writer.create_warc_record(
                    url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict=headers
                )
            writer.write_record(rec)


def _digest_of(path: Path, url: str) -> str:
    with open(path, "rb") as fh:
        from warcio.archiveiterator import ArchiveIterator

        for rec in ArchiveIterator(fh):
            if rec.rec_headers.get_header("WARC-Target-URI") == url:
                return str(rec.rec_headers.get_header("WARC-Payload-Digest"))
    raise AssertionError(url)


ART1 = "http://www.presstv.ir/detail/2013/11/04/334416/iran-p5plus1-geneva-talks/"
ART2 = "https://www.presstv.ir/Detail/2018/10/07/575920/Kim-Pompeo"


def test_read_pages_keeps_outlet_html_and_reports_everything_else(tmp_path: Path) -> None:
    path = tmp_path / "a.warc.gz"
    _write(
        path,
        [
            ("request", ART1, b"", {}),
            ("response", ART1, HTML, {}),
            ("response", "https://example.org/news/1", HTML, {}),
            ("response", ART2, b"\x89PNG", {"type": "image/png"}),
            ("response", ART2, HTML[:20], {"WARC-Truncated": "length"}),
        ],
    )
    out = list(read_pages([path], _outlet_url))
    pages = [o for o in out if isinstance(o, WarcPage)]
    skips = [o for o in out if isinstance(o, WarcSkip)]
    assert [(p.url, p.body, p.status) for p in pages] == [(ART1, HTML, 200)]
    assert pages[0].captured_at == datetime(2013, 11, 4, 12, 49, 1, tzinfo=UTC)
    assert sorted(s.reason.split(" (")[0] for s in skips) == [
        "not HTML",
        "other host",
        "request record",
        "truncated: length",
    ]
    assert len({s.offset for s in skips} | {pages[0].offset}) == 5  # every record has its own offset


def test_revisits_resolve_within_the_files_even_when_the_original_comes_later(tmp_path: Path) -> None:
    first, second = tmp_path / "1.warc.gz", tmp_path / "2.warc.gz"
    _write(second, [("response", ART1, HTML, {})])
    digest = _digest_of(second, ART1)
    _write(
        first,
        [
            ("revisit", ART2, b"", {"digest": digest, "refers": ART1}),
            ("revisit", ART2, b"", {"digest": "sha1:NOTHERE", "refers": ART1}),
        ],
    )
    out = list(read_pages([first, second], _outlet_url))
    pages = [o for o in out if isinstance(o, WarcPage)]
    assert sorted((p.url, p.revisit) for p in pages) == [(ART1, False), (ART2, True)]
    assert all(p.body == HTML for p in pages)
    assert [s.reason for s in out if isinstance(s, WarcSkip)] == ["revisit of a record not in these files"]


@pytest.mark.parametrize("gzip", [True, False], ids=["gzipped", "plain"])
def test_a_corrupt_record_is_reported_with_its_offset_and_reading_goes_on(tmp_path: Path, gzip: bool) -> None:
    path = tmp_path / ("c.warc.gz" if gzip else "c.warc")
    _write(
        path,
        [
            ("response", ART1, HTML, {}),
            ("response", ART2, HTML, {}),
            ("response", ART1.replace("334416", "334417"), HTML, {}),
        ],
        gzip=gzip,
    )
    data = bytearray(path.read_bytes())
    second = data.find(b"\x1f\x8b\x08", 10) if gzip else data.find(b"WARC/1.1", 10)
    if gzip:
        for i in range(second + 12, second + 60):
            data[i] ^= 0x5A  # garble the second record's compressed bytes
    else:
        data[second : second + 8] = b"XARC/9.9"  # the second record no longer says what it is
    path.write_bytes(bytes(data))
    out = list(read_pages([path], _outlet_url))
    pages = [o.url for o in out if isinstance(o, WarcPage)]
    bad = [o for o in out if isinstance(o, WarcSkip)]
    assert pages == [ART1, ART1.replace("334416", "334417")]
    # A garbled gzip member fails to inflate; a garbled plain header no longer says what the record is: either
    # way the record is reported with the file and the offset where it starts.
    assert bad and bad[0].file == str(path) and second - 4 <= bad[0].offset <= second
    if gzip:
        assert bad[0].reason.startswith("corrupt record")


def test_written_warc_passes_warcio_check_and_reads_back_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "export.warc.gz"
    when = datetime(2026, 8, 15, 7, 0, tzinfo=UTC)
    pages = [
        PageRecord(
            ART1,
            when,
            HTML,
            200,
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Encoding", "gzip"),
                ("Content-Length", "12"),
                ("Server", "nginx"),
            ],
        ),
        PageRecord(ART2, when, "<html><body>é</body></html>".encode(), 404, []),
    ]
    with open(path, "wb") as fh:
        assert write_warc(fh, pages, software="crawler 1.0") == 2
    check = subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", "-v", str(path)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    out = [o for o in read_pages([path], _outlet_url) if isinstance(o, WarcPage)]
    assert [(p.url, p.body, p.status) for p in out] == [(ART1, HTML, 200), (ART2, pages[1].body, 404)]
    headers = dict(out[0].headers)
    assert headers["Content-Length"] == str(len(HTML)) and "Content-Encoding" not in headers
    assert headers["Server"] == "nginx" and out[0].captured_at == when


# ---- Common Crawl --------------------------------------------------------------------------------------

from crawler.archives.commoncrawl import (  # noqa: E402
    CommonCrawlError,
    RecordTooLarge,
    crawls_for,
    index_query,
    parse_collinfo,
    parse_index,
    read_record,
)


def test_collinfo_and_the_crawls_a_window_needs() -> None:
    text = json.dumps(
        [
            {
                "id": "CC-MAIN-2024-10",
                "name": "March 2024",
                "cdx-api": "https://index.commoncrawl.org/CC-MAIN-2024-10-index",
            },
            {
                "id": "CC-MAIN-2013-20",
                "name": "Summer 2013",
                "cdx-api": "https://index.commoncrawl.org/CC-MAIN-2013-20-index",
            },
            {"name": "no id"},
        ]
    )
    crawls = parse_collinfo(text)
    assert [c.id for c in crawls] == ["CC-MAIN-2024-10", "CC-MAIN-2013-20"]
    assert [c.id for c in crawls_for(crawls, date(2020, 1, 1), None)] == ["CC-MAIN-2024-10"]
    assert len(crawls_for(crawls, None, None)) == 2
    with pytest.raises(CommonCrawlError, match="not JSON"):
        parse_collinfo("<html>")


def test_index_query_and_ndjson_answer() -> None:
    url = index_query("http://127.0.0.1:9/", "CC-MAIN-2013-20", "presstv.ir/detail/2013/11/", date(2013, 1, 1))
    assert url.startswith("http://127.0.0.1:9/CC-MAIN-2013-20-index?url=presstv.ir%2Fdetail%2F2013%2F11%2F%2A")
    assert "&output=json&filter=%3Dstatus%3A200&filter=~mime%3A.%2Ahtml.%2A&from=20130101" in url
    line = {
        "url": ART1,
        "timestamp": "20131104124901",
        "status": "200",
        "mime": "text/html",
        "filename": "crawl-data/x.warc.gz",
        "offset": "1200",
        "length": "800",
    }
    records = parse_index(200, json.dumps(line) + "\n\n" + json.dumps(line) + "\n")
    assert len(records) == 2 and records[0].range_header() == "bytes=1200-1999"
    assert parse_index(404, '{"error": "No Captures found for: presstv.ir/x*"}') == []
    with pytest.raises(CommonCrawlError, match="HTTP 503"):
        parse_index(503, "Slow Down")
    with pytest.raises(CommonCrawlError, match="line 1"):
        parse_index(200, '{"url": "x"}')


def test_one_ranged_gzip_member_is_one_page(tmp_path: Path) -> None:
    path = tmp_path / "cc.warc.gz"
    _write(path, [("response", "https://example.org/", b"<html>other</html>", {}), ("response", ART1, HTML, {})])
    data = path.read_bytes()
    second = data.find(b"\x1f\x8b\x08", 10)
    page = read_record(data[second:])
    assert (page.url, page.body, page.status) == (ART1, HTML, 200)
    assert page.captured_at == datetime(2013, 11, 4, 12, 49, 1, tzinfo=UTC)
    with pytest.raises(CommonCrawlError):
        read_record(data[second + 5 :])


def test_a_common_crawl_record_is_read_within_the_page_size_limit(tmp_path: Path) -> None:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join([squeeze.compress(bytes(1 << 20)) for _ in range(512)] + [squeeze.flush()])  # 512 MiB
    path = tmp_path / "cc.warc.gz"
    with open(path, "wb") as fh:
        http = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")], protocol="HTTP/1.1"
        )
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warc_record(ART1, "response", payload=io.BytesIO(bomb), http_headers=http))
    data = path.read_bytes()
    assert len(data) < 4096  # a few KB fetched
    with pytest.raises(RecordTooLarge, match="too large: the payload inflates past the page size limit"):
        read_record(data)
    # The limit is the caller's (the spider passes its DOWNLOAD_MAXSIZE setting).
    with pytest.raises(RecordTooLarge, match=r"limit \(1 MB\)"):
        read_record(data, max_bytes=1 << 20)
