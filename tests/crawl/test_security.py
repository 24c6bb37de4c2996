"""Security defaults: a crawl opens no code-execution endpoint unless asked for, for this one crawl; `crawler serve`
reads and nothing more (no fts3_tokenizer(), bounded values, rows and memory) and answers loopback names only."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from crawler.store import open_store
from crawler.testing.site.corpus import SiteCorpus
from crawler.testing.site.server import RunningSite, closed_port, serve_site

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site() -> Iterator[RunningSite]:
    corpus = SiteCorpus()
    corpus.generate(3)
    with serve_site(corpus, ("healthy",)) as running:
        yield running


def _crawl(site: RunningSite, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "presstv",
        "-a",
        f"mirrors={site.mirrors_arg}",
        "-s",
        f"CRAWLER_STORE={tmp_path / 'store.sqlite'}",
        "-s",
        f"REMOTE_CONTROL_JOBS_DIR={tmp_path / 'jobs'}",
        "-s",
        "DOWNLOAD_DELAY=0",
        "-s",
        "AUTOTHROTTLE_ENABLED=0",
        "-s",
        "CRAWLER_EXTRACT_WORKERS=1",
        "-s",
        "LOG_LEVEL=INFO",
        *extra,
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def _extensions(stderr: str) -> str:
    """The list Scrapy logs after "Enabled extensions:"."""
    at = stderr.index("Enabled extensions:")
    start = stderr.index("[", at)
    return stderr[start : stderr.index("]", start)]


def test_a_crawl_opens_no_remote_control_endpoint(site: RunningSite, tmp_path: Path) -> None:
    proc = _crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "CoreStats" in _extensions(proc.stderr) and "RemoteControl" not in _extensions(proc.stderr)
    assert not (tmp_path / "jobs").exists() or not any((tmp_path / "jobs").iterdir())


def test_remote_control_can_be_turned_on_for_one_crawl(site: RunningSite, tmp_path: Path) -> None:
    # The switch really is the setting the manual names (docs/11-security.md): on, the extension starts.
    proc = _crawl(site, tmp_path, "-s", "REMOTE_CONTROL_ENABLED=True")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "scrapy.extensions.remote_control.RemoteControl" in _extensions(proc.stderr)


class Served:
    """A `crawler serve` subprocess on a store of its own."""

    def __init__(self, tmp_path: Path, *extra: str) -> None:
        store = tmp_path / "archive.sqlite"
        if not store.exists():
            open_store(str(store)).close()
        self.port = closed_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "crawler", "serve", "--port", str(self.port), "--store", str(store), *extra],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                if self.get("/-/versions.json")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"crawler serve did not start: {self.proc.communicate()[1][-2000:]}")
            time.sleep(0.2)

    def get(self, path: str, host: str | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path, headers={"Host": f"127.0.0.1:{self.port}" if host is None else host})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def sql(self, sql: str) -> dict[str, Any]:
        """The JSON answer to ?sql= (its rows, or ok false and the error)."""
        _, body = self.get("/archive.json?" + urlencode({"sql": sql}))
        answer: dict[str, Any] = json.loads(body)
        return answer

    def peak_kb(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("serve"))
    try:
        yield server
    finally:
        server.stop()


def test_serve_refuses_the_fts3_tokenizer_function(served: Served) -> None:
    # Enabled in Debian's SQLite: its one-argument form shows a library address, its two-argument form overwrites
    # a tokenizer's pointer.
    for sql in (
        "select hex(fts3_tokenizer('simple'))",
        "select fts3_tokenizer('simple', x'0000000000000000')",
        "select FTS3_Tokenizer('porter')",
    ):
        answer = served.sql(sql)
        assert answer["ok"] is False and "not authorized to use function" in answer["error"], answer
    assert served.sql("select count(*) as n from articles")["rows"] == [[0]]


def test_serve_bounds_what_one_query_may_make(served: Served) -> None:
    before = served.peak_kb()
    huge = served.sql("select length(randomblob(1e9))")
    assert huge["ok"] is False and huge["error"] == "string or blob too big", huge
    many = served.sql("select zeroblob(20000000) as b from (select 1 union all select 2 union all select 3)")
    assert many["ok"] is False and "query result larger than" in many["error"], many
    wide = served.get(
        "/archive.json?" + urlencode({"sql": "select " + ", ".join(f"zeroblob(20000000) as c{i}" for i in range(8))})
    )
    assert wide[0] >= 400  # SQLite's memory cap: the query fails, the server stays
    assert served.sql("select 1 + 1 as two")["rows"] == [[2]]
    # The peak resident size of the whole server, with every one of these queries behind it.
    assert served.peak_kb() < 200 * 1024, (before, served.peak_kb())


def test_serve_answers_loopback_names_only(served: Served) -> None:
    # Another name would let a web page whose name resolves to 127.0.0.1 read the archive (DNS rebinding).
    for host in ("evil.example", "evil.example:80", f"127.0.0.1.evil.example:{served.port}", ""):
        status, body = served.get("/", host=host)
        assert status == 400 and b"loopback names only" in body, (host, status)
    for host in (f"127.0.0.1:{served.port}", f"localhost:{served.port}", "LOCALHOST", f"[::1]:{served.port}"):
        assert served.get("/", host=host)[0] == 200, host


def test_serve_answers_the_names_allow_remote_gives(tmp_path: Path) -> None:
    server = Served(tmp_path, "--allow-remote", "archive.lan")
    try:
        assert server.get("/", host="archive.lan:8001")[0] == 200
        assert server.get("/", host=f"localhost:{server.port}")[0] == 200
        assert server.get("/", host="evil.example")[0] == 400
    finally:
        server.stop()
