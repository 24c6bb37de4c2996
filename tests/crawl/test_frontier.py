"""Several workers on the shared Redis frontier: `crawler crawl --workers N` against the look-alike site.

Every test here needs a real Redis (CRAWLER_TEST_REDIS_URL, or redis-server for the restart cases) and is
skipped, saying Redis is absent, without one.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from support.crawlkit import FAST_SETTINGS, CrawlResult, crawl, make_corpus
from support.storekit import BACKENDS, new_store_location, rows

from crawler.store import open_store
from crawler.testing.site import RunningSite, serve_site
from crawler.testing.site.server import closed_port

# Worker runs of up to 300 s each, some tests two of them: past the default time limit.
pytestmark = [pytest.mark.integration, pytest.mark.redis, pytest.mark.timeout(900)]

WORKER_LINE = re.compile(r"^worker (\d+) \(pid (\d+), exit (-?\d+)\): (.*)$", re.MULTILINE)
TOTAL_LINE = re.compile(r"^all (\d+) workers: (\d+) articles extracted \((\d+) new, (\d+) updated", re.MULTILINE)
EXTRACTED = re.compile(r"^(\d+) articles extracted \((\d+) new")


def workers_command(
    n: int,
    store: Path | str,
    mirrors: str,
    redis_url: str,
    *,
    rate: float,
    idle: float = 2.0,
    settings: dict[str, Any] | None = None,
) -> list[str]:
    """`crawler crawl --workers N` on the frontier, with the fast test settings and a store."""
    merged = {
        **FAST_SETTINGS,
        "CRAWLER_FRONTIER": redis_url,
        "CRAWLER_FRONTIER_IDLE_SECONDS": idle,
        "CRAWLER_HOST_RATE": rate,
        **(settings or {}),
    }
    merged.pop("CRAWLER_STORE")
    cmd = [
        sys.executable,
        "-m",
        "crawler",
        "crawl",
        "--workers",
        str(n),
        "--store",
        str(store),
        "-a",
        f"mirrors={mirrors}",
    ]
    for key, value in merged.items():
        cmd += ["-s", f"{key}={value}"]
    return cmd


def run_workers(cwd: Path, *args: Any, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        workers_command(*args, **kwargs),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def stored(store: Path) -> tuple[list[str], int]:
    """(article ids, number of versions) in a SQLite store."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        ids = [row[0] for row in db.execute("SELECT article_id FROM articles")]
        versions = int(db.execute("SELECT count(*) FROM versions").fetchone()[0])
    finally:
        db.close()
    return ids, versions


def stored_count(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        return len(stored(store)[0])
    except sqlite3.Error:
        return 0  # not created yet


def worker_new_counts(stdout: str) -> dict[int, int]:
    out = {}
    for number, _pid, _code, text in WORKER_LINE.findall(stdout):
        m = EXTRACTED.match(text)
        out[int(number)] = int(m.group(2)) if m else 0
    return out


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def big_site() -> Iterator[RunningSite]:
    with serve_site(make_corpus(150), ["seized", "refuse", "503", "healthy"]) as running:
        yield running


@pytest.mark.parametrize(
    "backend", [pytest.param(b, marks=[pytest.mark.postgres] if b == "postgresql" else []) for b in BACKENDS]
)
def test_three_workers_store_every_article_once_share_the_work_and_keep_the_host_rate(
    tmp_path: Path, big_site: RunningSite, redis_url: str, backend: str
) -> None:
    rate = 12.0
    with new_store_location(backend, tmp_path) as store:
        proc = run_workers(tmp_path, 3, store, big_site.mirrors_arg, redis_url, rate=rate)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "Traceback" not in proc.stderr
        with open_store(store, readonly=True) as reader:
            ids = [str(r[0]) for r in rows(reader, "SELECT article_id FROM articles")]
            versions = int(rows(reader, "SELECT count(*) FROM versions")[0][0])

    expected = big_site.corpus.article_ids()
    assert set(ids) == expected and len(ids) == len(expected), "every article stored"
    assert versions == len(expected), "each stored once: one version per article"

    per_worker = worker_new_counts(proc.stdout)
    assert sorted(per_worker) == [1, 2, 3]
    # The work was shared. Not "every worker got some": on a loaded machine one worker may start after the
    # others have emptied the queue, which is fine for a user and no sign of a bug.
    assert sum(n > 0 for n in per_worker.values()) >= 2, f"the workers shared the work: {per_worker}"
    total = TOTAL_LINE.search(proc.stdout)
    assert total is not None, proc.stdout
    assert int(total.group(1)) == 3
    assert int(total.group(3)) == sum(per_worker.values()) == len(expected), proc.stdout

    # Measured by the site: no host ever got more than the rate. Arrival stamps can be late by however long a
    # busy machine takes to deliver a send, which can pull a request or two into a window: two requests of
    # jitter per four-second window (a shared rate that was not kept gives three times the rate and more).
    # No lower bound on the peak: how fast a loaded machine goes is not what this test is about; the run's
    # request count shows a window at the full rate was possible at all.
    window = 4.0
    assert len(big_site.arrivals) > 2 * rate * window, "the run was long enough for the rate to be the limit"
    peaks = big_site.peak_rates(window)
    for host, peak in peaks.items():
        assert peak <= rate + 2 / window, f"{host}: {peak:.1f} requests/s over {window}s > {rate}"


def test_a_worker_killed_mid_run_loses_nothing_and_a_rerun_finds_nothing_new(tmp_path: Path, redis_url: str) -> None:
    with serve_site(make_corpus(300), ["healthy"]) as site:
        store = tmp_path / "store.sqlite"
        err = (tmp_path / "stderr.txt").open("w+")
        parent = subprocess.Popen(
            workers_command(3, store, site.mirrors_arg, redis_url, rate=40),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            pids: list[int] = []

            def started() -> bool:
                err.seek(0)
                m = re.search(r"pids (\d+), (\d+), (\d+)", err.read())
                if m:
                    pids[:] = [int(p) for p in m.groups()]
                return bool(m)

            wait_for(started, 60, "the workers to start")
            wait_for(lambda: stored_count(store) >= 60, 120, "60 stored articles")
            os.kill(pids[1], signal.SIGKILL)
            stdout, _ = parent.communicate(timeout=240)
        finally:
            with contextlib.suppress(ProcessLookupError):
                parent.kill()
            err.close()
        assert parent.returncode != 0, "a killed worker makes the crawl's status non-zero"
        assert re.search(r"^worker 2 \(pid \d+, exit -9\): killed by signal 9", stdout, re.MULTILINE), stdout
        stderr = (tmp_path / "stderr.txt").read_text()
        assert "Traceback" not in stderr

        ids, versions = stored(store)
        expected = site.corpus.article_ids()
        assert set(ids) == expected, f"missing after the kill: {sorted(expected - set(ids))[:10]}"
        assert versions == len(expected)

        rerun = run_workers(tmp_path, 2, store, site.mirrors_arg, redis_url, rate=40)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        total = TOTAL_LINE.search(rerun.stdout)
        assert total is not None and int(total.group(3)) == 0, f"the rerun found something new: {rerun.stdout}"
        assert stored(store) == (ids, versions) or sorted(stored(store)[0]) == sorted(ids)


@pytest.mark.parametrize("restart", ["saved", "emptied"])
def test_redis_restarted_mid_run_workers_reconnect_or_stop_with_one_line_and_a_rerun_completes(
    tmp_path: Path, redis_server_binary: str, restart: str
) -> None:
    port = closed_port()
    data = tmp_path / "redis"
    data.mkdir()

    def start_redis() -> subprocess.Popen[bytes]:
        server = subprocess.Popen(
            [
                redis_server_binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(data),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port)
        wait_for(lambda: _pings(client), 20, "redis-server to answer")
        return server

    url = f"redis://127.0.0.1:{port}/0"
    server = start_redis()
    try:
        with serve_site(make_corpus(200), ["healthy"]) as site:
            store = tmp_path / "store.sqlite"
            # The workers' logs go to a file: a pipe nobody reads while they run would fill and stop them.
            log = tmp_path / "stderr.txt"
            with log.open("w") as err:
                parent = subprocess.Popen(
                    workers_command(2, store, site.mirrors_arg, url, rate=25),
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            try:
                wait_for(lambda: stored_count(store) >= 40, 120, "40 stored articles")
                with contextlib.suppress(redis.exceptions.ConnectionError):
                    redis.Redis(port=port).shutdown(save=restart == "saved", nosave=restart == "emptied")
                server.wait(timeout=20)
                time.sleep(1)
                server = start_redis()
                parent.communicate(timeout=240)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    parent.kill()
            stderr = log.read_text()
            assert "Traceback" not in stderr
            expected = site.corpus.article_ids()
            if restart == "saved" and parent.returncode == 0:
                # Reconnected: the run went on and finished the set.
                assert set(stored(store)[0]) == expected
            elif restart == "saved":
                # A restart slower than the client's retries (a busy machine): requests yielded while Redis was
                # down could not be queued; each worker that lost some says so in one line, and the rerun below
                # completes the set.
                assert parent.returncode == 7, stderr[-3000:]
                lines = [line for line in stderr.splitlines() if "ERROR: crawler:" in line]
                assert lines and all("could not be queued" in line or "unreachable" in line for line in lines), lines
            else:
                assert parent.returncode == 7, stderr[-3000:]
                lost = [line for line in stderr.splitlines() if "ERROR: crawler:" in line]
                assert len(lost) == 2 and all("lost crawl run" in line for line in lost), lost
            rerun = run_workers(tmp_path, 2, store, site.mirrors_arg, url, rate=25)
            assert rerun.returncode == 0, rerun.stderr[-3000:]
            ids, versions = stored(store)
            assert set(ids) == expected and versions == len(expected)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


def test_a_frontier_crawl_runs_clean_with_python_warnings_as_errors(
    site: RunningSite, run_crawl: Any, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # scrapy-redis 0.9.1 as published calls Scrapy 2.19 APIs that warn (stats with spider=, Spider.log);
    # the project's subclasses must not.
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    result: CrawlResult = run_crawl(
        site.mirrors_arg,
        "sources=rss",
        settings={
            "CRAWLER_FRONTIER": redis_url,
            "CRAWLER_FRONTIER_IDLE_SECONDS": 1,
            "CRAWLER_HOST_RATE": 50,
            "CRAWLER_STORE": str(tmp_path / "store.sqlite"),
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Warning" not in result.stderr
    assert {item["article_id"] for item in result.items} == site.corpus.article_ids()
    assert result.stats["scheduler/dequeued/redis"] >= len(result.items)


def test_a_second_run_fetches_feeds_again_but_not_stored_articles(
    site: RunningSite, redis_url: str, tmp_path: Path
) -> None:
    settings = {
        "CRAWLER_FRONTIER": redis_url,
        "CRAWLER_FRONTIER_IDLE_SECONDS": 1,
        "CRAWLER_HOST_RATE": 50,
        "CRAWLER_STORE": str(tmp_path / "store.sqlite"),
    }
    first = crawl(tmp_path, site.mirrors_arg, "sources=rss", settings=settings, output_name="first.jsonl")
    assert first.returncode == 0, first.stderr[-3000:]
    feeds_before = sum(1 for _, path, _ in site.log if path.lower().startswith("/rss"))
    second = crawl(tmp_path, site.mirrors_arg, "sources=rss", settings=settings, output_name="second.jsonl")
    assert second.returncode == 0, second.stderr[-3000:]
    feeds_after = sum(1 for _, path, _ in site.log if path.lower().startswith("/rss"))
    assert feeds_after == 2 * feeds_before > 0, "the next run reads the feeds again"
    assert second.items == [] and second.stats["incremental/skipped"] >= len(first.items) > 0
