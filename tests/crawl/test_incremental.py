"""Incremental runs on the look-alike site: nothing twice, edits as versions, killed runs lose nothing."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from support.crawlkit import cli
from support.faultkit import store_lock_held
from support.storekit import rows as query

from crawler.store import StoreError, open_store
from crawler.testing.site import FIXTURES_ROOT
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
    "LOG_LEVEL=INFO",
    "-s",
    "FEEDS={}",
]


def crawl_cmd(site: RunningSite, store: Path | str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "presstv",
        "-a",
        f"mirrors={site.mirrors_arg}",
        "-s",
        f"CRAWLER_STORE={store}",
        *FAST,
        *extra,
    ]


def crawl(site: RunningSite, store: Path | str, *extra: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        crawl_cmd(site, store, *extra), cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def stored_versions(store: Path | str) -> dict[str, int]:
    try:
        with open_store(str(store), readonly=True) as reader:
            return dict(query(reader, "SELECT article_id, count(*) FROM versions GROUP BY article_id"))
    except StoreError:  # the crawl has not created the store, or not yet its tables
        return {}


@pytest.fixture
def site() -> Iterator[RunningSite]:
    corpus = SiteCorpus()
    corpus.generate(12)
    with serve_site(corpus, ("healthy",)) as running:
        yield running


def test_second_run_brings_nothing_new_and_exits_zero(site: RunningSite, tmp_path: Path, store_location: str) -> None:
    store = store_location
    first = crawl(site, store, "-O", str(tmp_path / "out1.jsonl"))
    assert first.returncode == 0, first.stderr[-3000:]
    items = lines(tmp_path / "out1.jsonl")
    assert sorted(i["article_id"] for i in items) == sorted(site.corpus.article_ids())
    hits_before = site.mirrors[0].total_hits

    second = crawl(site, store, "-O", str(tmp_path / "out2.jsonl"))
    assert second.returncode == 0, second.stderr[-3000:]  # "nothing new" is healthy, not an alarm
    assert (tmp_path / "out2.jsonl").read_text() == ""
    assert "12 skipped as already stored" in second.stderr
    # Stored articles cost no request: the second run only read feeds, sitemaps and listings.
    article_paths = {a.path.lower() for a in site.corpus.articles()}
    second_run_paths = [p for _, p, _ in site.log[hits_before:]]
    assert not [p for p in second_run_paths if p.lower() in article_paths]
    assert stored_versions(store) == {aid: 1 for aid in site.corpus.article_ids()}


def test_edited_article_comes_back_as_new_version(site: RunningSite, tmp_path: Path, store_location: str) -> None:
    store = store_location
    assert crawl(site, store, "-O", str(tmp_path / "out1.jsonl")).returncode == 0
    newest = site.corpus.articles()[0]
    assert newest.spec is not None
    site.corpus.update_article(
        newest.article_id,
        paragraphs=[*newest.spec.paragraphs, "In a later update, the ministry said the talks would resume next week."],
    )

    # refresh=2d: recent articles are fetched again; only the edited one is exported (as a new version).
    again = crawl(site, store, "-a", "refresh=2d", "-O", str(tmp_path / "out2.jsonl"))
    assert again.returncode == 0, again.stderr[-3000:]
    items = lines(tmp_path / "out2.jsonl")
    assert [i["article_id"] for i in items] == [newest.article_id], again.stderr[-4000:]
    assert "talks would resume next week" in items[0]["body"]
    versions = stored_versions(store)
    assert versions.pop(newest.article_id) == 2
    assert set(versions.values()) == {1}
    with open_store(store, readonly=True) as reader:
        bodies = [
            json.loads(r[0])["body"]
            for r in query(
                reader, "SELECT item FROM versions WHERE article_id = ? ORDER BY version", (newest.article_id,)
            )
        ]
    assert "resume next week" not in bodies[0] and "resume next week" in bodies[1]

    # full=1 requests everything again, and still stores nothing twice.
    full = crawl(site, store, "-a", "full=1", "-O", str(tmp_path / "out3.jsonl"))
    assert full.returncode == 0
    assert lines(tmp_path / "out3.jsonl") == []
    assert "12 unchanged" in full.stderr


def test_headline_and_lead_edits_are_new_versions(site: RunningSite, tmp_path: Path, store_location: str) -> None:
    store = store_location
    assert crawl(site, store, "-O", str(tmp_path / "out1.jsonl")).returncode == 0
    titled, led = site.corpus.articles()[0], site.corpus.articles()[1]
    new_title = "Ministry confirms talks will resume next week"
    site.corpus.update_article(titled.article_id, title=new_title)
    site.corpus.update_article(led.article_id, lead="Officials now say the vote was postponed until Friday.")

    again = crawl(site, store, "-a", "refresh=2d", "-O", str(tmp_path / "out2.jsonl"))
    assert again.returncode == 0, again.stderr[-3000:]
    # The summary counts both edits as updated, and the run's export carries them (and nothing else).
    assert "(0 new, 2 updated," in again.stderr, again.stderr[-3000:]
    items = {i["article_id"]: i for i in lines(tmp_path / "out2.jsonl")}
    assert sorted(items) == sorted([titled.article_id, led.article_id])
    assert items[titled.article_id]["title"] == new_title
    assert items[led.article_id]["lead"] == "Officials now say the vote was postponed until Friday."
    versions = stored_versions(store)
    assert versions[titled.article_id] == 2 and versions[led.article_id] == 2
    with open_store(store, readonly=True) as reader:
        first = json.loads(
            query(reader, "SELECT item FROM versions WHERE article_id = ? AND version = 1", (titled.article_id,))[0][0]
        )
    assert first["title"] == titled.title  # version 1 kept as it was, not rewritten in place

    shown = cli("diff", titled.article_id, "--store", store)
    assert shown.returncode == 0, shown.stderr
    assert "{+Ministry confirms talks will resume next week+}" in shown.stdout, shown.stdout
    assert f"[-{titled.title}-]" in shown.stdout, shown.stdout


def test_an_undated_urls_article_outside_the_window_is_neither_stored_nor_exported(
    tmp_path: Path, store_location: str
) -> None:
    # The 2012 page sits at /detail/222208.html: no date in its URL, and the feeds list it like any other.
    corpus = SiteCorpus.from_fixtures(FIXTURES_ROOT)
    for other in corpus.article_ids(only_articles=False) - {"222208"}:
        corpus.remove_article(other)
    recent = corpus.generate(4)
    old = corpus.get("222208")
    assert old is not None and "/detail/222208.html" in old.path.lower()
    since = (corpus.now - timedelta(days=30)).date().isoformat()
    with serve_site(corpus, ("healthy",)) as running:
        run = crawl(
            running, store_location, "-a", f"since={since}", "-a", "sources=rss", "-O", str(tmp_path / "out.jsonl")
        )
    assert run.returncode == 0, run.stderr[-3000:]
    exported = sorted(i["article_id"] for i in lines(tmp_path / "out.jsonl"))
    assert exported == sorted(a.article_id for a in recent)
    assert set(stored_versions(store_location)) == {a.article_id for a in recent}
    assert "outside the crawl's since=/until= window" in run.stderr


def test_killed_run_rerun_stores_every_article_exactly_once(tmp_path: Path, store_location: str) -> None:
    corpus = SiteCorpus()
    corpus.generate(40)
    store = store_location
    with serve_site(corpus, ("healthy",)) as site:
        # One request at a time, slowly, with small batches: the kill lands mid-run with work committed.
        slow = [
            "-s",
            "CONCURRENT_REQUESTS=1",
            "-s",
            "DOWNLOAD_DELAY=0.15",
            "-s",
            "CRAWLER_STORE_COMMIT_ITEMS=3",
            "-o",
            str(tmp_path / "killed.jsonl"),
        ]
        proc = subprocess.Popen(
            crawl_cmd(site, store, *slow), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if len(stored_versions(store)) >= 6:
                    break
                time.sleep(0.1)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        partial = stored_versions(store)
        assert 6 <= len(partial) < 40

        rerun = crawl(site, store, "-O", str(tmp_path / "rerun.jsonl"))
        assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert stored_versions(store) == {aid: 1 for aid in corpus.article_ids()}
    # What the killed run committed is not fetched again; the rerun exports the rest.
    rerun_ids = {i["article_id"] for i in lines(tmp_path / "rerun.jsonl")}
    assert rerun_ids == corpus.article_ids() - set(partial)
    with open_store(store) as reader:
        assert [r.status for r in reader.runs()] == ["killed", "ok"]
        assert reader.integrity_check() == "ok"


def _article_requests(log: list[tuple[str, str, int | str]], corpus: SiteCorpus) -> list[str]:
    """Article ids whose page the site was asked for, in the order asked (a repeat shows twice)."""
    by_path = {a.path.lower(): a.article_id for a in corpus.articles()}
    return [by_path[p.lower()] for _, p, _ in log if p.lower() in by_path]


def test_jobdir_resume_requests_only_the_pages_the_paused_run_left(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    corpus.generate(30)
    # No store: only JOBDIR can tell the resumed run what the paused one already did.
    jobdir = ["-s", f"JOBDIR={tmp_path / 'job'}", "-s", "CRAWLER_STORE="]
    with serve_site(corpus, ("healthy",)) as site:
        slow = [
            "-s",
            "CONCURRENT_REQUESTS=1",
            "-s",
            "DOWNLOAD_DELAY=0.15",
            "-a",
            "sources=rss",
            "-o",
            str(tmp_path / "paused.jsonl"),
        ]
        cmd = [c for c in crawl_cmd(site, tmp_path / "unused.sqlite", *slow, *jobdir)]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(_article_requests(site.log, corpus)) < 5:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)  # Ctrl-C once: Scrapy stops cleanly and keeps its queue in JOBDIR
        _, err = proc.communicate(timeout=90)
        assert "Received SIGINT" in err, err[-3000:]
        paused_requests = _article_requests(site.log, corpus)
        assert 5 <= len(set(paused_requests)) < 30, "the pause landed mid-run"
        before = len(site.log)

        resumed = crawl(
            site, tmp_path / "unused.sqlite", *jobdir, "-a", "sources=rss", "-O", str(tmp_path / "resumed.jsonl")
        )
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        resumed_requests = _article_requests(site.log[before:], corpus)
    # The resumed run asked for exactly the pages the paused one had not, each once.
    assert sorted(resumed_requests) == sorted(corpus.article_ids() - set(paused_requests))
    exported = [i["article_id"] for i in lines(tmp_path / "paused.jsonl") + lines(tmp_path / "resumed.jsonl")]
    assert sorted(set(exported)) == sorted(corpus.article_ids())
    assert not (tmp_path / "unused.sqlite").exists()


def test_a_crawl_on_a_store_another_process_holds_exits_5_and_leaves_it_alone(
    site: RunningSite, tmp_path: Path
) -> None:
    store = tmp_path / "store.sqlite"
    with store_lock_held(store):
        second = crawl(site, store, "-O", str(tmp_path / "out.jsonl"))
    assert second.returncode == 5
    errors = [line for line in second.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and "is in use by another process" in errors[0]
    assert not [p for _, p, _ in site.log if p.lower() in {a.path.lower() for a in site.corpus.articles()}], (
        "no article fetched for a store that cannot take it"
    )
    assert lines(tmp_path / "out.jsonl") == []
    # Free again: the next crawl stores everything once.
    assert crawl(site, store).returncode == 0
    assert stored_versions(store) == {aid: 1 for aid in site.corpus.article_ids()}


def test_full_store_stops_the_crawl_with_one_line_and_nothing_half_written(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    corpus.generate(30, pad_to_bytes=40_000)
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ("healthy",)) as site:
        # CRAWLER_STORE_MAX_MB makes the store's "disk" fill up after a few articles.
        proc = crawl(
            site,
            store,
            "-s",
            "CRAWLER_STORE_MAX_MB=0.15",
            "-s",
            "CRAWLER_STORE_COMMIT_ITEMS=2",
            "-O",
            str(tmp_path / "out.jsonl"),
        )
        assert proc.returncode == 5
        errors = [line for line in proc.stderr.splitlines() if " ERROR: " in line]
        assert len(errors) == 1 and "disk is full" in errors[0]
        assert "Traceback" not in proc.stderr
        versions = stored_versions(store)
        assert 0 < len(versions) < 30 and set(versions.values()) == {1}
        # Everything stored was exported; the rolled-back batch (at most 2 items here) may have been exported
        # too: the next run fetches and exports those again.
        exported = {i["article_id"] for i in lines(tmp_path / "out.jsonl")}
        assert set(versions) <= exported and len(exported - set(versions)) <= 2
        db = sqlite3.connect(store)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT status, exit_status, new FROM runs").fetchall() == [("failed", 5, len(versions))]
        db.close()

        # Space again: the next run completes the store, each article exactly once.
        assert crawl(site, store).returncode == 0
    assert stored_versions(store) == {aid: 1 for aid in corpus.article_ids()}


def _make_read_only(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)  # root ignores file modes, not this flag
    else:
        path.chmod(0o444)


def _make_writable(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o644)


def test_read_only_store_is_one_line_and_left_untouched(site: RunningSite, tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite"
    assert crawl(site, store, "-a", "sources=rss").returncode == 0
    before = store.read_bytes()
    _make_read_only(store)
    try:
        proc = crawl(site, store, "-a", "full=1", "-O", str(tmp_path / "out.jsonl"))
    finally:
        _make_writable(store)
    assert proc.returncode == 5
    errors = [line for line in proc.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1 and "read-only" in errors[0] and str(store) in errors[0]
    assert "Traceback" not in proc.stderr
    assert store.read_bytes() == before
    assert lines(tmp_path / "out.jsonl") == []
