"""`crawler schedule` and `crawler runs`: runs on an interval never overlap, stop cleanly, land in the store."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from crawler.store.sqlite import RunLock
from crawler.testing.site.corpus import SiteCorpus
from crawler.testing.site.server import RunningSite, serve_site

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FAST = [
    "-s",
    "AUTOTHROTTLE_ENABLED=0",
    "-s",
    "DOWNLOAD_DELAY=0",
    "-s",
    "CRAWLER_EXTRACT_WORKERS=1",
    "-s",
    "FEEDS={}",
    "-s",
    "LOG_LEVEL=INFO",
]


@pytest.fixture
def site() -> Iterator[RunningSite]:
    corpus = SiteCorpus()
    corpus.generate(15)
    with serve_site(corpus, ("healthy",)) as running:
        yield running


def schedule_cmd(site: RunningSite, store: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler",
        "schedule",
        "--store",
        str(store),
        "-a",
        f"mirrors={site.mirrors_arg}",
        *extra,
        "--",
        *FAST,
    ]


def runs(store: Path) -> list[tuple]:
    db = sqlite3.connect(store)
    try:
        return db.execute(
            "SELECT id, uid, started_at, finished_at, status, exit_status, new, skipped, pid FROM runs ORDER BY id"
        ).fetchall()
    except sqlite3.OperationalError:  # the crawl has created the file but not yet its tables
        return []
    finally:
        db.close()


def test_two_runs_on_a_short_interval_never_overlap(site: RunningSite, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    proc = subprocess.run(
        schedule_cmd(site, store, "--every", "2s", "--max-runs", "2"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = runs(store)
    assert len(rows) == 2
    (_, uid1, start1, end1, status1, exit1, new1, _, _), (_, uid2, start2, end2, status2, exit2, new2, skip2, _) = rows
    assert uid1 and uid2 and uid1 != uid2  # the scheduler found each run it started
    assert (status1, exit1, status2, exit2) == ("ok", 0, "ok", 0)
    times = [datetime.fromisoformat(t) for t in (start1, end1, start2, end2)]
    assert times == sorted(times)  # one after the other: never two at once
    assert (new1, new2, skip2) == (15, 0, 15)
    assert "run 1 finished" in proc.stdout and "run 2 finished" in proc.stdout

    table = subprocess.run(
        [sys.executable, "-m", "crawler", "runs", "--store", str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert table.returncode == 0
    header, first, second = table.stdout.splitlines()[:3]
    assert header.split()[:4] == ["run", "start", "(UTC)", "duration"] and "mirrors" in header
    assert first.split()[4] == "15" and second.split()[4] == "0" and second.split()[6] == "15"
    assert first.split()[-1] == "ok" and site.mirrors[0].netloc in first


def test_sigterm_stops_the_running_crawl_cleanly(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    corpus.generate(40)
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ("healthy",)) as site:
        slow = ["-s", "CONCURRENT_REQUESTS=1", "-s", "DOWNLOAD_DELAY=0.2", "-s", "CRAWLER_STORE_COMMIT_ITEMS=2"]
        proc = subprocess.Popen(
            [*schedule_cmd(site, store, "--every", "1h"), *slow],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if store.exists() and runs(store):
                db = sqlite3.connect(store)
                stored = db.execute("SELECT count(*) FROM articles").fetchone()[0]
                db.close()
                if stored >= 4:
                    break
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0
    assert "stopping the running crawl" in out and "stopped after 1 run(s)" in out
    (row,) = runs(store)
    assert row[4] == "stopped" and row[3] is not None
    crawl_pid = row[8]
    with pytest.raises(ProcessLookupError):
        os.kill(crawl_pid, 0)
    db = sqlite3.connect(store)
    assert db.execute("SELECT count(*), count(DISTINCT article_id) FROM versions").fetchone()[0] == row[6]
    assert 4 <= row[6] < 40


def test_a_run_is_skipped_while_another_scheduler_runs(site: RunningSite, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    other = RunLock(f"{store}.schedule.lock")
    other.acquire("schedule lock")  # another scheduler's run in progress
    try:
        proc = subprocess.run(
            schedule_cmd(site, store, "--every", "1s", "--max-runs", "1"),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        other.release()
    assert proc.returncode == 0
    assert "run 1 skipped" in proc.stdout and f"pid {os.getpid()}" in proc.stdout
    assert not store.exists() or runs(store) == []
    assert site.mirrors[0].total_hits == 0


def test_bad_schedule_arguments_are_one_line(tmp_path: Path) -> None:
    for args, text in ((["--cron", "every half hour"], "--cron"), (["--every", "soon"], "--every")):
        proc = subprocess.run(
            [sys.executable, "-m", "crawler", "schedule", *args, "--store", str(tmp_path / "s.sqlite")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2 and text in proc.stderr and proc.stderr.count("\n") == 1


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc, as `ps` does)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def test_a_store_password_given_with_s_is_on_no_crawl_command_line(site: RunningSite, tmp_path: Path) -> None:
    from crawler.testing.site.server import closed_port

    password = "S3cret-Sched-pw"
    store = f"postgresql://crawler:{password}@127.0.0.1:{closed_port()}/crawler"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler",
            "schedule",
            "--every",
            "2s",
            "-s",
            f"CRAWLER_STORE={store}",
            "-a",
            f"mirrors={site.mirrors_arg}",
            "--",
            *FAST,
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    cmdline = environ = b""
    try:
        # Each run's crawl ends soon (its store cannot be reached): look until one is caught running.
        deadline = time.monotonic() + 90
        while not cmdline and time.monotonic() < deadline:
            for pid in _children(proc.pid):
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                    environ = Path(f"/proc/{pid}/environ").read_bytes()
                except OSError:
                    cmdline = b""
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=90)
    assert b"crawl\0presstv" in cmdline, out
    assert password.encode() not in cmdline and b"CRAWLER_STORE" not in cmdline
    # The crawl was given the store all the same, in its environment (which only its owner can read).
    assert f"CRAWLER_STORE={store}".encode() in environ.split(b"\0")
    assert password not in out
