"""The PostgreSQL store on the real server: writers at once give one article and at most one new version each,
a deadlock costs a replay and nothing else, no run lock, killed runs found, schema versions, and one-line errors
with the password masked, whether it came in the URL, PGPASSWORD or a pgpass file."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from support.crawlkit import cli
from support.storekit import fresh_schema, postgres_url
from support.storekit import rows as query

from crawler.store import ExportFilter, Page, StoreError, open_store
from crawler.store.postgres import MIGRATIONS, SCHEMA_VERSION

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[str]:
    """A store URL (password included) in a schema of its own."""
    with fresh_schema(postgres_url()) as url:
        yield url


def _password(url: str) -> str:
    password = urlsplit(url).password
    assert password, "the test server's URL carries a password"
    return password


def _article(article_id: str, text: str = "first") -> dict[str, Any]:
    body = f"Body of article {article_id}, {text} text. " * 20
    return {
        "article_id": article_id,
        "url": f"https://www.presstv.ir/Detail/2026/01/02/{article_id}/x",
        "title": f"Title {article_id}",
        "body": body,
        "content_hash": f"{article_id}-{text}",
        "published": "2026-01-02T10:00:00+03:30",
        "section": "Politics",
    }


WRITER = textwrap.dedent("""
    import json, os, sys, time
    from crawler.store import open_store
    url, items_file, go_file = sys.argv[1:4]
    items = json.load(open(items_file))
    store = open_store(url, lock=True, commit_items=7, commit_seconds=3600)
    run = store.begin_run("presstv", {})
    print("ready", flush=True)
    while not os.path.exists(go_file):
        time.sleep(0.002)
    outcomes = [store.save_article(item, None, run) for item in items]
    store.close()
    print(json.dumps({"run": run, "outcomes": outcomes}), flush=True)
""")


def _race(url: str, tmp_path: Path, items: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Two writer processes store `items` at the same moment, one in the opposite order (so their row locks
    cross and the server has deadlocks to break); returns what each reported."""
    go = tmp_path / f"{name}.go"
    procs = []
    for order, suffix in ((items, "a"), (items[::-1], "b")):
        data = tmp_path / f"{name}-{suffix}.json"
        data.write_text(json.dumps(order))
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", WRITER, url, str(data), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    go.write_text("go")
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


@pytest.mark.integration
def test_two_processes_storing_the_same_articles_at_once_give_one_article_and_one_new_version(
    pg: str, tmp_path: Path
) -> None:
    ids = [str(780000 + i) for i in range(40)]
    first = _race(pg, tmp_path, [_article(i) for i in ids], "new")
    with open_store(pg) as store:
        assert query(store, "SELECT count(*) FROM articles")[0][0] == len(ids)
        assert query(store, "SELECT count(*), max(version) FROM versions")[0] == (len(ids), 1)
        # Who stored each article first is exact: the two runs together stored each id once.
        assert sum(store.count_first_stored(r["run"]) for r in first) == len(ids)
        assert store.integrity_check() == "ok"

    # Press TV edits every story; both writers fetch the edit at once: one new version each, not two.
    _race(pg, tmp_path, [_article(i, "edited") for i in ids], "edit")
    with open_store(pg) as store:
        versions = query(store, "SELECT article_id, max(version), count(*) FROM versions GROUP BY article_id")
        assert sorted(versions) == [(i, 2, 2) for i in ids]
        exported = list(store.iter_export(ExportFilter()))
    assert [a["article_id"] for a in exported] == ids
    assert all(a["content_hash"].endswith("-edited") for a in exported)


def test_a_deadlock_between_two_writers_replays_the_victims_batch_and_loses_nothing(
    pg: str, caplog: pytest.LogCaptureFixture
) -> None:
    a = open_store(pg, commit_items=100, commit_seconds=3600)
    b = open_store(pg, commit_items=100, commit_seconds=3600)
    errors: list[BaseException] = []
    try:
        assert a.save_article(_article("781001"), None, None) == "new"  # a holds 781001 until it commits
        assert b.save_article(_article("781002"), None, None) == "new"  # b holds 781002

        def a_then_commit() -> None:
            try:
                a.save_article(_article("781002"), None, None)  # waits for b
                a.commit()
            except BaseException as exc:  # reported below: a thread's exception would be lost
                errors.append(exc)

        with caplog.at_level(logging.INFO, logger="crawler.store.sql"):
            thread = threading.Thread(target=a_then_commit)
            thread.start()
            time.sleep(0.3)
            b.save_article(_article("781001"), None, None)  # waits for a: each waits for the other
            b.commit()
            thread.join(60)
        assert not thread.is_alive() and not errors, errors
        assert any("written again" in r.getMessage() and "deadlock" in r.getMessage() for r in caplog.records)
    finally:
        a.close()
        b.close()
    with open_store(pg, readonly=True) as store:
        assert query(store, "SELECT article_id, version FROM versions ORDER BY article_id") == [
            ("781001", 1),
            ("781002", 1),
        ]


@pytest.mark.integration
def test_no_run_lock_and_a_killed_crawl_is_found_by_the_next(pg: str) -> None:
    first = open_store(pg, lock=True)
    second = open_store(pg, lock=True)  # a second crawl on the same store starts: nothing to wait for
    try:
        run1 = first.begin_run("presstv", {})
        code = (
            f"from crawler.store import open_store; s = open_store({pg!r}, lock=True); "
            "print(s.begin_run('presstv', {}), flush=True); import time; time.sleep(60)"
        )
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        killed = int(proc.stdout.readline())
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        time.sleep(0.2)  # the server notices the dropped connection
        run3 = second.begin_run("presstv", {})
        status = {r.id: r.status for r in second.runs()}
        assert status == {run1: "running", killed: "killed", run3: "running"}
    finally:
        first.close()
        second.close()


def test_schema_is_versioned_upgraded_in_place_and_newer_refused(pg: str) -> None:
    admin = psycopg.connect(pg, autocommit=True)
    try:
        with pytest.raises(StoreError, match="no store at"):
            open_store(pg, readonly=True)
        # A store made by the first schema, holding one page, as an older crawler left it.
        admin.execute(MIGRATIONS[0])
        admin.execute("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1)")
        admin.execute(
            "INSERT INTO pages (article_id, url, status, encoding, fetched_at, html_sha256, size, html,"
            " outcome) VALUES ('770001', 'https://www.presstv.ir/x', 200, 'windows-1252',"
            " '2020-01-01T00:00:00', 'x', 3, %s, 'article')",
            (zlib.compress(b"<p>"),),
        )
        with pytest.raises(StoreError, match="needs a schema upgrade"):
            open_store(pg, readonly=True)
        with open_store(pg) as store:
            pages = list(store.iter_pages(ExportFilter()))
        assert admin.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert pages[0].html == b"<p>"
        assert pages[0].headers_minimal and pages[0].headers == [("Content-Type", "text/html; charset=windows-1252")]
        admin.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
        with pytest.raises(StoreError, match="newer than this crawler"):
            open_store(pg)
    finally:
        admin.close()


def _replace_netloc(
    url: str,
    *,
    password: str | None = None,
    port: int | None = None,
    path: str | None = None,
    keep_password: bool = True,
) -> str:
    parts = urlsplit(url)
    user = parts.username or ""
    secret = password if password is not None else (parts.password if keep_password else None)
    auth = f"{user}:{secret}@" if secret else f"{user}@"
    netloc = f"{auth}{parts.hostname}:{port if port is not None else parts.port}"
    return urlunsplit((parts.scheme, netloc, path if path is not None else parts.path, parts.query, ""))


@pytest.mark.parametrize("case", ["unreachable", "wrong password", "missing database"])
def test_unusable_server_is_one_line_with_the_password_masked(pg: str, case: str) -> None:
    secret = "Sup3r-Secret-9"
    url = {
        "unreachable": _replace_netloc(pg, password=secret, port=1),
        "wrong password": _replace_netloc(pg, password=secret),
        "missing database": _replace_netloc(pg, password=secret, path="/no_such_database"),
    }[case]
    real = _password(pg)
    with pytest.raises(StoreError) as err:
        open_store(url)
    message = str(err.value)
    assert "\n" not in message and secret not in message and real not in message
    assert ":***@" in message and "cannot open store" in message
    # The same from a command: one line, exit status 2 as for every store a command cannot open.
    for command in (["runs", "--store", url], ["export", "--store", url]):
        result = cli(*command)
        assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
        assert secret not in result.stderr and ":***@" in result.stderr


def test_password_from_pgpassword_or_a_pgpass_file(pg: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    password = _password(pg)
    bare = _replace_netloc(pg, keep_password=False)
    assert password not in bare
    monkeypatch.setenv("PGPASSWORD", password)
    with open_store(bare) as store:
        store.save_article(_article("782001"), Page(url="https://www.presstv.ir/x", html=b"<html>x</html>"), None)
    monkeypatch.delenv("PGPASSWORD")
    parts = urlsplit(pg)
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(f"{parts.hostname}:{parts.port}:*:{parts.username}:{password}\n")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    with open_store(bare.replace("postgresql://", "postgres://", 1), readonly=True) as store:
        assert store.lookup("782001") is not None
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "none"))
    with pytest.raises(StoreError, match="cannot open store"):
        open_store(bare)


def test_text_with_nul_is_stored_and_exported(pg: str) -> None:
    item = dict(_article("783001"), title="A title\x00with a NUL")
    with open_store(pg) as store:
        assert store.save_article(item, None, None) == "new"
        store.record_failure(None, "refused", "https://www.presstv.ir/y", None, "odd\x00reason")
    with open_store(pg, readonly=True) as store:
        assert [a["title"] for a in store.iter_export(ExportFilter())] == ["A title\x00with a NUL"]


def test_size_cap_is_refused_for_a_server_store(pg: str) -> None:
    with pytest.raises(StoreError, match="SQLite stores only"):
        open_store(pg, max_bytes=1_000_000)


def test_stores_in_two_schemas_do_not_see_each_other(pg: str) -> None:
    with fresh_schema(postgres_url()) as other:
        with open_store(pg) as store:
            store.save_article(_article("784001"), None, None)
        with open_store(other) as store:
            assert store.lookup("784001") is None and store.count_export(ExportFilter()) == 0


def test_a_dropped_connection_mid_batch_is_one_line_and_keeps_what_was_committed(pg: str) -> None:
    store = open_store(pg, commit_items=100, commit_seconds=3600)
    admin = psycopg.connect(pg, autocommit=True)
    try:
        store.save_article(_article("785001"), None, None)
        store.commit()
        store.save_article(_article("785002"), None, None)  # in the open batch
        [(backend,)] = query(store, "SELECT pg_backend_pid()")
        admin.execute("SELECT pg_terminate_backend(%s)", (backend,))  # as a server restart does
        with pytest.raises(StoreError) as err:
            store.save_article(_article("785003"), None, None)
        message = str(err.value)
        assert "lost the connection to store postgresql://" in message and ":***@" in message
        assert "\n" not in message and _password(pg) not in message
    finally:
        with contextlib.suppress(StoreError):
            store.close()
        admin.close()
    with open_store(pg, readonly=True) as reader:
        assert [r[0] for r in query(reader, "SELECT article_id FROM articles")] == ["785001"]
