"""The loopback Wayback stand-in answers in the Internet Archive's formats, and the CDX client reads them."""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import date

from crawler.archives.cdx import Shard, candidates_by_article, parse_cdx_json, plan_shards, replay_url
from crawler.outlet import load_outlet
from crawler.testing.site.wayback import ArchivedCapture, RunningWayback, WaybackArchive

OUTLET = load_outlet()


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:  # loopback only: the stand-in's own address
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _captures() -> list[ArchivedCapture]:
    caps = []
    for day in range(1, 29):
        aid = 330000 + day
        for host, ts in (("www.presstv.ir", f"201311{day:02d}120000"), ("presstv.com", f"201401{day:02d}080000")):
            caps.append(
                ArchivedCapture(
                    f"http://{host}/detail/2013/11/{day:02d}/{aid}/story-{day}/",
                    ts,
                    f"<html>{aid} at {ts}</html>".encode(),
                )
            )
    caps.append(
        ArchivedCapture(
            "http://www.presstv.ir/detail/2013/11/05/330005/story-5/", "20131106000000", b"moved", statuscode=301
        )
    )
    caps.append(
        ArchivedCapture(
            "http://www.presstv.ir/detail/2013/11/05/330005/story-5/",
            "20131107000000",
            b"\x89PNG",
            mimetype="image/png",
        )
    )
    return caps


def test_paging_with_resume_keys_returns_every_capture_once() -> None:
    archive = WaybackArchive(_captures(), line_cap=7)
    with RunningWayback(archive) as wb:
        found = []
        for shard in plan_shards(
            ["presstv.ir", "presstv.com"], dated_heads=["detail"], since=date(2013, 11, 1), until=date(2013, 11, 30)
        ):
            resume: str | None = None
            while True:
                status, _, body = _get(shard.url(wb.url, resume))
                assert status == 200
                caps, resume = parse_cdx_json(body.decode())
                found += caps
                if resume is None:
                    break
        assert len(found) == 56 == len({(c.original, c.timestamp) for c in found})  # 301 and PNG filtered out
        assert all(c.statuscode == "200" and c.mimetype == "text/html" for c in found)
        assert sum(1 for r in archive.requests if "resumeKey=" in r) >= 56 // 7 - 2
        by_id = candidates_by_article(found, OUTLET.article_id)
        assert len(by_id) == 28 and all(len(c) == 2 for c in by_id.values())
        newest = by_id["330005"][0]
        assert newest.timestamp == "20140105080000"  # the presstv.com capture is the newer one
        status, headers, body = _get(replay_url(wb.url, newest))
        assert status == 200 and body == b"<html>330005 at 20140105080000</html>"
        assert headers["Memento-Datetime"] == "20140105080000" and "X-Archive-Redirect-Reason" not in headers


def test_capture_window_throttling_and_missing_captures() -> None:
    archive = WaybackArchive(_captures())
    archive.faults.throttle_first = 2
    archive.faults.retry_after = None
    with RunningWayback(archive) as wb:
        shard = Shard("presstv.ir/detail/2013/11/", "20131110000000", "20131112")
        assert _get(shard.url(wb.url))[0] == 429
        status, headers, _ = _get(shard.url(wb.url))
        assert status == 429 and "Retry-After" not in headers
        caps, resume = parse_cdx_json(_get(shard.url(wb.url))[2].decode())
        assert [c.timestamp for c in caps] == ["20131110120000", "20131111120000", "20131112120000"]
        assert resume is None
        status, _, _ = _get(f"{wb.url}/web/2013id_/http://www.presstv.ir/detail/2099/1/1/1/none/")
        assert status == 404
        # A timestamp between captures gets the closest one, and says so.
        status, headers, _ = _get(f"{wb.url}/web/20131105000000id_/http://presstv.ir/detail/2013/11/04/330004/story-4/")
        assert status == 200 and headers["X-Archive-Redirect-Reason"] == "found capture at 20131104120000"
