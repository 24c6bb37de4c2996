"""`crawler import-warc`: WARC files holding Press TV pages, other hosts, revisits, a truncated record and a corrupt
gzip member give every good page once, every bad record reported; importing again adds nothing; an interrupted
import resumes."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import zlib
from dataclasses import replace
from pathlib import Path

import pytest
from support.archivekit import Rec, write_arc_file, write_warc_file
from support.crawlkit import cli

from crawler.services.warcimport import WarcInputError, file_key, import_warcs, resolve_inputs
from crawler.testing.site import SiteCorpus
from crawler.testing.site.pages import render_article, render_seizure_notice

IR = "https://www.presstv.ir"
COM = "http://www.presstv.com"


def _rows(store: Path, sql: str, *params: object) -> list[tuple]:
    db = sqlite3.connect(store)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def _items(store: Path) -> dict[str, dict]:
    out = cli("export", "--store", str(store))
    assert out.returncode == 0, out.stderr
    return {item["article_id"]: item for item in map(json.loads, out.stdout.splitlines())}


def _garble_member(path: Path, offset: int) -> None:
    """Flip bytes inside the compressed data of the gzip member at `offset` (its header stays readable)."""
    data = bytearray(path.read_bytes())
    for i in range(offset + 12, offset + 60):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.fixture
def corpus() -> SiteCorpus:
    site = SiteCorpus()
    site.generate(8, start_id=334401)
    return site


def _warcs(tmp_path: Path, corpus: SiteCorpus) -> tuple[list[Path], dict[str, object]]:
    """Three WARC files covering every case; returns them and what the test needs to know about them."""
    arts = corpus.articles()
    a = {i: arts[i] for i in range(8)}
    url = {i: IR + a[i].path for i in a}
    spec2, spec3 = a[2].spec, a[3].spec
    assert spec2 is not None and spec3 is not None
    edited = render_article(
        replace(spec2, paragraphs=[*spec2.paragraphs, "The ministry later added that the talks would resume."])
    )
    older_edit = render_article(replace(spec3, paragraphs=spec3.paragraphs[:3]))
    folder = tmp_path / "warcs"
    folder.mkdir()
    one, two, three = folder / "one.warc.gz", folder / "two.warc", folder / "three.warc.gz"
    server = [("Content-Type", "text/html; charset=utf-8"), ("Server", "nginx/1.18"), ("X-Cache", "MISS")]
    write_warc_file(
        one,
        [
            Rec("request", url[0]),
            Rec("response", url[0], a[0].html, date="2013-11-04T12:00:00Z", headers=server, gzip_body=True),
            Rec("response", url[1], a[1].html, date="2013-11-04T12:01:00Z"),
            Rec("response", url[2], a[2].html, date="2013-11-04T12:02:00Z"),
            Rec("response", url[3], a[3].html, date="2015-01-01T00:00:00Z"),
            Rec("response", "https://example.org/news/1", a[1].html),
            Rec("response", IR + "/Photo/2013/11/04/1.jpg", b"\x89PNG\r\n", headers=[("Content-Type", "image/png")]),
            Rec("response", IR + "/", b"<html><body>home</body></html>"),
            Rec("response", url[4], b"<html>gone</html>", status="404 Not Found"),
            Rec("metadata", url[0], b"outlinks: none"),
        ],
    )
    offsets_two = write_warc_file(
        two,
        [
            # Heritrix (Internet Archive, Archive-It) marks every revisit "WARC-Truncated: length": it has no payload.
            Rec(
                "revisit",
                url[0],
                date="2014-02-01T00:00:00Z",
                revisit_of=Rec("x", "", a[0].html, gzip_body=True).payload(),
                warc_headers={"WARC-Truncated": "length"},
            ),
            Rec("revisit", url[5], date="2014-02-01T00:00:00Z", revisit_of=b"a payload in no file given"),
            Rec("response", url[5], a[5].html[:2000], warc_headers={"WARC-Truncated": "length"}),
            Rec("response", COM + a[6].path, render_seizure_notice(), date="2022-01-01T00:00:00Z"),
        ],
        gzip=False,
    )
    offsets_three = write_warc_file(
        three,
        [
            Rec("response", url[2], edited, date="2016-05-05T05:05:05Z"),
            Rec("response", url[3], older_edit, date="2014-01-01T00:00:00Z"),
            Rec("response", url[6], a[6].html, date="2013-11-05T00:00:00Z"),
            Rec("response", url[7], a[7].html, date="2013-11-05T00:00:00Z"),
        ],
    )
    _garble_member(three, offsets_three[2])
    return [one, two, three], {
        "ids": [x.article_id for x in arts],
        "url": url,
        "edited": edited,
        "bad": {
            (str(two), offsets_two[1]): "revisit",
            (str(two), offsets_two[2]): "truncated",
            (str(three), offsets_three[2]): "corrupt",
        },
    }


@pytest.mark.integration
def test_import_stores_every_good_page_once_and_reports_every_bad_record(tmp_path: Path, corpus: SiteCorpus) -> None:
    files, facts = _warcs(tmp_path, corpus)
    ids: list[str] = facts["ids"]  # type: ignore[assignment]
    store = tmp_path / "store.sqlite"
    out = cli("import-warc", "--store", str(store), "--workers", "2", *map(str, files))
    assert out.returncode == 0, out.stderr

    items = _items(store)
    # 0 (and its revisit), 1, 2 (two captures), 3, 7: stored once each. 4 was a 404, 5 truncated, 6 corrupt
    # (its seizure-notice capture was refused).
    assert sorted(items) == sorted([ids[0], ids[1], ids[2], ids[3], ids[7]])
    assert all(item["fetched_from"] == "warc" for item in items.values())
    assert items[ids[1]]["archived_at"] == "2013-11-04T12:01:00+00:00"
    # The newer capture's edited text is a new version; the older capture of 3 did not replace the newer.
    assert items[ids[2]]["archived_at"] == "2016-05-05T05:05:05+00:00"
    assert "talks would resume" in items[ids[2]]["body"]
    assert _rows(store, "SELECT version FROM articles WHERE article_id = ?", ids[2]) == [(2,)]
    assert _rows(store, "SELECT version FROM articles WHERE article_id = ?", ids[3]) == [(1,)]
    assert items[ids[3]]["archived_at"] == "2015-01-01T00:00:00+00:00"
    # The revisit is a later capture of the same bytes: the article is unchanged, its archived_at the original's.
    assert items[ids[0]]["archived_at"] == "2013-11-04T12:00:00+00:00"
    # The page keeps the record's status and headers as received (here: a gzipped body, stored decoded).
    ((status, headers, html),) = _rows(
        store,
        "SELECT status, headers, html FROM pages WHERE article_id = ? AND archived_at = ?",
        ids[0],
        "2013-11-04T12:00:00",
    )
    assert zlib.decompress(html) == corpus.articles()[0].html
    assert status == 200 and ["Server", "nginx/1.18"] in json.loads(headers)
    assert ["Content-Encoding", "gzip"] in json.loads(headers)

    # The seizure notice at an article URL is a refused page, recorded with its reason like in a crawl.
    failures = _rows(store, "SELECT kind, url, reason FROM failures")
    assert [(k, u) for k, u, _ in failures] == [("refused", COM + corpus.articles()[6].path)]
    assert "seizure" in failures[0][2].lower()

    # Every damaged record is reported with its file and offset.
    reported = {
        (m.group(1), int(m.group(2))): m.group(3)
        for m in re.finditer(r"warning: (\S+) at offset (\d+): (.*)", out.stderr)
    }
    bad: dict[tuple[str, int], str] = facts["bad"]  # type: ignore[assignment]
    assert len(reported) == len(bad), out.stderr
    for (file, offset), what in bad.items():
        near = [r for (f, o), r in reported.items() if f == file and offset - 4 <= o <= offset]
        assert near and what in near[0], (file, offset, out.stderr)
    summary = out.stdout.strip().splitlines()[-1]
    assert "5 new articles, 1 new versions, 1 unchanged" in summary and "1 refused" in summary
    for reason in (
        "other host 1",
        "request record 1",
        "metadata record 1",
        "not HTML 1",
        "not an article URL 1",
        "HTTP 404 1",
        "truncated 1",
        "corrupt record 1",
        "revisit of a record not in these files 1",
    ):
        assert reason in summary, summary
    assert "1 older than stored" in summary

    runs = cli("runs", "--store", str(store), "--json")
    (run,) = [json.loads(line) for line in runs.stdout.splitlines()]
    assert run["spider"] == "import-warc" and run["status"] == "ok" and run["new"] == 5


@pytest.mark.integration
def test_a_second_import_of_the_same_files_adds_nothing(tmp_path: Path, corpus: SiteCorpus) -> None:
    files, _ = _warcs(tmp_path, corpus)
    store = tmp_path / "store.sqlite"
    assert cli("import-warc", "--store", str(store), *map(str, files)).returncode == 0
    tables = ("articles", "versions", "pages", "failures", "warc_records")
    before = {t: _rows(store, f"SELECT * FROM {t}") for t in tables}
    # The same files again, by a glob, one of them also as a copy under another name.
    copy = tmp_path / "elsewhere" / "copy-of-one.warc.gz"
    copy.parent.mkdir()
    shutil.copyfile(files[0], copy)
    again = cli("import-warc", "--store", str(store), str(files[0].parent / "*"), str(copy))
    assert again.returncode == 0, again.stderr
    after = {t: _rows(store, f"SELECT * FROM {t}") for t in tables}
    assert after == before
    summary = again.stdout.strip().splitlines()[-1]
    assert "0 new articles, 0 new versions, 0 unchanged, 0 refused, 0 crashed" in summary
    assert "3 files" in summary and "already imported" in summary


@pytest.mark.integration
def test_an_interrupted_import_resumes_where_it_stopped(tmp_path: Path) -> None:
    site = SiteCorpus()
    site.generate(100, start_id=500001)
    path = tmp_path / "big.warc.gz"
    write_warc_file(path, [Rec("response", IR + a.path, a.html) for a in site.articles()])
    store = tmp_path / "store.sqlite"
    seen = 0

    def stop_halfway(records: int, _bytes: int) -> None:
        nonlocal seen
        seen += records
        if seen == 70:  # records are read ahead of the stores by the pool's window (32 here)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_warcs(str(store), [path], workers=1, progress=stop_halfway, commit_items=5)
    first = _rows(store, "SELECT count(*) FROM articles")[0][0]
    assert 0 < first < 70
    assert _rows(store, "SELECT status FROM runs") == [("stopped",)]

    out = cli("import-warc", "--store", str(store), str(path))
    assert out.returncode == 0, out.stderr
    assert f"{100 - first} new articles" in out.stdout and f"{first} already imported" in out.stdout
    assert sorted(_items(store)) == sorted(a.article_id for a in site.articles())
    assert _rows(store, "SELECT count(*) FROM versions")[0][0] == 100


@pytest.mark.integration
def test_arc_files_gzipped_or_not_are_imported_too(tmp_path: Path, corpus: SiteCorpus) -> None:
    arts = corpus.articles()
    write_arc_file(tmp_path / "old.arc.gz", [(IR + arts[0].path, "20111230101500", arts[0].html)])
    write_arc_file(tmp_path / "old.arc", [(COM + arts[1].path, "20120102030405", arts[1].html)], gzip=False)
    store = tmp_path / "store.sqlite"
    out = cli("import-warc", "--store", str(store), str(tmp_path / "old.arc*"))
    assert out.returncode == 0, out.stderr
    items = _items(store)
    assert {k: v["archived_at"] for k, v in items.items()} == {
        arts[0].article_id: "2011-12-30T10:15:00+00:00",
        arts[1].article_id: "2012-01-02T03:04:05+00:00",
    }
    assert items[arts[1].article_id]["mirror"] == "www.presstv.com"


def test_a_record_with_a_malformed_target_uri_is_passed_over_and_the_rest_imported(
    tmp_path: Path, corpus: SiteCorpus
) -> None:
    arts = corpus.articles()
    # An unclosed IPv6 bracket in WARC-Target-URI: urlsplit raises on it, which once stopped the whole import.
    write_warc_file(
        tmp_path / "odd.warc.gz",
        [
            Rec("response", "http://[www.presstv.ir" + arts[0].path, arts[0].html),
            Rec("response", IR + arts[1].path, arts[1].html),
        ],
    )
    store = tmp_path / "store.sqlite"
    out = cli("import-warc", "--store", str(store), str(tmp_path / "odd.warc.gz"))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert set(_items(store)) == {arts[1].article_id}
    assert "skipped: malformed target URI 1" in out.stdout, out.stdout
    assert "corrupt" not in out.stdout + out.stderr


# ---- bad input (no import runs) -----------------------------------------------------------------------------


def test_missing_files_empty_globs_and_non_warc_files_are_one_line_errors(tmp_path: Path) -> None:
    store = str(tmp_path / "store.sqlite")
    (tmp_path / "page.html").write_text("<html></html>")
    (tmp_path / "empty.warc").write_bytes(b"")
    cases = {
        str(tmp_path / "nothere.warc.gz"): "no such file",
        str(tmp_path / "*.arc.gz"): "no file matches",
        str(tmp_path / "page.html"): "is not a WARC or ARC file",
        str(tmp_path / "empty.warc"): "is empty",
        str(tmp_path): "is a folder",
    }
    for arg, message in cases.items():
        out = cli("import-warc", "--store", store, arg)
        assert out.returncode == 2, (arg, out.stderr)
        assert len(out.stderr.strip().splitlines()) == 1 and message in out.stderr, out.stderr
    assert not Path(store).exists()  # nothing was opened, nothing recorded


def test_inputs_are_each_read_once_and_known_by_their_bytes(tmp_path: Path) -> None:
    a = tmp_path / "a.warc.gz"
    write_warc_file(a, [Rec("response", IR + "/", b"<html></html>")])
    b = tmp_path / "sub" / "b.warc"
    b.parent.mkdir()
    write_warc_file(b, [Rec("response", IR + "/", b"<html></html>")], gzip=False)
    found = resolve_inputs([str(tmp_path / "**" / "*.warc*"), str(a)])
    assert found == [a, b]
    copy = tmp_path / "copy.bin"
    shutil.copyfile(a, copy)
    assert file_key(copy) == file_key(a) != file_key(b)
    with pytest.raises(WarcInputError, match="not a WARC"):
        resolve_inputs([str(Path(__file__))])


# ---- real files (tests/data/real, see SOURCES there) -----------------------------------------------------------

REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "warc"
ONE_STREAM = REAL / "warcio-example-bad-non-chunked.warc.gz"
PTV_URL = "https://www.presstv.ir/Detail/2017/03/06/513321/Iran-example-page"
_SUMMARY = re.compile(
    r"(\d+) records in .*?: (\d+) new articles, (\d+) new versions, (\d+) unchanged, "
    r"(\d+) refused(?: \([^)]*\))?, (\d+) crashed, (\d+) older than stored, (\d+) already imported"
    r"(?:; skipped: (.*))?$"
)


def _real_files() -> list[Path]:
    files = sorted(p for p in REAL.iterdir() if p.name != "SOURCES" and p != ONE_STREAM)
    assert len(files) >= 15
    return files


@pytest.mark.integration
def test_real_warc_and_arc_files_every_record_has_a_reason_and_no_other_site_is_stored(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    out = cli("import-warc", "--store", str(store), "--workers", "1", *map(str, _real_files()))
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    # warcio's own multi-line warnings come as our one-line warnings, each naming its file and offset.
    lines = out.stderr.strip().splitlines()
    assert lines and all(re.match(r"crawler: warning: \S+ at offset \d+: \S", line) for line in lines), out.stderr
    assert "Record not followed by newline" in out.stderr and "Replacing spaces" in out.stderr

    summary = out.stdout.strip().splitlines()[-1]
    match = _SUMMARY.search(summary)
    assert match, summary
    records, *outcomes = (int(g) for g in match.groups()[:8])
    skipped = {
        m.group(1).strip(): int(m.group(2)) for m in re.finditer(r"([^,;]+?) (\d+)(?:,|$)", match.group(9) or "")
    }
    assert records == sum(outcomes) + sum(skipped.values()), summary
    assert not any(word in reason for reason in skipped for word in ("None", "unknown", "no known type")), skipped
    assert set(skipped) <= {
        "request record",
        "warcinfo record",
        "other host",
        "corrupt record",
        "resource record",
        "metadata record",
        "not HTML",
    }, skipped
    # warcio's words for a damaged record are turned into plain ones.
    assert "ArchiveLoadFailed" not in out.stderr and "do not start a WARC or ARC record" in out.stderr
    # The IA-style revisit (WARC-Truncated: length) is resolved like the plain one: nothing is "truncated".
    assert "truncated" not in skipped, summary

    # example.com's page under a Press TV URL is no Press TV article: refused with its own reason, every capture
    # of it (two complete responses and three revisits: the split file's revisit has the same payload digest,
    # so it is resolved from the complete response in another file), and nothing is stored as an article.
    assert _rows(store, "SELECT count(*) FROM articles") == [(0,)]
    refusals = _rows(store, "SELECT url, reason FROM failures")
    assert len(refusals) == 5 and all(u == PTV_URL and "not an outlet page" in r for u, r in refusals), refusals
    assert "5 refused (not an outlet page 5)" in summary
    # Every revisit found its payload (three of the five refusals are revisits).
    assert not any(reason.startswith("revisit") for reason in skipped), summary
    # No page is stored empty: the response split across gzip members is a corrupt record, not a page.
    assert all(zlib.decompress(html) for (html,) in _rows(store, "SELECT html FROM pages"))
    split = str(REAL / "warcio-example-presstv-url-split-member.warc.gz")
    assert re.search(re.escape(split) + r" at offset \d+: corrupt record: cut short", out.stderr), out.stderr


@pytest.mark.integration
def test_a_warc_gzipped_as_one_stream_is_one_line_naming_the_fix_and_the_fix_works(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = tmp_path / "store.sqlite"
    out = cli("import-warc", "--store", str(store), str(ONE_STREAM))
    assert out.returncode != 0
    (line,) = out.stderr.strip().splitlines()
    assert "gzipped as one stream" in line and "warcio recompress" in line, line
    assert not store.exists()

    fixed = tmp_path / "fixed.warc.gz"
    subprocess.run(
        [sys.executable, "-c", "from warcio.cli import main; main()", "recompress", str(ONE_STREAM), str(fixed)],
        check=True,
        capture_output=True,
    )
    again = cli("import-warc", "--store", str(store), str(fixed))
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1].startswith("import-warc: 6 records"), again.stdout


# ---- bounded memory ---------------------------------------------------------------------------------------------

_PEAK_RSS = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(done.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.stderr.write(done.stderr)
print(done.stdout)
"""


def _import_measured(store: Path, path: Path) -> tuple[int, int, str, str]:
    """Run the import as its own process; its exit status, peak RSS (KiB), stdout and stderr."""
    import subprocess
    import sys

    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PEAK_RSS,
            sys.executable,
            "-m",
            "crawler",
            "import-warc",
            "--store",
            str(store),
            "--workers",
            "1",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    status, peak, stdout = done.stdout.split("\n", 2)
    return int(status), int(peak), stdout, done.stderr


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """A 1 MB gzip body that inflates to 1 GiB."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join([squeeze.compress(zeros) for _ in range(1024)] + [squeeze.flush()])


@pytest.mark.integration
@pytest.mark.parametrize("name", ["bomb.warc", "bomb.warc.gz"])
def test_a_gzip_bomb_payload_is_refused_as_too_large_in_bounded_memory(
    tmp_path: Path, gzip_bomb: bytes, name: str
) -> None:
    path = tmp_path / name
    write_warc_file(
        path,
        [
            Rec(
                "response",
                IR + "/Detail/2020/01/01/612345/Bomb",
                gzip_bomb,
                headers=[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            )
        ],
        gzip=name.endswith(".gz"),
    )
    # 1 MB as a plain WARC; a few KB gzipped (the WARC's own gzip squeezes the gzip body again).
    assert path.stat().st_size < 1_200_000
    status, peak_kib, stdout, stderr = _import_measured(tmp_path / "store.sqlite", path)
    assert status == 0, stderr
    assert "too large: the payload inflates past the page size limit (16 MB)" in stderr
    assert "too large 1" in stdout and "0 new articles" in stdout
    assert peak_kib < 300 * 1024, f"peak RSS {peak_kib / 1024:.0f} MB"


@pytest.mark.integration
def test_a_record_claiming_3_gb_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "liar.warc"
    page = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>short</body></html>"
    path.write_bytes(
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: "
        + IR.encode()
        + b"/Detail/2020/01/01/612346/Liar\r\nWARC-Date: 2020-01-01T00:00:00Z\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        b"Content-Type: application/http; msgtype=response\r\nContent-Length: 3000000000\r\n\r\n" + page + b"\r\n\r\n"
    )
    status, peak_kib, stdout, stderr = _import_measured(tmp_path / "store.sqlite", path)
    assert status == 0 and "Traceback" not in stderr, stderr
    (line,) = stderr.strip().splitlines()
    assert "too large: the record claims 3,000.0 MB" in line, line
    assert "too large 1" in stdout
    assert peak_kib < 300 * 1024


def test_a_revisit_of_an_image_is_counted_as_not_html_and_its_truncation_header_is_no_reason(tmp_path: Path) -> None:
    from crawler.archives.warc import WarcSkip, read_pages

    png = b"\x89PNG\r\n\x1a\n" + bytes(64)
    path = tmp_path / "img.warc.gz"
    write_warc_file(
        path,
        [
            Rec("response", IR + "/Photo/2020/01/01/1.png", png, headers=[("Content-Type", "image/png")]),
            Rec(
                "revisit",
                IR + "/Photo/2020/01/01/1.png",
                revisit_of=png,
                headers=[("Content-Type", "image/png")],
                warc_headers={"WARC-Truncated": "length"},
            ),
        ],
    )
    reasons = [o.reason for o in read_pages([path], lambda url: True) if isinstance(o, WarcSkip)]
    assert reasons == ["not HTML (image/png)", "not HTML (image/png)"]
