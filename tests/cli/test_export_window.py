"""`crawler export` as the manual promises it: oldest publication first, `--since DATE` from that day's midnight
UTC (inclusive), `--until DATE` up to that midnight (exclusive), articles on the boundaries included as stated."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from support.crawlkit import cli
from support.storekit import rows

from crawler.core.items import Article, content_hash
from crawler.store import open_store

# Publication times (UTC) on and around the edges of 2026-12-05, stored in a scrambled order.
PUBLISHED = {
    "900003": "2026-12-05T12:00:00+00:00",
    "900001": "2026-12-04T23:59:59+00:00",
    "900005": "2026-12-06T03:30:00+03:30",  # midnight UTC on the 6th, written with Tehran's offset
    "900002": "2026-12-05T03:30:00+03:30",  # midnight UTC on the 5th
    "900004": "2026-12-05T23:59:59+00:00",
}


@pytest.fixture
def store(tmp_path: Path) -> str:
    path = str(tmp_path / "store.sqlite")
    with open_store(path) as db:
        for article_id, published in PUBLISHED.items():
            body = f"Story {article_id} of the window test."
            source = f"http://m1.test/Detail/2026/12/05/{article_id}/x"
            title = f"Story {article_id}: Tehran’s view"
            db.save_article(
                Article(
                    article_id=article_id,
                    url=f"https://outlet.test/{article_id}",
                    source_url=source,
                    mirror="m1.test",
                    title=title,
                    lead="",
                    body=body,
                    published=published,
                    section="World",
                    content_hash=content_hash(body),
                    word_count=len(body.split()),
                ),
                None,
                None,
            )
    return path


def exported(store: str, *args: str) -> list[str]:
    done = cli("export", "--store", store, *args)
    assert done.returncode == 0, done.stderr
    return [json.loads(line)["article_id"] for line in done.stdout.splitlines()]


def test_export_is_oldest_publication_first(store: str) -> None:
    assert exported(store) == ["900001", "900002", "900003", "900004", "900005"]


def test_since_a_bare_date_starts_at_its_midnight_utc(store: str) -> None:
    assert exported(store, "--since", "2026-12-05") == ["900002", "900003", "900004", "900005"]


def test_until_a_bare_date_stops_before_its_midnight_utc(store: str) -> None:
    assert exported(store, "--until", "2026-12-06") == ["900001", "900002", "900003", "900004"]


def test_a_one_day_window_is_exactly_that_day(store: str) -> None:
    assert exported(store, "--since", "2026-12-05", "--until", "2026-12-06") == ["900002", "900003", "900004"]


def test_a_bad_date_is_one_line_and_exit_status_2(store: str) -> None:
    done = cli("export", "--store", store, "--since", "last tuesday")
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert "--since" in line and "last tuesday" in line


def test_a_section_filter_ignores_case(store: str) -> None:
    assert exported(store, "--section", "wORLD") == list(sorted(PUBLISHED))
    assert exported(store, "--section", "Iran") == []


def test_changed_since_includes_an_article_changed_at_that_very_second(store: str) -> None:
    with open_store(store, readonly=True) as db:
        changed = {str(r[0]): str(r[1]) for r in rows(db, "SELECT article_id, changed_at FROM articles")}
    latest = max(changed.values())
    assert exported(store, "--changed-since", latest) == sorted(a for a, at in changed.items() if at == latest)


def test_edited_since_lists_only_articles_with_a_new_version_and_their_previous_text(store: str) -> None:
    with open_store(store) as db:
        body = "Story 900003 of the window test, corrected."
        db.save_article(
            Article(
                article_id="900003",
                url="https://outlet.test/900003",
                source_url="http://m1.test/Detail/2026/12/05/900003/x",
                mirror="m1.test",
                title="Story 900003",
                lead="",
                body=body,
                published=PUBLISHED["900003"],
                section="World",
                content_hash=content_hash(body),
                word_count=len(body.split()),
            ),
            None,
            None,
        )
    done = cli("export", "--store", store, "--edited-since", "2000-01-01")
    assert done.returncode == 0, done.stderr
    [item] = [json.loads(line) for line in done.stdout.splitlines()]
    assert item["article_id"] == "900003" and item["body"] == body
    assert item["previous"]["version"] == 1 and item["previous"]["body"] == "Story 900003 of the window test."


def test_export_and_runs_read_while_a_crawl_holds_the_store(store: str) -> None:
    crawl_lock = open_store(store, lock=True)  # what a running crawl holds
    try:
        # Both return (a reader that waited for the lock would hang until the test's time limit).
        assert exported(store) == sorted(PUBLISHED)
        runs = cli("runs", "--store", store)
        assert runs.returncode == 0, runs.stderr
    finally:
        crawl_lock.close()


def test_an_export_to_a_gz_file_is_gzip_and_only_the_finished_file_is_left(store: str, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "window.jsonl.gz"
    done = cli("export", "--store", store, "--since", "2026-12-05", "-o", str(out))
    assert done.returncode == 0 and done.stdout == "", done.stderr
    with gzip.open(out, "rt", encoding="utf-8") as fh:
        assert [json.loads(line)["article_id"] for line in fh] == ["900002", "900003", "900004", "900005"]
    assert [p.name for p in out.parent.iterdir()] == [out.name], "no .part file left behind"


def test_the_export_is_utf8_text_not_escapes(store: str) -> None:
    done = cli("export", "--store", store, "--since", "2026-12-06")
    assert done.stdout.count("Tehran’s view") == 1 and "\\u2019" not in done.stdout
