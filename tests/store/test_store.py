"""The store on articles really extracted from look-alike pages, on both backends where the behaviour is shared
(versions, raw pages, crashes, runs) and on SQLite alone for its file, lock and size cap."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path
from typing import Any

import pytest
from support.storekit import rows as query

from crawler.core.items import Article
from crawler.extract import extract_full
from crawler.store import ExportFilter, Page, StoreError, StoreLocked, open_store
from crawler.store.sqlite import SCHEMA_VERSION, SQLiteStore
from crawler.testing.site.corpus import SiteCorpus

BASE = "https://www.presstv.ir"


def _items(corpus: SiteCorpus) -> list[tuple[dict, Page]]:
    out = []
    for art in corpus.articles():
        extraction = extract_full(art.html, BASE + art.path)
        out.append(
            (
                extraction.article.to_dict(),
                Page(url=BASE + art.path, html=art.html, status=200, encoding="utf-8", mirror="www.presstv.ir"),
            )
        )
    return out


@pytest.fixture
def corpus() -> SiteCorpus:
    c = SiteCorpus()
    c.generate(6, layout="mix")
    return c


def test_new_unchanged_and_new_version(store_location: str, corpus: SiteCorpus) -> None:
    path = store_location
    items = _items(corpus)
    with open_store(path) as store:
        outcomes = [store.save_article(item, page, None) for item, page in items]
    assert outcomes == ["new"] * len(items)

    with open_store(path) as store:
        assert [store.save_article(item, page, None) for item, page in items] == ["unchanged"] * len(items)
        # Press TV edits one story: the text changes, so a second version is kept beside the first.
        target = corpus.articles()[2]
        spec = target.spec
        assert spec is not None
        corpus.update_article(
            target.article_id,
            paragraphs=[
                *spec.paragraphs,
                "A new closing paragraph was added by the editors after the vote in parliament on Tuesday evening.",
            ],
        )
        changed = corpus.get(target.article_id)
        assert changed is not None
        item = extract_full(changed.html, BASE + changed.path).article.to_dict()
        assert store.save_article(item, Page(url=BASE + changed.path, html=changed.html), None) == "updated"
        rows = query(
            store,
            "SELECT version, item FROM versions WHERE article_id = ? ORDER BY version",
            (target.article_id,),
        )
        assert [r[0] for r in rows] == [1, 2]
        bodies = [json.loads(r[1])["body"] for r in rows]
        assert "new closing paragraph" in bodies[1] and "new closing paragraph" not in bodies[0]
        exported = {a["article_id"]: a for a in store.iter_export(ExportFilter())}
        assert "new closing paragraph" in exported[target.article_id]["body"]
        assert len(exported) == len(items)
        assert store.integrity_check() == "ok"


def test_raw_pages_kept_compressed_once_per_content(store_location: str, corpus: SiteCorpus) -> None:
    items = _items(corpus)
    with open_store(store_location) as store:
        for item, page in items:
            store.save_article(item, page, None)
        for item, page in items:  # the same bytes fetched again are not stored twice
            store.save_article(item, page, None)
        rows = query(store, "SELECT article_id, html, size FROM pages ORDER BY article_id")
    assert len(rows) == len(items)
    by_id = {item["article_id"]: page for item, page in items}
    for article_id, blob, size in rows:
        assert zlib.decompress(blob) == by_id[article_id].html
        assert len(blob) < size


def test_metadata_change_without_text_change_is_not_a_version(store_location: str, corpus: SiteCorpus) -> None:
    item, page = _items(corpus)[0]
    with open_store(store_location) as store:
        store.save_article(item, page, None)
        moved = dict(item, modified="2026-11-27T21:00:00+03:30")
        assert store.save_article(moved, page, None) == "unchanged"
        rows = query(store, "SELECT version, modified FROM versions WHERE article_id = ?", (item["article_id"],))
        assert rows == [(1, "2026-11-27T21:00:00+03:30")]


def test_title_or_lead_edit_is_a_new_version(store_location: str, corpus: SiteCorpus) -> None:
    item, page = _items(corpus)[0]
    with open_store(store_location) as store:
        store.save_article(item, page, None)
        assert store.save_article(dict(item, title=f"  {item['title']}  "), page, None) == "unchanged"
        assert store.save_article(dict(item, title="A sharper headline"), page, None) == "updated"
        assert store.save_article(dict(item, title="A sharper headline", lead="A new lead."), page, None) == "updated"
        rows = query(
            store, "SELECT version, item FROM versions WHERE article_id = ? ORDER BY version", (item["article_id"],)
        )
    assert [(v, json.loads(i)["title"].strip(), json.loads(i)["lead"]) for v, i in rows] == [
        (1, item["title"], item["lead"]),
        (2, "A sharper headline", item["lead"]),
        (3, "A sharper headline", "A new lead."),
    ]


def test_a_store_of_the_first_schema_upgrades_and_then_keeps_a_title_edit(tmp_path: Path, corpus: SiteCorpus) -> None:
    from crawler.store.sqlite import MIGRATIONS

    item, page = _items(corpus)[0]
    # An article as the first schema's crawler stored it: one version, its title since rewritten in place.
    old = tmp_path / "old.sqlite"
    db = sqlite3.connect(old)
    first_schema = MIGRATIONS[0]
    assert isinstance(first_schema, str)
    db.executescript(first_schema + "; PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO articles (article_id, url, title, content_hash, version, first_seen, changed_at,"
        " last_seen) VALUES (?,?,?,?,1,'2026-01-01T00:00:00','2026-01-01T00:00:00','2026-01-01T00:00:00')",
        (item["article_id"], item["url"], item["title"], item["content_hash"]),
    )
    db.execute(
        "INSERT INTO versions (article_id, version, content_hash, item, stored_at) VALUES (?,1,?,?,?)",
        (item["article_id"], item["content_hash"], json.dumps(item), "2026-01-01T00:00:00"),
    )
    db.commit()
    db.close()
    with open_store(str(old)) as store:
        assert store.save_article(item, page, None) == "unchanged"
        assert store.save_article(dict(item, title="Headline changed after the vote"), page, None) == "updated"
        exported = {a["article_id"]: a for a in store.iter_export(ExportFilter())}
        versions = [v.item["title"] for v in store.versions(item["article_id"])]
    assert versions == [item["title"], "Headline changed after the vote"]
    assert exported[item["article_id"]]["title"] == "Headline changed after the vote"


def test_failures_and_runs_recorded(store_location: str) -> None:
    with open_store(store_location) as store:
        run = store.begin_run("presstv", {"mirrors": "http://127.0.0.1:1"})
        store.record_failure(
            run,
            "fetch",
            "http://127.0.0.1:1/Detail/2026/01/01/770001/x",
            "770001",
            "connection refused\non every mirror",
            None,
        )
        store.record_failure(
            run,
            "refused",
            "http://127.0.0.1:1/Section/101/1",
            None,
            "not an article: listing",
            200,
            Page(url="http://127.0.0.1:1/Section/101/1", html=b"<html>listing</html>"),
        )
        store.finish_run(run, status="ok", exit_status=0, new=0, failed=1, refused=1, mirrors=["127.0.0.1"])
        failures = query(store, "SELECT kind, reason FROM failures ORDER BY id")
        runs = store.runs()
    assert failures == [("fetch", "connection refused on every mirror"), ("refused", "not an article: listing")]
    assert len(runs) == 1 and runs[0].status == "ok" and runs[0].failed == 1 and runs[0].mirrors == ["127.0.0.1"]


def test_second_writer_gets_a_clear_lock_error(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")
    first = open_store(path, lock=True)
    try:
        with pytest.raises(StoreLocked) as err:
            open_store(path, lock=True)
        message = str(err.value)
        assert "in use by another process" in message and str(os.getpid()) in message and "\n" not in message
        # Readers are never blocked by a running crawl.
        reader = open_store(path, readonly=True)
        reader.close()
    finally:
        first.close()
    open_store(path, lock=True).close()  # released on close


def test_lock_of_a_killed_process_is_released(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")
    code = (
        f"from crawler.store import open_store; s = open_store({path!r}, lock=True); print('ok', flush=True); "
        "import time; time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ok"
        with pytest.raises(StoreLocked):
            open_store(path, lock=True)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    open_store(path, lock=True).close()


def test_sigkill_keeps_committed_batches_and_loses_nothing_half_written(
    tmp_path: Path, store_location: str, corpus: SiteCorpus
) -> None:
    """A batch of 4: after 6 saves and a SIGKILL, exactly the first 4 articles are stored, whole."""
    path = store_location
    items = _items(corpus)
    data = tmp_path / "items.json"
    data.write_text(json.dumps([item for item, _ in items]))
    code = textwrap.dedent(f"""
        import json, os, signal
        from crawler.store import open_store
        store = open_store({path!r}, commit_items=4, commit_seconds=3600)
        for item in json.load(open({str(data)!r})):
            store.save_article(item, None, None)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", code], check=False)
    assert proc.returncode == -signal.SIGKILL
    with open_store(path) as store:
        assert store.integrity_check() == "ok"
        stored = [r[0] for r in query(store, "SELECT article_id FROM articles ORDER BY article_id")]
        assert stored == sorted(item["article_id"] for item, _ in items[:4])
        assert query(store, "SELECT count(*) FROM versions")[0][0] == 4


def test_disk_full_is_one_line_and_rolls_the_batch_back(tmp_path: Path) -> None:
    c = SiteCorpus()
    c.generate(40, pad_to_bytes=60_000)
    items = _items(c)
    path = str(tmp_path / "s.sqlite")
    with SQLiteStore(path, commit_items=1000) as store:
        store.save_article(*items[0], None)
        store.commit()
        pages_now = store.execute("PRAGMA page_count")[0][0]
        store.execute(f"PRAGMA max_page_count = {pages_now + 8}")  # a disk with room for ~30 KB more
        with pytest.raises(StoreError) as err:
            for item, page in items[1:]:
                store.save_article(item, page, None)
        assert "disk is full" in str(err.value) and "\n" not in str(err.value)
    with SQLiteStore(path) as store:
        assert store.integrity_check() == "ok"
        assert store.execute("SELECT count(*) FROM articles")[0][0] == 1
        assert store.execute("SELECT count(*) FROM versions")[0][0] == 1


def test_schema_is_versioned_and_newer_stores_are_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sqlite")
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer than this crawler"):
        SQLiteStore(path)


def test_bad_paths_give_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        SQLiteStore(str(tmp_path))
    with pytest.raises(StoreError, match="no store at"):
        open_store(str(tmp_path / "missing.sqlite"), readonly=True)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a crawler store or is damaged"):
        SQLiteStore(str(junk))


def test_pages_keep_headers_and_provenance_and_old_pages_get_a_marked_minimal_set(
    tmp_path: Path, corpus: SiteCorpus
) -> None:
    from crawler.store.sqlite import MIGRATIONS

    (first, first_page), (second, second_page) = _items(corpus)[:2]
    # A store made by the first schema, holding one page, as an older crawler left it.
    old = tmp_path / "old.sqlite"
    db = sqlite3.connect(old)
    first_schema = MIGRATIONS[0]
    assert isinstance(first_schema, str)
    db.executescript(first_schema + "; PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO pages (article_id, url, status, encoding, fetched_at, html_sha256, size, html, outcome)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        (
            first["article_id"],
            first_page.url,
            200,
            "windows-1252",
            "2020-01-01T00:00:00",
            "x" * 64,
            len(first_page.html),
            zlib.compress(first_page.html),
            "article",
        ),
    )
    db.commit()
    db.close()
    second_page.headers = [("Content-Type", "text/html; charset=utf-8"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    second_page.fetched_from, second_page.archived_at = "wayback", "2013-05-02T08:15:00+00:00"
    second["fetched_from"], second["archived_at"] = "wayback", "2013-05-02T08:15:00+00:00"
    with open_store(str(old)) as store:
        store.save_article(Article.from_dict(second), second_page, None)
        store.commit()
        pages = {p.url: p for p in store.iter_pages(ExportFilter())}
        assert store.count_pages(ExportFilter()) == 2
        exported = {item["article_id"]: item for item in store.iter_export(ExportFilter())}
    upgraded, fresh = pages[first_page.url], pages[second_page.url]
    assert upgraded.headers_minimal and upgraded.headers == [("Content-Type", "text/html; charset=windows-1252")]
    assert upgraded.fetched_from == "live" and upgraded.archived_at is None
    assert upgraded.html == first_page.html
    assert not fresh.headers_minimal and fresh.headers == second_page.headers
    assert (fresh.fetched_from, fresh.archived_at) == ("wayback", "2013-05-02T08:15:00")
    assert exported[second["article_id"]]["fetched_from"] == "wayback"
    assert exported[second["article_id"]]["archived_at"] == "2013-05-02T08:15:00+00:00"


def _open_and_store(path: str, number: int, start: Any, outcomes: Any) -> None:
    start.wait(60)  # every process opens the new store at the same moment
    outcomes.put((number, _store_one(path, number)))


def _store_one(path: str, number: int) -> str:
    try:
        with open_store(path, commit_items=1) as store:
            body = f"Article number {number} of a store that several processes created at once."
            store.save_article(
                Article(
                    article_id=str(900000 + number),
                    url=f"https://www.presstv.ir/Detail/x/{number}",
                    source_url="u",
                    mirror="m",
                    title=f"T{number}",
                    lead="",
                    body=body,
                    content_hash=str(number),
                ),
                None,
                None,
            )
        return "ok"
    except StoreError as exc:
        return str(exc)


PROCESSES = 16


@pytest.mark.parametrize("attempt", range(5))
def test_processes_opening_a_new_store_at_once_all_get_it(tmp_path: Path, attempt: int) -> None:
    # Crawls started together on a store that does not exist yet: each must get it, none "busy". Sixteen
    # processes released at one moment, five times over: switching a new file to WAL at once used to fail one
    # of them now and then with "database is locked", without waiting for the busy timeout.
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    path = str(tmp_path / "fresh.sqlite")
    start, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=_open_and_store, args=(path, n, start, results)) for n in range(PROCESSES)]
    for proc in procs:
        proc.start()
    outcomes = dict(results.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(60)
    assert outcomes == dict.fromkeys(range(PROCESSES), "ok")
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == PROCESSES
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        db.close()
