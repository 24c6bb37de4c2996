"""A new user's Unix and Scrapy habits: output to pipes and devices, logging, misspelt arguments, closed pipes,
absurd numbers, and page text that tries to drive the terminal, each run as the user would hit it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from support.crawlkit import FAST_SETTINGS, make_corpus

from crawler.core.items import Article, content_hash
from crawler.extract import extract
from crawler.store import open_store
from crawler.testing.site import RunningSite, serve_site
from crawler.testing.site.server import closed_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED_DIR = ROOT / "crawler/testing/fixtures/presstv/articles/2018-10-07_kim-pompeo-second-summit"
SEED_URL = json.loads((SEED_DIR / "meta.json").read_text(encoding="utf-8"))["url"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "SCRAPY_SETTINGS_MODULE": "crawler.crawl.settings"}
TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[^\]]+\] (DEBUG|INFO|WARNING|ERROR|CRITICAL): ")
PLAIN_LOG = re.compile(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ")
ESCAPES = "\x1b[2J\x1b]0;owned\x07"


def crawler(
    *args: str, cwd: Path, timeout: float = 180, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        cwd=cwd,
        env=ENV if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


def article(aid: str, title: str, body: str) -> Article:
    return Article(
        article_id=aid,
        url=f"https://www.presstv.ir/Detail/2026/03/10/{aid}/Story",
        source_url="u",
        mirror="www.presstv.ir",
        title=title,
        lead="A lead about the harbour treaty.",
        body=body,
        published="2026-03-10T12:00:00+03:30",
        section="Politics",
        content_hash=content_hash(body),
        word_count=len(body.split()),
        extracted_at="2026-03-10T09:00:00+00:00",
    )


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store of 300 articles about a harbour treaty (enough output to outlast a pipe's buffer)."""
    path = tmp_path / "store.sqlite"
    with open_store(str(path)) as s:
        for n in range(300):
            body = f"Harbour treaty talks, day {n}. " + "The delegations met again in the port city. " * 40
            s.save_article(article(str(780000 + n), f"Harbour treaty, day {n}", body), None, None)
    return path


def crawl_args(site: RunningSite, tmp_path: Path, *more: str) -> list[str]:
    settings = {**FAST_SETTINGS, "CRAWLER_STORE": str(tmp_path / "crawl.sqlite")}
    return ["crawl", "-a", f"mirrors={site.mirrors_arg}", *[f"-s{k}={v}" for k, v in settings.items()], *more]


# ---- 1. output paths -------------------------------------------------------------------------------------


def test_export_into_a_named_pipe_reaches_its_reader_and_the_pipe_stays_a_pipe(store: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "articles.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = crawler("export", "--store", str(store), "-o", str(fifo), cwd=tmp_path)
    reader.join(60)
    assert proc.returncode == 0, proc.stderr
    assert fifo.is_fifo(), "the pipe was replaced by a file"
    assert got and len(got[0].splitlines()) == 300
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob(".*.part"))


def test_export_into_dev_fd_of_the_command_writes_through_the_descriptor(store: Path, tmp_path: Path) -> None:
    # `-o /dev/fd/N` names the command's own descriptor N: a pipe this test reads (never the machine's stdout).
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", "export", "--store", str(store), "-o", f"/dev/fd/{write_end}"],
        cwd=tmp_path,
        env=ENV,
        pass_fds=(write_end,),
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    assert len(data.splitlines()) == 300 and json.loads(data.splitlines()[0])["article_id"]


def test_a_planted_part_symlink_is_never_followed(store: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.part").symlink_to(victim)
    proc = crawler("export", "--store", str(store), "-o", str(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert victim.read_text() == "precious\n"
    assert len(out.read_text(encoding="utf-8").splitlines()) == 300 and not out.is_symlink()
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask()), "the usual mode, not mkstemp's 0600"
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part") and not p.is_symlink()]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_planted_lock_symlink_is_refused_in_one_line(store: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    Path(f"{store}.lock").unlink(missing_ok=True)
    Path(f"{store}.lock").symlink_to(victim)
    proc = crawler("reextract", "--store", str(store), cwd=tmp_path)
    assert proc.returncode == 2
    assert "is a symbolic link" in one_line(proc)
    assert victim.read_text() == "precious\n"


# ---- 2. logging ------------------------------------------------------------------------------------------


def test_a_crawl_logs_each_line_once_and_ends_with_its_summary(tmp_path: Path) -> None:
    with serve_site(make_corpus(4), ["healthy"]) as site:
        proc = crawler(*crawl_args(site, tmp_path), cwd=tmp_path)
        quiet = crawler(*crawl_args(site, tmp_path, "-s", "LOG_LEVEL=WARNING", "-a", "full=1"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert not [line for line in lines if PLAIN_LOG.match(line)], "a second handler printed the records again"
    messages = Counter(line.split(": ", 1)[1] for line in lines if TIMESTAMPED.match(line))
    assert messages["Spider opened"] == 1 and messages["Closing spider (finished)"] == 1
    assert lines[-1].startswith("crawl summary: ") and lines[-1].endswith("; exit status 0")
    assert quiet.returncode == 0, quiet.stderr[-3000:]
    assert not re.search(r" (DEBUG|INFO): ", quiet.stderr), "LOG_LEVEL=WARNING still printed DEBUG/INFO lines"


def test_log_file_in_a_new_folder_leaves_stderr_warnings_and_the_summary(tmp_path: Path) -> None:
    with serve_site(make_corpus(4), ["healthy"]) as site:
        proc = crawler(*crawl_args(site, tmp_path, "-s", "LOG_FILE=new/dir/crawl.log"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    log = (tmp_path / "new/dir/crawl.log").read_text(encoding="utf-8")
    assert "Spider opened" in log and "Run summary: " in log
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("crawl summary: ")
    for line in lines[:-1]:
        assert re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[^\]]+\] (WARNING|ERROR|CRITICAL): ", line), line


# ---- 3. arguments, pipes, numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (["-a", "mirror=MIRRORS"], "unknown spider argument 'mirror': did you mean mirrors?"),
        (["-a", "sinse=2026-01-01"], "unknown spider argument 'sinse': did you mean since?"),
        (["-s", "CRAWLER_STOR=x.sqlite"], "unknown setting 'CRAWLER_STOR': did you mean CRAWLER_STORE?"),
    ],
)
def test_a_misspelt_name_is_one_line_and_status_2_before_any_request(
    given: list[str], expected: str, tmp_path: Path
) -> None:
    with serve_site(make_corpus(0), ["healthy"]) as site:
        args = [g.replace("MIRRORS", site.mirrors_arg) for g in given]
        # No mirrors argument of its own for the misspelt one: the spider would go to the live mirrors.
        base = [] if args[0] == "-a" and args[1].startswith("mirror=") else ["-a", f"mirrors={site.mirrors_arg}"]
        proc = crawler(
            "crawl", *base, *args, "-s", f"CRAWLER_STORE={tmp_path / 's.sqlite'}", "-s", "FEEDS={}", cwd=tmp_path
        )
        assert site.log == [], "nothing was fetched"
    assert proc.returncode == 2
    # One line, and nothing else: not under Scrapy's start-up lines (its versions and settings).
    assert proc.stderr.strip().splitlines() == [f"scrapy crawl: error: {expected}"], proc.stderr
    assert not (tmp_path / "s.sqlite").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["search", "harbour", "--store", "STORE"],
        ["export", "--store", "STORE"],
        ["coverage", "--json", "--store", "STORE"],
        ["extract", str(SEED_DIR / "page.html"), "--url", SEED_URL],
    ],
)
def test_a_pipe_closed_early_ends_quietly(command: list[str], store: Path, tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head -0`: the reader is gone before the first line
    argv = [str(store) if arg == "STORE" else arg for arg in command]
    proc = subprocess.run(
        [sys.executable, "-m", "crawler", *argv],
        cwd=tmp_path,
        env=ENV,
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write_end)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr and "Exception" not in proc.stderr


def test_search_through_head_stops_without_a_traceback(store: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m crawler search harbour --limit 300 --store {store} | head -n 2",
        shell=True,
        cwd=tmp_path,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert len(proc.stdout.splitlines()) == 2 and proc.stderr == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "harbour", "--limit", "1000000000000000000000"],
        ["search", "harbour", "--limit", "10**21"],
        ["runs", "-n", "-5"],
        ["diff", "780001", "--to", "99999999999999999999"],
        ["site", "--port", "70000"],
        ["site", "--generate", "-1"],
    ],
)
def test_absurd_numbers_are_one_line_usage_errors(argv: list[str], store: Path, tmp_path: Path) -> None:
    proc = crawler(*argv, "--store", str(store), cwd=tmp_path)
    assert proc.returncode == 2
    line = one_line(proc)
    assert line.startswith(f"crawler {argv[0]}: error: argument ") and proc.stdout == ""


def test_extract_without_url_says_to_pass_it(tmp_path: Path) -> None:
    html = (SEED_DIR / "page.html").read_text(encoding="utf-8")
    bare = tmp_path / "page.html"
    bare.write_text(re.sub(r'<link[^>]*rel="canonical"[^>]*>|<meta[^>]*og:url[^>]*>', "", html), encoding="utf-8")
    proc = crawler("extract", str(bare), cwd=tmp_path)
    assert proc.returncode in (0, 3)
    assert "pass --url" in proc.stderr.strip().splitlines()[0]
    declared = tmp_path / "declared.html"
    declared.write_text(html.replace("</head>", f'<link rel="canonical" href="{SEED_URL}"></head>'), encoding="utf-8")
    proc = crawler("extract", str(declared), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (
        one_line(_no_stdout(proc)) == f"crawler: warning: no --url given: using the page's own canonical "
        f"address {SEED_URL}"
    )


def _no_stdout(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", proc.stderr)


def test_import_warc_refuses_a_pipe_with_no_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "in.warc"
    os.mkfifo(fifo)
    proc = crawler("import-warc", str(fifo), "--store", str(tmp_path / "s.sqlite"), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "is not a regular file" in one_line(proc)


def test_an_unreachable_wayback_stops_after_a_few_attempts(tmp_path: Path) -> None:
    stats = tmp_path / "stats.json"
    port = closed_port()
    proc = crawler(
        "crawl",
        "-a",
        f"mirrors=http://127.0.0.1:{closed_port()}",
        "-a",
        "sources=wayback",
        "-a",
        "since=2025-01-01",
        "-s",
        f"CRAWLER_WAYBACK_URL=http://127.0.0.1:{port}",
        "-s",
        f"CRAWLER_STORE={tmp_path / 's.sqlite'}",
        "-s",
        "FEEDS={}",
        "-s",
        "LOG_LEVEL=WARNING",
        "-s",
        f"CRAWLER_STATS_FILE={stats}",
        cwd=tmp_path,
        timeout=600,
    )
    assert proc.returncode == 6, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("wayback: the archive could not be reached 6 times")
    # Without the stop every monthly index query went out with its retries (hundreds of attempts).
    assert json.loads(stats.read_text())["downloader/request_count"] <= 40


def test_workers_with_redis_unreachable_is_one_line_and_status_7(tmp_path: Path) -> None:
    proc = crawler(
        "crawl",
        "--workers",
        "2",
        "-a",
        f"mirrors=http://127.0.0.1:{closed_port()}",
        "-s",
        f"CRAWLER_FRONTIER=redis://127.0.0.1:{closed_port()}/0",
        "-s",
        f"CRAWLER_STORE={tmp_path / 's.sqlite'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 7
    assert one_line(proc).startswith("crawler: error: the frontier Redis at redis://127.0.0.1:")


@pytest.mark.parametrize("password", ["se/cretpw", "pa?ss#wordy", "pass words@x"])
def test_workers_with_an_odd_redis_password_are_one_line_without_it(tmp_path: Path, password: str) -> None:
    # Passed in the environment, as the manual says: the check before the workers start must read the URL the
    # way the workers do, never let redis-py's URL parser cut the password up and echo a piece of it.
    proc = crawler(
        "crawl",
        "--workers",
        "2",
        "-a",
        f"mirrors=http://127.0.0.1:{closed_port()}",
        "-s",
        f"CRAWLER_STORE={tmp_path / 's.sqlite'}",
        cwd=tmp_path,
        env={**ENV, "CRAWLER_FRONTIER": f"redis://:{password}@127.0.0.1:{closed_port()}/0"},
    )
    assert proc.returncode == 7, proc.stderr[-2000:]
    line = one_line(proc)
    assert line.startswith("crawler: error: the frontier Redis at redis://:***@127.0.0.1:"), line
    assert "Traceback" not in proc.stderr
    for piece in {password, *(p for p in re.split(r"[/?# @]", password) if len(p) >= 5)}:
        assert piece not in proc.stdout + proc.stderr, piece


# ---- 6. terminal safety ----------------------------------------------------------------------------------


def test_page_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    body = "The harbour treaty was signed. " * 30
    with open_store(str(path)) as s:
        s.save_article(article("780001", f"Harbour {ESCAPES} treaty", body), None, None)
        s.save_article(
            article("780001", f"Harbour {ESCAPES} treaty\x9b31m", body + f" Late {ESCAPES} change."), None, None
        )
    for argv in (["search", "harbour"], ["diff", "780001"], ["search", "harbour", "--json"], ["export"]):
        proc = crawler(*argv, "--store", str(path), cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip()
        for control in ("\x1b", "\x07", "\x9b"):
            assert control not in proc.stdout, (argv, proc.stdout[:500])
    shown = crawler("search", "harbour", "--store", str(path), cwd=tmp_path).stdout
    assert "^[[2J" in shown, "shown, made visible, not dropped"
    exported = json.loads(crawler("export", "--store", str(path), cwd=tmp_path).stdout)
    assert exported["title"].endswith("\x9b31m"), "JSON escapes keep the stored text exactly"


def test_extraction_drops_controls_decoded_from_character_references() -> None:
    html = (SEED_DIR / "page.html").read_text(encoding="utf-8")
    title = re.search(r"<h1[^>]*>(.*?)</h1>", html, flags=re.S)
    assert title
    poisoned = html.replace(title.group(1), f"{title.group(1)} &#27;[2J &#x1b;]0;owned&#7;", 1)
    item = extract(poisoned, SEED_URL)
    assert not re.search(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]", item.title), repr(item.title)
    assert item.title.endswith("[2J ]0;owned")


def test_a_store_in_use_is_the_last_line_of_a_crawl(tmp_path: Path) -> None:
    from crawler.store.lock import RunLock

    store = tmp_path / "crawl.sqlite"
    lock = RunLock(f"{store}.lock")
    lock.acquire("store")
    try:
        with serve_site(make_corpus(2), ["healthy"]) as site:
            proc = crawler(*crawl_args(site, tmp_path), cwd=tmp_path)
    finally:
        lock.release()
    assert proc.returncode == 5, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert "is in use by another process" in lines[-1] and lines[-2].startswith("crawl summary: ")
