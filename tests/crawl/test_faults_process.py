"""Fault suite, the process and the disk: a crawl killed with SIGKILL and restarted, a store on a disk that
fills up, a store that turned read-only, and a store whose run lock another process holds.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from support.crawlkit import REPO_ROOT, crawl, crawl_command
from support.faultkit import (
    StoreCheck,
    StoreView,
    one_summary,
    read_only,
    small_disk,
    store_lock_held,
)

from crawler.testing.site import MirrorSpec, SiteCorpus, serve_site

pytestmark = pytest.mark.faults


def _stored_count(store: Path) -> int:
    if not store.exists():
        return 0
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return int(db.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.OperationalError:  # created, no tables yet
        return 0
    finally:
        db.close()


def _descendants(pid: int) -> set[int]:
    """Pids of every live process below `pid` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " ERROR: " in line]


def test_sigkill_mid_run_then_restart_stores_every_article_exactly_once(
    tmp_path: Path, final_stores: list[StoreCheck]
) -> None:
    corpus = SiteCorpus(off_site_sitemap=False)
    corpus.generate(24, start_id=780301)
    store = tmp_path / "store.sqlite"
    # The unattended set-up: a seized mirror, a dead one and a 503 one before the healthy one.
    mirrors = [MirrorSpec("seized"), MirrorSpec("refuse"), MirrorSpec("503"), MirrorSpec("healthy")]
    with serve_site(corpus, mirrors) as site:
        slow = {
            "CRAWLER_STORE": str(store),
            "CONCURRENT_REQUESTS": 1,
            "DOWNLOAD_DELAY": 0.1,
            "CRAWLER_STORE_COMMIT_ITEMS": 2,
        }
        proc = subprocess.Popen(
            crawl_command(tmp_path / "killed.jsonl", site.mirrors_arg, settings=slow),
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and _stored_count(store) < 5 and proc.poll() is None:
                time.sleep(0.05)
            workers = _descendants(proc.pid)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the crawl ended before it could be killed mid-run"
        assert workers, "the crawl had extraction workers when it was killed"
        deadline = time.monotonic() + 10
        while _alive(workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(workers), "extraction workers outlived the killed crawl (orphans)"
        before = set(StoreView(store).article_ids())
        assert 5 <= len(before) < 24

        rerun = crawl(tmp_path, site.mirrors_arg, settings={"CRAWLER_STORE": str(store)}, output_name="rerun.jsonl")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    one_summary(rerun.stderr)
    view = StoreView(store)
    assert view.article_ids() == sorted(corpus.article_ids()), "every article stored, each exactly once"
    assert {i["article_id"] for i in rerun.items} == corpus.article_ids() - before, "stored ones not fetched again"
    assert [r["status"] for r in view.runs()] == ["killed", "ok"]
    assert view.integrity() == "ok"
    final_stores.append(StoreCheck("crawl killed and restarted", store, corpus.article_ids()))


def test_disk_full_stops_the_crawl_with_one_line_and_nothing_half_written(
    tmp_path: Path, final_stores: list[StoreCheck]
) -> None:
    corpus = SiteCorpus(off_site_sitemap=False)
    corpus.generate(30, start_id=780401, pad_to_bytes=60_000)
    disk = tmp_path / "disk"
    with serve_site(corpus, ["healthy"]) as site, small_disk(disk, size_kb=320) as real_disk:
        store = disk / "store.sqlite"
        settings: dict[str, object] = {"CRAWLER_STORE": str(store), "CRAWLER_STORE_COMMIT_ITEMS": 2}
        if not real_disk:
            settings["CRAWLER_STORE_MAX_MB"] = 0.3
        full = crawl(tmp_path, site.mirrors_arg, settings=settings, output_name="full.jsonl")
        assert full.returncode == 5, full.stderr[-3000:]
        errors = _error_lines(full.stderr)
        assert len(errors) == 1 and "disk is full; free space and run again" in errors[0], errors
        assert "Traceback" not in full.stderr
        view = StoreView(store)
        assert view.integrity() == "ok"
        stored = view.article_ids()
        assert 0 < len(stored) < 30 and len(stored) == len(set(stored)), "whole articles only, each once"
        for article_id in stored:
            item = view.item(article_id)
            assert item is not None and item["body"] and item["content_hash"]
        assert [(r["status"], r["exit_status"]) for r in view.runs()] == [("failed", 5)]
        # Space again (the store moved to a roomier disk): the next run completes it, each article once.
        roomy = tmp_path / "roomy"
        roomy.mkdir()
        for part in disk.glob("store.sqlite*"):
            if not part.name.endswith(".lock"):
                shutil.copy2(part, roomy / part.name)
        again = crawl(
            tmp_path,
            site.mirrors_arg,
            settings={"CRAWLER_STORE": str(roomy / "store.sqlite")},
            output_name="again.jsonl",
        )
    assert again.returncode == 0, again.stderr[-3000:]
    view = StoreView(roomy / "store.sqlite")
    assert view.article_ids() == sorted(corpus.article_ids())
    assert {i["article_id"] for i in again.items} == corpus.article_ids() - set(stored)
    final_stores.append(StoreCheck("disk full, then space again", roomy / "store.sqlite", corpus.article_ids()))


def test_read_only_store_stops_at_once_with_one_line_and_stays_as_it_was(
    tmp_path: Path, final_stores: list[StoreCheck]
) -> None:
    corpus = SiteCorpus(off_site_sitemap=False)
    corpus.generate(4, start_id=780501)
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ["healthy"]) as site:
        first = crawl(tmp_path, site.mirrors_arg, settings={"CRAWLER_STORE": str(store)}, output_name="first.jsonl")
        assert first.returncode == 0, first.stderr[-3000:]
        before = store.read_bytes()
        corpus.generate(3, start_id=780511)
        with read_only(store):
            blocked = crawl(
                tmp_path, site.mirrors_arg, settings={"CRAWLER_STORE": str(store)}, output_name="blocked.jsonl"
            )
            assert blocked.returncode == 5, blocked.stderr[-3000:]
            errors = _error_lines(blocked.stderr)
            assert len(errors) == 1 and f"cannot write to store {store}" in errors[0], errors
            assert "read-only" in errors[0]
            assert "Traceback" not in blocked.stderr
            assert blocked.items == [], "nothing exported that could not be stored"
        assert store.read_bytes() == before, "the store file was not touched"
        after = crawl(tmp_path, site.mirrors_arg, settings={"CRAWLER_STORE": str(store)}, output_name="after.jsonl")
    assert after.returncode == 0, after.stderr[-3000:]
    view = StoreView(store)
    assert view.article_ids() == sorted(corpus.article_ids())
    assert {i["article_id"] for i in after.items} == {"780511", "780512", "780513"}
    final_stores.append(StoreCheck("read-only store, then writable", store, corpus.article_ids()))


def test_a_crawl_on_a_store_another_process_holds_stops_with_one_line(
    tmp_path: Path, final_stores: list[StoreCheck]
) -> None:
    corpus = SiteCorpus(off_site_sitemap=False)
    corpus.generate(8, start_id=780601)
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ["healthy"]) as site:
        first = crawl(
            tmp_path, site.mirrors_arg, "sources=rss", settings={"CRAWLER_STORE": str(store)}, output_name="first.jsonl"
        )
        assert first.returncode == 0, first.stderr[-3000:]
        corpus.generate(2, start_id=780611)
        with store_lock_held(store):
            before = store.read_bytes()
            blocked = crawl(
                tmp_path, site.mirrors_arg, settings={"CRAWLER_STORE": str(store)}, output_name="blocked.jsonl"
            )
        assert blocked.returncode == 5, blocked.stderr[-3000:]
        errors = _error_lines(blocked.stderr)
        assert len(errors) == 1 and "is in use by another process" in errors[0], errors
        assert f"pid {os.getpid()}" in errors[0], "the message names the holder"
        assert "Traceback" not in blocked.stderr
        assert blocked.items == [], "nothing exported that could not be stored"
        assert store.read_bytes() == before, "the store the lock holder owns was not touched"
        assert [r["status"] for r in StoreView(store).runs()] == ["ok"], "no run row in a store it did not hold"
        after = crawl(tmp_path, site.mirrors_arg, settings={"CRAWLER_STORE": str(store)}, output_name="after.jsonl")
    assert after.returncode == 0, after.stderr[-3000:]
    assert {i["article_id"] for i in after.items} == {"780611", "780612"}
    final_stores.append(StoreCheck("store held by another process, then free", store, corpus.article_ids()))
