"""`crawler demo` crawls the look-alike site behind four mirrors and reports what happened."""

from __future__ import annotations

import json
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support.crawlkit import crawl
from support.storekit import rows as query

from crawler.core.items import ARTICLE_FIELDS
from crawler.core.status import EXIT_STATUS_MEANINGS, ExitStatus
from crawler.store import open_store
from crawler.testing.site import FIXTURES_ROOT, SiteCorpus, serve_site

pytestmark = pytest.mark.integration


def test_demo_writes_items_and_a_summary(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--generate", "5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = (tmp_path / "demo-items.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    expected = SiteCorpus.from_fixtures(FIXTURES_ROOT)
    expected.generate(5)
    assert sorted(i["article_id"] for i in items) == sorted(expected.article_ids())
    assert all(list(i) == list(ARTICLE_FIELDS) for i in items)
    out = proc.stdout
    assert f"{len(items)} articles written to demo-items.jsonl" in out
    assert "Mirrors used: healthy" in out
    assert "seizure notices" in out and "connections refused" in out and "HTTP 503" in out
    assert "Refused as non-articles: " in out and "Refused as non-articles: 0" not in out
    assert "Boilerplate lines removed by the last guard: " in out
    assert (tmp_path / "data" / "demo.sqlite").is_file()

    # A second run starts from a fresh demo store, so it finds the same articles again.
    again = subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--generate", "5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert len((tmp_path / "demo-items.jsonl").read_text(encoding="utf-8").splitlines()) == len(items)


def _crawler_argv(line: str) -> list[str]:
    """A printed `crawler ...` line (comment dropped) as the command to run with this interpreter."""
    words = shlex.split(line.split("#", 1)[0])
    assert words[0] == "crawler", line
    return [sys.executable, "-m", "crawler", *words[1:]]


def test_demo_says_what_to_try_next_and_those_commands_read_its_store(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", "demo", "--generate", "5"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    tips = [line.strip() for line in proc.stdout.split("Try next", 1)[1].splitlines()[1:] if line.strip()]
    assert any(t.startswith("crawler site") for t in tips) and any(t.startswith("crawler serve") for t in tips)
    ran = 0
    for tip in tips:
        argv = _crawler_argv(tip)
        if argv[3] in ("serve", "site", "crawl"):  # they run until stopped, or need the network
            continue
        assert "--store" in argv and "data/demo.sqlite" in argv, tip
        out = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, (tip, out.stderr)
        assert out.stdout.strip(), tip  # each finds something in the demo's store
        ran += 1
    assert ran >= 3
    searched = subprocess.run(
        _crawler_argv("crawler search sanctions --json --store data/demo.sqlite"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert [json.loads(line)["article_id"] for line in searched.stdout.splitlines()]


def test_crawl_help_lists_every_exit_status() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", "crawl", "--help"], capture_output=True, text=True, timeout=60
    )
    text = " ".join(proc.stdout.split())
    for status in ExitStatus:
        assert f" {int(status)} {EXIT_STATUS_MEANINGS[status]}" in text, status


def test_a_closespider_item_limit_is_recorded_as_ok(tmp_path: Path) -> None:
    corpus = SiteCorpus()
    corpus.generate(12)
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ("healthy",)) as site:
        result = crawl(tmp_path, site.mirrors_arg, settings={"CRAWLER_STORE": str(store), "CLOSESPIDER_ITEMCOUNT": 5})
    assert result.returncode == 0, result.stderr[-3000:]
    with open_store(str(store), readonly=True) as reader:
        (run,) = reader.runs()
    assert (run.status, run.exit_status) == ("ok", 0)
    assert run.stats.get("finish_reason") == "closespider_itemcount"


def _start_site(folder: Path, generate: int) -> tuple[subprocess.Popen[str], list[str]]:
    """`crawler site` started in `folder`, and the lines it printed up to its "Ctrl-C" line (stripped)."""
    server = subprocess.Popen(
        [sys.executable, "-m", "crawler", "site", "--generate", str(generate)],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    printed: list[str] = []
    for line in server.stdout:
        printed.append(line.strip())
        if line.startswith("Ctrl-C"):
            break
    return server, printed


def test_crawler_site_stops_cleanly_on_sigterm_as_a_service_manager_sends_it(tmp_path: Path) -> None:
    # `kill`, systemd and docker stop send SIGTERM: both servers stop and the command says so, exit status 0.
    server, printed = _start_site(tmp_path, 1)
    try:
        assert any(line.startswith("crawler crawl") for line in printed), printed
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "crawler site: stopped" in err


def test_crawler_site_serves_the_site_and_a_wayback_stand_in_to_crawl(tmp_path: Path) -> None:
    server, printed = _start_site(tmp_path, 3)
    try:
        commands = [_crawler_argv(line) for line in printed if line.startswith("crawler crawl")]
        assert len(commands) == 2, printed
        for argv in reversed(commands):  # the archive first: the live crawl would store the 2012 page too
            run = subprocess.run(
                [*argv, "-s", "LOG_LEVEL=INFO", "-s", "CRAWLER_EXTRACT_WORKERS=1"],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 0, run.stderr[-3000:]
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    with open_store(str(tmp_path / "data" / "site.sqlite"), readonly=True) as reader:
        origins = dict(
            query(
                reader, "SELECT article_id, max(json_extract(item, '$.fetched_from')) FROM versions GROUP BY article_id"
            )
        )
    # The archive crawl stored the 2012 page from its Wayback capture; the live crawl the site's articles.
    assert origins["222208"] == "wayback"
    assert sum(1 for origin in origins.values() if origin == "live") >= 3
