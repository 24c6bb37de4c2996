"""Reading the corpus from a store built in this process: search kept in step with every write, the upgrade of an
older store, word diffs, edited-since exports, coverage counts and the serve command's refusals."""

from __future__ import annotations

import json
import re
import sqlite3
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support.crawlkit import cli
from support.storekit import fresh_schema, postgres_url, rows

from crawler.core.items import Article, content_hash
from crawler.store import ArticleStore, ExportFilter, Page, is_postgres_url, open_store
from crawler.store.postgres import MIGRATIONS as PG_MIGRATIONS
from crawler.store.sqlite import MIGRATIONS, Migration, SQLiteStore

SENTENCES = [
    "The foreign ministry spokesman spoke to reporters in the capital on Monday morning.",
    "He said the negotiations over the harbour treaty had reached a difficult stage.",
    "Officials from both delegations are expected to meet again before the end of the month.",
]


def article(
    aid: str,
    body: str,
    *,
    lead: str = "A lead about the treaty.",
    section: str = "Politics",
    published: str = "2026-03-10T12:00:00+03:30",
    title: str | None = None,
) -> Article:
    return Article(
        article_id=aid,
        url=f"https://www.presstv.ir/Detail/2026/03/10/{aid}/Story",
        source_url="u",
        mirror="www.presstv.ir",
        title=title or f"Story {aid}",
        lead=lead,
        body=body,
        published=published,
        section=section,
        authors=["Ali Musavi"],
        content_hash=content_hash(body),
        word_count=len(body.split()),
        extracted_at="2026-03-10T09:00:00+00:00",
    )


def hits(store: ArticleStore, query: str, **flt: Any) -> list[str]:
    return [h.article_id for h in store.search(query, ExportFilter(**flt))]


def _index_matches_current_versions(store: ArticleStore) -> None:
    """Every stored article is in the archive table (what search reads) with its current version's text."""
    current = {
        aid: (int(version), json.loads(item))
        for aid, version, item in rows(
            store,
            "SELECT a.article_id, a.version, v.item FROM articles a JOIN versions v"
            " ON v.article_id = a.article_id AND v.version = a.version",
        )
    }
    kept = {
        aid: (int(version), title, lead, body)
        for aid, version, title, lead, body in rows(store, "SELECT article_id, version, title, lead, body FROM archive")
    }
    assert current and kept == {
        aid: (version, item["title"], item["lead"], item["body"]) for aid, (version, item) in current.items()
    }


def test_search_follows_every_write_and_reextraction(store_location: str) -> None:
    with open_store(store_location) as store:
        store.save_article(article("780001", " ".join(SENTENCES)), None, None)
        store.save_article(
            article(
                "780002",
                "Fishermen protested in the harbour over fuel prices.",
                section="Economy",
                published="2026-04-02T10:00:00+03:30",
            ),
            None,
            None,
        )
        assert hits(store, '"harbour treaty"') == ["780001"]
        assert sorted(hits(store, "harbour")) == ["780001", "780002"]
        assert hits(store, "harbour", section="economy") == ["780002"]
        assert hits(store, "harbour", since="2026-04-01T00:00:00") == ["780002"]
        assert hits(store, "harbour", until="2026-04-01T00:00:00") == ["780001"]
        assert hits(store, "harbour NOT fishermen") == ["780001"]  # the same operator on both backends

        # A new version replaces the old text in the index.
        edited = " ".join([SENTENCES[0], "He said the talks on the harbour accord had collapsed.", SENTENCES[2]])
        assert store.save_article(article("780001", edited), None, None) == "updated"
        assert hits(store, '"harbour treaty"') == []
        assert hits(store, '"harbour accord"') == ["780001"]

        # Same text, corrected lead: the current version is rewritten in place, and so is its index entry.
        store.save_article(article("780001", edited, lead="A lead about the accord and the lighthouse."), None, None)
        assert hits(store, "lighthouse") == ["780001"]

        # Re-extraction of a stored page with a changed body.
        page = Page(url="https://www.presstv.ir/x", html=b"<html>raw</html>")
        store.save_article(article("780003", "Old body mentions a bridge."), page, None)
        page_id = rows(store, "SELECT id FROM pages WHERE article_id = '780003'")[0][0]
        assert store.save_reextracted(article("780003", "New body mentions a tunnel."), page_id) == "updated"
        assert hits(store, "bridge") == [] and hits(store, "tunnel") == ["780003"]

        # The title weighs more than the body.
        store.save_article(article("780010", "Nothing about it here but beacon once."), None, None)
        store.save_article(article("780011", "A body.", title="Beacon keepers strike"), None, None)
        assert hits(store, "beacon") == ["780011", "780010"]
        store.commit()
        _index_matches_current_versions(store)
        if not is_postgres_url(store_location):
            assert rows(store, "INSERT INTO archive_fts(archive_fts) VALUES ('integrity-check')") == []


@pytest.mark.postgres
def test_a_nul_character_is_stored_and_searchable_on_postgresql() -> None:
    # jsonb refuses an escaped NUL: the index's trigger must not fail the write of a hostile page.
    with fresh_schema(postgres_url()) as url, open_store(url) as store:
        body = "A hostile\x00 page about submarines."
        assert store.save_article(article("780012", body, title="Nul\x00 story"), None, None) == "new"
        store.commit()
        assert hits(store, "submarines") == ["780012"] and hits(store, "nul story") == ["780012"]
        assert rows(store, "SELECT title, body FROM archive") == [("Nul\ufffd story", body.replace("\x00", "\ufffd"))]
        assert next(store.iter_export(ExportFilter()))["body"] == body


def _back_to_the_schema_before_search(location: str) -> None:
    """Take a store back to the schema it had before the search index existed (as an older crawler left it),
    without the WARC import's table that came after it."""
    if is_postgres_url(location):
        import psycopg

        step = PG_MIGRATIONS.index(next(m for m in PG_MIGRATIONS if "CREATE TABLE archive" in m))
        with psycopg.connect(location, autocommit=True) as pg:
            pg.execute(
                "DROP TRIGGER versions_archive ON versions; DROP FUNCTION archive_follow_versions();"
                "DROP TABLE archive; DROP INDEX failures_article; DROP INDEX failures_article_number;"
                f"DROP TABLE warc_records; UPDATE schema_version SET version = {step}"
            )
        return
    step = next(i for i, m in enumerate(MIGRATIONS) if isinstance(m, Migration))
    db = sqlite3.connect(location)
    db.executescript(
        "DROP TRIGGER versions_archive_insert; DROP TRIGGER versions_archive_update;"
        "DROP TABLE archive_fts; DROP TABLE archive; DROP INDEX failures_article;"
        "DROP INDEX failures_article_number; DROP TABLE warc_records;"
        f"PRAGMA user_version = {step};"
    )
    db.close()


def test_an_older_store_gets_its_search_index_on_first_read(store_location: str) -> None:
    with open_store(store_location) as store:
        for n in range(30):
            store.save_article(article(str(780100 + n), f"{SENTENCES[n % 3]} Item number {n}."), None, None)
    _back_to_the_schema_before_search(store_location)
    with pytest.raises(Exception, match="needs a schema upgrade"):
        open_store(store_location, readonly=True)

    found = cli("search", '"harbour treaty"', "--limit", "100", "--json", "--store", store_location)
    assert found.returncode == 0, found.stderr
    assert len(found.stdout.splitlines()) == 10
    with open_store(store_location, readonly=True) as store:
        assert rows(store, "SELECT count(*) FROM archive") == [(30,)]
        _index_matches_current_versions(store)


# Queries one backend's syntax refuses: each is one error line there, never a traceback.
SQLITE_REFUSES = ('"unbalanced', "treaty AND", "nosuchcolumn:treaty", "!!!")
POSTGRES_REFUSES = ("the", "!!!")  # nothing to search: stop words and punctuation only


def test_search_command_output_and_bad_queries(store_location: str) -> None:
    with open_store(store_location) as store:
        store.save_article(article("780001", " ".join(SENTENCES)), None, None)
    out = cli("search", '"harbour treaty"', "--store", store_location)
    assert out.returncode == 0
    assert "2026-03-10  Politics  Story 780001" in out.stdout
    assert "https://www.presstv.ir/Detail/2026/03/10/780001/Story" in out.stdout
    assert "the [harbour treaty] had reached" in out.stdout
    as_json = cli("search", "treaty", "--json", "--store", store_location)
    assert json.loads(as_json.stdout)["body"] == " ".join(SENTENCES)

    refused = POSTGRES_REFUSES if is_postgres_url(store_location) else SQLITE_REFUSES
    for query in {*SQLITE_REFUSES, *POSTGRES_REFUSES}:
        result = cli("search", query, "--store", store_location)
        assert "Traceback" not in result.stderr
        if query in refused:
            assert result.returncode == 2, result
            assert result.stderr.startswith("crawler: error: search query") and result.stderr.count("\n") == 1
        else:  # PostgreSQL's web-search syntax reads any text: a stray quote or operator is just ignored
            assert result.returncode == 0, result


def _marked(output: str) -> tuple[list[str], list[str]]:
    return re.findall(r"\[-(.*?)-\]", output), re.findall(r"\{\+(.*?)\+\}", output)


def test_diff_shows_exactly_the_changed_sentence(store_location: str) -> None:
    path = store_location
    replacement = "No further meeting between the two delegations is planned this year, a spokesman said."
    with open_store(path) as store:
        paragraphs = [" ".join(SENTENCES), "Second paragraph stays as it was.", "Third paragraph stays too."]
        store.save_article(article("780001", "\n\n".join(paragraphs)), None, None)
        changed = [" ".join([SENTENCES[0], SENTENCES[1], replacement]), *paragraphs[1:]]
        store.save_article(article("780001", "\n\n".join(changed)), None, None)
        store.save_article(
            article("780001", "\n\n".join([*changed, "A new closing paragraph."]), title="Story 780001 (updated)"),
            None,
            None,
        )
    out = cli("diff", "780001", "--from", "1", "--to", "2", "--store", path)
    assert out.returncode == 0, out.stderr
    assert "version 1 (stored " in out.stdout and "-> version 2 (stored " in out.stdout
    assert "title: unchanged" in out.stdout and "lead: unchanged" in out.stdout
    assert _marked(out.stdout) == ([SENTENCES[2]], [replacement])

    latest = cli("diff", "780001", "--store", path)  # default: the last two versions
    assert "version 2 (stored " in latest.stdout and "-> version 3" in latest.stdout
    assert _marked(latest.stdout) == ([], ["(updated)", "¶ A new closing paragraph."])

    for args, message in (
        (["999"], "article 999 is not in the store"),
        (["780001", "--to", "7"], "--to 7: article 780001 has versions 1 to 3"),
        (["780001", "--from", "2", "--to", "2"], "both version 2"),
    ):
        bad = cli("diff", *args, "--store", path)
        assert bad.returncode == 2 and message in bad.stderr and bad.stderr.count("\n") == 1


def test_export_edited_since_carries_the_previous_version(store_location: str) -> None:
    path = store_location
    with open_store(path) as store:
        store.save_article(article("780001", "First text."), None, None)
        store.save_article(article("780002", "Never edited."), None, None)
        store.save_article(article("780001", "Second text."), None, None)
        store.save_article(article("780001", "Third text."), None, None)
    out = cli("export", "--edited-since", "2000-01-01", "--store", path)
    assert out.returncode == 0, out.stderr
    items = [json.loads(line) for line in out.stdout.splitlines()]
    assert [i["article_id"] for i in items] == ["780001"]
    assert items[0]["body"] == "Third text."
    assert items[0]["previous"]["body"] == "Second text." and items[0]["previous"]["version"] == 2
    schema = json.loads(resources.files("crawler").joinpath("schema/article.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(items[0])
    future = cli("export", "--edited-since", "2999-01-01", "--store", path)
    assert future.stdout == "" and "exported 0 articles" in future.stderr


def _fill_with_holes(store: ArticleStore) -> None:
    """Articles in March and April 2026 with ids missing between them: never seen, refused or failed."""
    march = {780001: "2026-03-02", 780002: "2026-03-05", 780005: "2026-03-20", 780006: "2026-03-28"}
    april = {780008: "2026-04-01", 780012: "2026-04-15"}
    for aid, day in {**march, **april}.items():
        section = "Politics" if aid % 2 else "Economy"
        store.save_article(
            article(str(aid), f"Body of {aid}.", section=section, published=f"{day}T12:00:00+03:30"), None, None
        )
    store.save_article(article("780012", "Body of 780012, edited.", published="2026-04-15T12:00:00+03:30"), None, None)
    store.record_failure(None, "refused", "u", "780003", "not an article: too little text (12 words)")
    store.record_failure(None, "refused", "u", "780004", "not an article: too little text (3 words)")
    store.record_failure(None, "fetch", "u", "780010", "HTTP 404", 404)
    store.record_failure(None, "fetch", "u", "780001", "HTTP 503", 503)  # failed once, stored later
    store.record_failure(None, "fetch", "u", None, "DNS lookup failed")  # no id: counts nowhere


def test_coverage_counts_missing_ids_per_period(store_location: str) -> None:
    path = store_location
    with open_store(path) as store:
        _fill_with_holes(store)
    out = cli("coverage", "--json", "--store", path)
    assert out.returncode == 0, out.stderr
    rows = {r["period"]: r for r in map(json.loads, out.stdout.splitlines())}
    edit_month = next(p for p in rows if p not in ("2026-03", "2026-04", "total"))
    assert rows["2026-03"] | {"by_section": None} == {
        "period": "2026-03",
        "stored": 4,
        "by_section": None,
        "low_id": 780001,
        "high_id": 780006,
        "missing": 2,
        "never_seen": 0,
        "failed": 0,
        "refused": {"too little text": 2},
        "edits": 0,
    }
    assert rows["2026-03"]["by_section"] == {"Politics": 2, "Economy": 2}
    assert (rows["2026-04"]["low_id"], rows["2026-04"]["high_id"], rows["2026-04"]["missing"]) == (780008, 780012, 3)
    assert (rows["2026-04"]["never_seen"], rows["2026-04"]["failed"]) == (2, 1)
    assert rows[edit_month]["edits"] == 1 and rows[edit_month]["stored"] == 0
    # The total covers the whole id range, the id between the months (780007) too.
    assert (rows["total"]["missing"], rows["total"]["never_seen"]) == (6, 3)

    table = cli("coverage", "--store", path)
    assert re.search(r"^2026-03 +4 +780001-780006 +2 +0 +0 +2 +0 +too little text 2$", table.stdout, re.M)
    weekly = cli("coverage", "--by", "week", "--until", "2026-03-10", "--json", "--store", path)
    weeks = [json.loads(line) for line in weekly.stdout.splitlines()]
    assert [(w["period"], w["stored"]) for w in weeks] == [("2026-W10", 2), ("total", 2)]


@pytest.mark.postgres
def test_coverage_is_the_same_on_both_backends(tmp_path: Path) -> None:
    sqlite = str(tmp_path / "s.sqlite")
    with fresh_schema(postgres_url()) as pg:
        for location in (sqlite, pg):
            with open_store(location) as store:
                _fill_with_holes(store)
                store.save_article(article("0780007", "An id with a leading zero."), None, None)
                store.save_article(article("p-1", "Not a numeric id."), None, None)
                store.record_failure(None, "refused", "u", "x780009", "not an article: page has no headline")
        for args in (
            ["--by", "month"],
            ["--by", "week"],
            ["--by", "day", "--since", "2026-03-03"],
            ["--until", "2026-04-01"],
        ):
            found = [cli("coverage", "--json", *args, "--store", location) for location in (sqlite, pg)]
            assert found[0].returncode == 0 and found[0].stdout.count("\n") > 1, found[0]
            assert found[1].stdout == found[0].stdout and found[1].returncode == 0, args


@pytest.mark.integration  # matplotlib draws four charts: seconds, too slow for the fast tier
def test_coverage_html_is_one_self_contained_page(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteStore(str(path)) as store:
        for aid, day in ((780001, "2026-03-02"), (780003, "2026-03-05"), (780009, "2026-04-01")):
            store.save_article(article(str(aid), f"Body of {aid}.", published=f"{day}T12:00:00+03:30"), None, None)
        store.record_failure(None, "refused", "u", "780002", "not an article: page has no headline")
    report = tmp_path / "report" / "coverage.html"
    html = cli("coverage", "--html", str(report), "--store", str(path))
    assert html.returncode == 0, html.stderr
    page = report.read_text(encoding="utf-8")
    assert page.count('<img alt="') == 4 and page.count("data:image/svg+xml;base64,") == 4
    assert not re.search(r"(src|href)=\"(https?:)?//", page), "the page loads nothing from the network"
    assert "<td>780001-780003</td>" in page


def test_serve_refuses_remote_hosts_and_other_backends(tmp_path: Path) -> None:
    remote = cli("serve", "--host", "0.0.0.0", "--store", str(tmp_path / "s.sqlite"))
    assert remote.returncode == 2 and "--allow-remote" in remote.stderr and remote.stderr.count("\n") == 1
    other = cli("serve", "--store", "postgresql://crawler@127.0.0.1/crawler")
    assert other.returncode == 2 and other.stderr.count("\n") == 1
    assert "SQLite store files only, not postgresql:// stores" in other.stderr
    assert not (tmp_path / "s.sqlite").exists()
