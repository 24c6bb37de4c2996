"""Real crawls of the look-alike site into the PostgreSQL store: the export matches a SQLite store's crawl of
the same site line for line, and no log line, printed line or stored row of a crawl shows the store's password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from support.crawlkit import REPO_ROOT, cli, crawl, crawl_command, make_corpus
from support.storekit import dump_rows, fresh_schema, postgres_url

from crawler.testing.site import RunningSite, serve_site

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture(scope="module")
def healthy_site() -> Iterator[RunningSite]:
    with serve_site(make_corpus(8), ["seized", "healthy"]) as running:
        yield running


def _export_lines(store: str) -> list[dict[str, object]]:
    result = cli("export", "--store", store)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    for line in lines:
        line.pop("extracted_at")
    return lines


def test_export_from_postgresql_equals_export_from_sqlite(healthy_site: RunningSite, tmp_path: Path) -> None:
    sqlite_store = str(tmp_path / "store.sqlite")
    with fresh_schema(postgres_url()) as pg:
        for store in (sqlite_store, pg):
            result = crawl(
                tmp_path,
                healthy_site.mirrors_arg,
                settings={"CRAWLER_STORE": store},
                output_name=f"out-{len(store)}.jsonl",
            )
            assert result.returncode == 0, result.stderr[-3000:]
            assert result.items, "the crawl stored articles"
        from_pg = _export_lines(pg)
        runs = cli("runs", "--json", "--store", pg)
    from_sqlite = _export_lines(sqlite_store)
    assert len(from_pg) == len(healthy_site.corpus.article_ids())
    assert from_pg == from_sqlite
    [run] = [json.loads(line) for line in runs.stdout.splitlines()]
    assert run["status"] == "ok" and run["new"] == len(from_pg)


def _crawl_env(store: str) -> dict[str, str]:
    return {**os.environ, "CRAWLER_STORE": store, "PYTHONUNBUFFERED": "1"}


def _crawl_with_store_from_env(
    site: RunningSite, tmp_path: Path, store: str, name: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`scrapy crawl` at DEBUG level with the store given only in the environment (as `ps` never shows it)."""
    cmd = crawl_command(
        tmp_path / f"{name}.jsonl",
        site.mirrors_arg,
        settings={
            "LOG_LEVEL": "DEBUG",
            "CRAWLER_STATS_FILE": str(tmp_path / f"{name}.stats.json"),
            "LOG_FILE": str(tmp_path / f"{name}.log"),
        },
    )
    without_store: list[str] = []
    args = iter(cmd)
    for arg in args:
        if arg == "-s":
            value = next(args)
            if not value.startswith("CRAWLER_STORE="):
                without_store += [arg, value]
        else:
            without_store.append(arg)
    return subprocess.run(
        [*without_store, *extra], cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, env=_crawl_env(store)
    )


def test_no_password_in_any_log_line_printed_line_or_stored_row(healthy_site: RunningSite, tmp_path: Path) -> None:
    with fresh_schema(postgres_url()) as pg:
        password = urlsplit(pg).password
        assert password and len(password) >= 8
        seen: dict[str, str] = {}
        crawled = _crawl_with_store_from_env(healthy_site, tmp_path, pg, "crawl")
        assert crawled.returncode == 0, crawled.stderr[-3000:]
        log = (tmp_path / "crawl.log").read_text(encoding="utf-8")
        assert "Store postgresql://crawler:***@" in log, "the store is named in the log, masked"
        seen["crawl log"] = log + crawled.stderr + crawled.stdout
        seen["stats"] = (tmp_path / "crawl.stats.json").read_text(encoding="utf-8")
        seen["items"] = (tmp_path / "crawl.jsonl").read_text(encoding="utf-8")
        for command in (["runs"], ["runs", "--json"], ["export"], ["runs", "--store", pg]):
            env_store = subprocess.run(
                [sys.executable, "-m", "crawler", *command],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                env=_crawl_env(pg),
            )
            assert env_store.returncode == 0, env_store.stderr
            seen[" ".join(command[:2])] = env_store.stdout + env_store.stderr
        assert json.loads(seen["runs --json"].splitlines()[-1])["status"] == "ok"
        seen["stored rows"] = "\n".join(dump_rows(pg))

        # A store the crawl cannot open (wrong password): one ERROR line, exit 5, the password masked.
        parts = urlsplit(pg)
        wrong = urlunsplit(
            (parts.scheme, parts.netloc.replace(f":{password}@", ":Wr0ng-Pa55word@"), parts.path, parts.query, "")
        )
        failed = _crawl_with_store_from_env(healthy_site, tmp_path, wrong, "failed")
        assert failed.returncode == 5, failed.stderr[-3000:]
        errors = [
            line for line in (tmp_path / "failed.log").read_text(encoding="utf-8").splitlines() if "ERROR" in line
        ]
        assert len(errors) == 1 and "cannot open store postgresql://crawler:***@" in errors[0], errors
        seen["failed crawl"] = (tmp_path / "failed.log").read_text(encoding="utf-8") + failed.stderr
    for where, text in seen.items():
        assert password not in text, f"the password shows in the {where}"
        assert "Wr0ng-Pa55word" not in text, f"the wrong password shows in the {where}"
