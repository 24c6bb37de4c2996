"""The commands cron, systemd and people run: `crawler crawl` from any folder, `crawler runs --json`/`-n`,
`crawler schedule --cron` and Ctrl-C stopping a schedule."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.crawlkit import FAST_SETTINGS, cli

from crawler.store.sqlite import SQLiteStore
from crawler.store.when import utc_key
from crawler.testing.site import SiteCorpus, serve_site
from crawler.testing.site.server import closed_port

pytestmark = pytest.mark.integration  # every test here runs the commands in subprocesses

CONSOLE_SCRIPT = Path(sys.executable).with_name("crawler")


def _fast(exclude: tuple[str, ...] = ("FEEDS", "CRAWLER_STORE")) -> list[str]:
    out: list[str] = []
    for key, value in FAST_SETTINGS.items():
        if key not in exclude:
            out += ["-s", f"{key}={value}"]
    return out


def _runs(store: Path) -> list[tuple[str, int, int]]:
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT status, exit_status, new FROM runs ORDER BY id").fetchall()
    finally:
        db.close()


def test_crawler_crawl_runs_from_any_folder_stores_exports_and_reports_its_status(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    corpus.generate(5)
    work = tmp_path / "elsewhere"  # no scrapy.cfg here: the command brings the project settings itself
    work.mkdir()
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ("healthy",)) as site:
        # What a cron line or systemd unit runs: the console script, the default export folder.
        proc = subprocess.run(
            [
                str(CONSOLE_SCRIPT),
                "crawl",
                "-a",
                f"mirrors={site.mirrors_arg}",
                "-a",
                "sources=rss",
                "--store",
                str(store),
                *_fast(),
            ],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    exports = sorted((work / "exports").glob("*.jsonl"))
    assert len(exports) == 1, "one timestamped export file in ./exports"
    exported = [json.loads(line) for line in exports[0].read_text(encoding="utf-8").splitlines()]
    assert {i["article_id"] for i in exported} == corpus.article_ids()
    assert _runs(store) == [("ok", 0, 5)]

    # No mirror answers: the status cron mails about, and the run is on record.
    dead = subprocess.run(
        [
            str(CONSOLE_SCRIPT),
            "crawl",
            "-a",
            f"mirrors=http://127.0.0.1:{closed_port()}",
            "--store",
            str(store),
            *_fast(),
            "-s",
            "FEEDS={}",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert dead.returncode == 1, dead.stderr[-3000:]
    assert _runs(store)[-1][:2] == ("failed", 1)
    # A bad argument: status 2 and one line, before anything is opened.
    bad = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "-a", "since=yesterday", "--store", str(tmp_path / "other.sqlite")],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "since='yesterday' is not a date" in bad.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "other.sqlite").exists()


def _store_with_runs(path: Path, statuses: list[int]) -> None:
    start = datetime(2026, 8, 1, 6, 0, tzinfo=UTC)
    with SQLiteStore(str(path)) as store:
        for n, status in enumerate(statuses):
            store.record_external_run(
                f"uid-{n}", "presstv", status, f"exit status {status}", utc_key(start + timedelta(hours=n))
            )


def test_runs_json_prints_one_object_per_run_and_n_limits_to_the_latest(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    _store_with_runs(store, [0, 1, 4, 0])
    out = cli("runs", "--store", str(store), "--json", "-n", "2")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [(r["id"], r["status"], r["exit_status"]) for r in rows] == [(3, "failed", 4), (4, "ok", 0)]
    assert all(r["uid"] and r["started_at"] < (r["finished_at"] or "~") for r in rows)
    assert "stats" not in rows[0], "the bulky stats stay out of the listing"
    everything = cli("runs", "--store", str(store), "--json")
    assert [json.loads(line)["id"] for line in everything.stdout.splitlines()] == [1, 2, 3, 4]
    table = cli("runs", "--store", str(store), "-n", "1")
    lines = table.stdout.splitlines()
    assert table.returncode == 0 and len(lines) == 2 and lines[1].split()[0] == "4"


def _schedule(store: Path, *args: str) -> subprocess.Popen[str]:
    # Its own process group, as a shell gives a foreground job: Ctrl-C is SIGINT to the whole group.
    return subprocess.Popen(
        [sys.executable, "-m", "crawler", "schedule", "--store", str(store), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(proc: subprocess.Popen[str], text: str, timeout: float = 60) -> str:
    assert proc.stdout is not None
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never printed; got:\n{seen}")


def test_schedule_on_a_cron_line_waits_for_its_time_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    corpus.generate(3)
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ("healthy",)) as site:
        before = datetime.now().astimezone()
        proc = _schedule(store, "--cron", "0 3 * * *", "-a", f"mirrors={site.mirrors_arg}")
        try:
            said = _wait_for(proc, "Ctrl-C stops")
            os.killpg(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        hits = site.mirrors[0].total_hits
    assert proc.returncode == 0, err[-3000:]
    first = re.search(r"on cron '0 3 \* \* \*'; first run (\S+ [0-9:+-]+)", said)
    assert first, said
    when = datetime.strptime(first.group(1), "%Y-%m-%d %H:%M:%S%z")
    assert (when.hour, when.minute, when.second) == (3, 0, 0)
    assert before < when <= before + timedelta(days=1), "the next 03:00, not now"
    assert "stopped after 0 run(s)" in out and "Traceback" not in err
    assert hits == 0, "nothing crawled before the cron time"


def test_ctrl_c_stops_a_schedule_and_its_running_crawl_cleanly(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    corpus.generate(40)
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ("healthy",)) as site:
        proc = _schedule(
            store,
            "--every",
            "1h",
            "-a",
            f"mirrors={site.mirrors_arg}",
            "--",
            *_fast(),
            "-s",
            "FEEDS={}",
            "-s",
            "CONCURRENT_REQUESTS=1",
            "-s",
            "DOWNLOAD_DELAY=0.2",
            "-s",
            "CRAWLER_STORE_COMMIT_ITEMS=2",
        )
        try:
            _wait_for(proc, "run 1 started")
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and _stored(store) < 4:
                time.sleep(0.1)
            os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C: the scheduler's group only
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "stopping the running crawl" in out and "stopped after 1 run(s)" in out
    [(status, _, new)] = _runs(store)
    assert status == "stopped" and 4 <= new < 40
    assert _stored(store) == new, "every article the run counted is stored"


def _stored(store: Path) -> int:
    if not store.exists():
        return 0
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()
