"""No password of a store or frontier URL shows anywhere: a crawl on a PostgreSQL store and a Redis frontier, both
behind passwords, at DEBUG level, then `crawler runs`, `crawler export`, failing connections and `crawler crawl
--workers`, are searched for the passwords in every log line, printed line, stats file, exported item, stored
row and worker command line.

Needs the PostgreSQL server `.ci/run` starts (CRAWLER_TEST_POSTGRES_URL) and a redis-server binary (the test
starts a Redis of its own that asks for a password); skipped, saying which is absent, without them.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from support.crawlkit import FAST_SETTINGS, REPO_ROOT, crawl_command, make_corpus
from support.storekit import dump_rows, fresh_schema, postgres_url

from crawler.testing.site import RunningSite, serve_site
from crawler.testing.site.server import closed_port

# Several crawls of up to 300 s each: past the default time limit.
pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(900)]

WRONG = "Wr0ng-Redis-Pa55word"
PIDS_LINE = re.compile(r"^crawler: 2 workers in run \S+ on (\S+): pids (\d+), (\d+)$", re.MULTILINE)


@pytest.fixture(scope="module")
def healthy_site() -> Iterator[RunningSite]:
    with serve_site(make_corpus(8), ["healthy"]) as running:
        yield running


@pytest.fixture(scope="module")
def redis_password() -> str:
    return "Redis-" + secrets.token_hex(10)


@pytest.fixture(scope="module")
def locked_redis(redis_password: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of this module's own on a free loopback port, asking for `redis_password`: its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("Redis is absent: no redis-server on PATH (bash .ci/run installs Debian's)")
    port = closed_port()
    data = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [
            binary,
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
            "--requirepass",
            redis_password,
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port, password=redis_password)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.1)
    try:
        yield f"redis://:{redis_password}@127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=20)


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username or ''}:{password}@{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CRAWLER_STORE", "CRAWLER_FRONTIER")}
    return {**env, **values, "PYTHONUNBUFFERED": "1"}


def _scrapy_crawl(
    site: RunningSite,
    tmp_path: Path,
    name: str,
    store: str,
    frontier: str,
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], str]:
    """`scrapy crawl` at DEBUG level with the store and frontier URLs on its command line (the hardest case for
    the log: Scrapy logs its overridden settings); (process, stats, everything it printed or wrote)."""
    stats_file = tmp_path / f"{name}.stats.json"
    cmd = crawl_command(
        tmp_path / f"{name}.jsonl",
        site.mirrors_arg,
        settings={
            "LOG_LEVEL": "DEBUG",
            "CRAWLER_STORE": store,
            "CRAWLER_FRONTIER": frontier,
            "CRAWLER_FRONTIER_IDLE_SECONDS": 1,
            "CRAWLER_HOST_RATE": 50,
            "CRAWLER_STATS_FILE": str(stats_file),
        },
    )
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, env=_env())
    stats_text = stats_file.read_text(encoding="utf-8") if stats_file.exists() else ""
    items = (tmp_path / f"{name}.jsonl").read_text(encoding="utf-8") if (tmp_path / f"{name}.jsonl").exists() else ""
    return proc, json.loads(stats_text or "{}"), proc.stdout + proc.stderr + stats_text + items


def _crawler(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(**env),
    )


def _errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR: " in line]


def test_a_crawl_its_runs_its_export_and_failing_connections_show_no_password(
    healthy_site: RunningSite, locked_redis: str, redis_password: str, tmp_path: Path
) -> None:
    with fresh_schema(postgres_url()) as store:
        pg_password = urlsplit(store).password
        assert pg_password and len(pg_password) >= 8
        seen: dict[str, str] = {}

        crawled, stats, seen["crawl"] = _scrapy_crawl(healthy_site, tmp_path, "crawl", store, locked_redis)
        assert crawled.returncode == 0, crawled.stderr[-3000:]
        assert "Overridden settings" in crawled.stderr and " DEBUG: " in crawled.stderr
        # Both URLs are named where Scrapy dumps its settings, each with its password masked.
        assert "redis://:***@127.0.0.1:" in crawled.stderr and "postgresql://crawler:***@" in crawled.stderr
        assert stats["scheduler/dequeued/redis"] > 0, "the crawl ran on the Redis frontier"
        assert stats["item_scraped_count"] == len(healthy_site.corpus.article_ids())

        for command in (["runs"], ["runs", "--json"], ["export"], ["export", "--format", "warc", "-o", "out.warc.gz"]):
            done = _crawler(tmp_path, *command, CRAWLER_STORE=store, CRAWLER_FRONTIER=locked_redis)
            assert done.returncode == 0, done.stderr
            seen[" ".join(command[:3])] = done.stdout + done.stderr
        warc = gzip.decompress((tmp_path / "out.warc.gz").read_bytes()).decode("utf-8", "replace")
        assert warc.count("WARC-Type: response") >= len(healthy_site.corpus.article_ids())
        seen["export --format warc"] += warc
        assert seen["export"].count('"article_id": ') == len(healthy_site.corpus.article_ids())
        assert json.loads(seen["runs --json"].splitlines()[0])["status"] == "ok"
        given = _crawler(tmp_path, "runs", "--json", "--store", store)
        assert given.returncode == 0, given.stderr
        seen["runs --store"] = given.stdout + given.stderr

        # A Redis refusing the password, and one that is not there: one ERROR line naming the masked URL, exit 7.
        port = urlsplit(locked_redis).port
        for name, frontier, cause in (
            ("wrong password", _with_password(locked_redis, WRONG), "invalid username-password pair"),
            ("unreachable", locked_redis.replace(f":{port}/", f":{closed_port()}/"), "Connection refused"),
        ):
            failed, failed_stats, seen[name] = _scrapy_crawl(
                healthy_site, tmp_path, name.replace(" ", "-"), store, frontier
            )
            assert failed.returncode == 7, failed.stderr[-3000:]
            [error] = _errors(failed.stderr)
            assert "the frontier Redis at redis://:***@127.0.0.1:" in error and cause in error, error
            assert cause in failed_stats["frontier/error"]
            assert "Traceback" not in failed.stderr

        # The same through `crawler crawl --workers 2`, the URLs in the environment: refused before any worker
        # starts, in one line naming the masked URL.
        workers = _crawler(
            tmp_path,
            "crawl",
            "--workers",
            "2",
            "-a",
            f"mirrors={healthy_site.mirrors_arg}",
            *[f"-s{k}={v}" for k, v in FAST_SETTINGS.items() if k != "CRAWLER_STORE"],
            CRAWLER_STORE=store,
            CRAWLER_FRONTIER=_with_password(locked_redis, WRONG),
        )
        assert workers.returncode == 7, workers.stderr[-3000:]
        [line] = workers.stderr.strip().splitlines()
        assert line.startswith("crawler: error: the frontier Redis at redis://:***@127.0.0.1:"), line
        seen["workers, wrong password"] = workers.stdout + workers.stderr

        seen["runs after failures"] = _crawler(tmp_path, "runs", "--json", CRAWLER_STORE=store).stdout
        # The crawl and the two failed crawls; `--workers` refuses its Redis before any run starts, so records none.
        assert len(seen["runs after failures"].splitlines()) == 3, "the failed crawls are recorded too"
        seen["stored rows"] = "\n".join(dump_rows(store))
    for where, text in seen.items():
        assert text, f"nothing to search in the {where}"
        for password in (pg_password, redis_password, WRONG):
            assert password not in text, f"a password shows in the {where}"


def test_workers_carry_no_password_on_their_command_lines(
    healthy_site: RunningSite, locked_redis: str, redis_password: str, tmp_path: Path
) -> None:
    with fresh_schema(postgres_url()) as store:
        pg_password = urlsplit(store).password
        assert pg_password
        err_file = tmp_path / "stderr.txt"
        settings = {**FAST_SETTINGS, "CRAWLER_FRONTIER_IDLE_SECONDS": 3, "CRAWLER_HOST_RATE": 50}
        settings.pop("CRAWLER_STORE")
        cmd = [
            sys.executable,
            "-m",
            "crawler",
            "crawl",
            "--workers",
            "2",
            "-a",
            f"mirrors={healthy_site.mirrors_arg}",
            *[arg for k, v in settings.items() for arg in ("-s", f"{k}={v}")],
        ]
        # Logs go to a file: a pipe nobody reads while the workers run would fill and stop them.
        with err_file.open("w") as err:
            parent = subprocess.Popen(
                cmd,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=_env(CRAWLER_STORE=store, CRAWLER_FRONTIER=locked_redis),
            )
        try:
            deadline = time.monotonic() + 60
            while (found := PIDS_LINE.search(err_file.read_text())) is None:
                assert parent.poll() is None and time.monotonic() < deadline, err_file.read_text()[-3000:]
                time.sleep(0.05)
            cmdlines = {"crawler crawl": Path(f"/proc/{parent.pid}/cmdline").read_bytes()}
            for pid in found.group(2, 3):
                cmdlines[f"worker {pid}"] = Path(f"/proc/{pid}/cmdline").read_bytes()
                # Each worker really was given both URLs, in its environment (readable by its owner alone).
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                assert f"CRAWLER_FRONTIER={locked_redis}".encode() in environ
                assert f"CRAWLER_STORE={store}".encode() in environ
            stdout, _ = parent.communicate(timeout=240)
        finally:
            if parent.poll() is None:
                parent.kill()
        stderr = err_file.read_text()
        assert parent.returncode == 0, stderr[-3000:]
        assert found.group(1) == re.sub(r":[^:@/]+@", ":***@", locked_redis)
        assert re.search(r"^all 2 workers: (\d+) articles extracted \(\1 new", stdout, re.MULTILINE)
        for name, cmdline in cmdlines.items():
            assert b"scrapy" in cmdline or b"crawler" in cmdline, f"not the {name}'s command line: {cmdline!r}"
            for password in (pg_password, redis_password):
                assert password.encode() not in cmdline, f"a password shows on the {name}'s command line"
        assert b"crawl\0presstv" in cmdlines[f"worker {found.group(2)}"]
        seen = {"printed lines": stdout + stderr, "stored rows": "\n".join(dump_rows(store))}
    for where, text in seen.items():
        for password in (pg_password, redis_password):
            assert password not in text, f"a password shows in the {where}"


# Wrong passwords of odd shape (the server refuses each): spaces, an unencoded '@', '/', '?', '#', '%', ':', quotes.
# Each part is searched for too: a URL parser that cuts a password up shows a part of it as a host or a port.
ODD_PASSWORDS = ["Qx7 Kp9 Zr4", "Qx7@Kp9@Zr4", "Qx7/Kp9?Zr4#Wm2", "Qx7%zzKp9:Zr4", "Qx7'Kp9\\Zr4\"Wm2"]


def _shows(password: str, text: str) -> bool:
    return password in text or any(part in text for part in re.findall(r"[A-Za-z0-9]{3}", password))


def test_odd_passwords_of_a_failing_store_show_nowhere(healthy_site: RunningSite, tmp_path: Path) -> None:
    store = postgres_url()
    parts = urlsplit(store)
    masked = f"postgresql://{parts.username}:***@{parts.hostname}:{parts.port}{parts.path}"
    for number, password in enumerate(ODD_PASSWORDS):
        odd = f"postgresql://{parts.username}:{password}@{parts.hostname}:{parts.port}{parts.path}"
        # `crawler runs`: one line naming the store as meant (host and port as written), the server's refusal.
        done = _crawler(tmp_path, "runs", "--store", odd)
        assert done.returncode == 2 and done.stdout == "", done.stderr
        [line] = done.stderr.splitlines()
        assert f"cannot open store {masked}: " in line and "password authentication failed" in line, line
        # A crawl logging to LOG_FILE at DEBUG: one ERROR line, exit status 5, the password in none of its output.
        log_file = tmp_path / f"crawl-{number}.log"
        cmd = crawl_command(
            tmp_path / f"crawl-{number}.jsonl",
            healthy_site.mirrors_arg,
            settings={"LOG_LEVEL": "DEBUG", "LOG_FILE": str(log_file), "CRAWLER_STORE": odd},
        )
        crawled = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, env=_env())
        log = log_file.read_text(encoding="utf-8")
        assert crawled.returncode == 5, log[-3000:]
        [error] = _errors(log)
        assert f"cannot open store {masked}: " in error and "Traceback" not in log
        # The password in PGPASSWORD instead, the URL without one.
        env_given = _crawler(
            tmp_path, "runs", "--store", store.replace(f":{parts.password}@", "@"), PGPASSWORD=password
        )
        assert env_given.returncode == 2 and "password authentication failed" in env_given.stderr
        for where, text in (
            ("runs", done.stdout + done.stderr),
            ("crawl", crawled.stdout + crawled.stderr + log),
            ("PGPASSWORD", env_given.stdout + env_given.stderr),
        ):
            assert not _shows(password, text), f"{password!r} shows in the {where}"


def test_odd_passwords_of_a_failing_frontier_show_nowhere(
    healthy_site: RunningSite, locked_redis: str, tmp_path: Path
) -> None:
    port = urlsplit(locked_redis).port
    for number, password in enumerate(ODD_PASSWORDS):
        frontier = f"redis://:{password}@127.0.0.1:{port}/0"
        failed, stats, seen = _scrapy_crawl(healthy_site, tmp_path, f"odd-{number}", "", frontier)
        # Redis was reached on the port as written and refused the password: one ERROR line, exit status 7.
        assert failed.returncode == 7, failed.stderr[-3000:]
        [error] = _errors(failed.stderr)
        assert f"the frontier Redis at redis://:***@127.0.0.1:{port}/0 cannot be reached" in error, error
        assert "invalid username-password pair" in error and "Traceback" not in failed.stderr
        assert "invalid username-password pair" in stats["frontier/error"]
        assert not _shows(password, seen), f"{password!r} shows"
