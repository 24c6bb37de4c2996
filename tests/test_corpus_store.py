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
from crawlkit import cli

from crawler.items import Article, content_hash
from crawler.store import ExportFilter, Page
from crawler.store.sqlite import MIGRATIONS, Migration, SQLiteStore

SENTENCES = [
    "The foreign ministry spokesman spoke to reporters in the capital on Monday morning.",
    "He said the negotiations over the harbour treaty had reached a difficult stage.",
    "Officials from both delegations are expected to meet again before the end of the month.",
]


def article(aid: str, body: str, *, lead: str = "A lead about the treaty.", section: str = "Politics",
            published: str = "2026-03-10T12:00:00+03:30", title: str | None = None) -> Article:
    return Article(article_id=aid, url=f"https://www.presstv.ir/Detail/2026/03/10/{aid}/Story", source_url="u",
                   mirror="www.presstv.ir", title=title or f"Story {aid}", lead=lead, body=body,
                   published=published, section=section, authors=["Ali Musavi"], content_hash=content_hash(body),
                   word_count=len(body.split()), extracted_at="2026-03-10T09:00:00+00:00")


def hits(store: SQLiteStore, query: str, **flt: Any) -> list[str]:
    return [h.article_id for h in store.search(query, ExportFilter(**flt))]


def test_search_follows_every_write_and_reextraction(tmp_path: Path) -> None:
    with SQLiteStore(str(tmp_path / "s.sqlite")) as store:
        store.save_article(article("780001", " ".join(SENTENCES)), None, None)
        store.save_article(article("780002", "Fishermen protested in the harbour over fuel prices.",
                                   section="Economy", published="2026-04-02T10:00:00+03:30"), None, None)
        assert hits(store, '"harbour treaty"') == ["780001"]
        assert sorted(hits(store, "harbour")) == ["780001", "780002"]
        assert hits(store, "harbour", section="economy") == ["780002"]
        assert hits(store, "harbour", since="2026-04-01T00:00:00") == ["780002"]

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
        page_id = store.execute("SELECT id FROM pages WHERE article_id = '780003'")[0][0]
        assert store.save_reextracted(article("780003", "New body mentions a tunnel."), page_id) == "updated"
        assert hits(store, "bridge") == [] and hits(store, "tunnel") == ["780003"]
        store.commit()
        assert store.execute("INSERT INTO archive_fts(archive_fts) VALUES ('integrity-check')") == []

    # The title weighs more than the body.
    with SQLiteStore(str(tmp_path / "rank.sqlite")) as store:
        store.save_article(article("1", "Nothing about it here but lighthouse once."), None, None)
        store.save_article(article("2", "A body.", title="Lighthouse keepers strike"), None, None)
        assert hits(store, "lighthouse") == ["2", "1"]


def test_an_older_store_gets_its_search_index_on_first_read(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with SQLiteStore(str(path)) as store:
        for n in range(30):
            store.save_article(article(str(780100 + n), f"{SENTENCES[n % 3]} Item number {n}."), None, None)
    # Take the store back to the schema before the search index existed.
    step = next(i for i, m in enumerate(MIGRATIONS) if isinstance(m, Migration))
    db = sqlite3.connect(path)
    db.executescript("DROP TRIGGER versions_archive_insert; DROP TRIGGER versions_archive_update;"
                     "DROP TABLE archive_fts; DROP TABLE archive; DROP INDEX failures_article;"
                     f"DROP INDEX failures_article_number; PRAGMA user_version = {step};")
    db.close()
    with pytest.raises(Exception, match="needs a schema upgrade"):
        SQLiteStore(str(path), readonly=True)

    found = cli("search", '"harbour treaty"', "--limit", "100", "--json", "--store", str(path))
    assert found.returncode == 0, found.stderr
    assert len(found.stdout.splitlines()) == 10
    with SQLiteStore(str(path), readonly=True) as store:
        assert store.execute("SELECT count(*) FROM archive") == [(30,)]


def test_search_command_output_and_bad_queries(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteStore(str(path)) as store:
        store.save_article(article("780001", " ".join(SENTENCES)), None, None)
    out = cli("search", '"harbour treaty"', "--store", str(path))
    assert out.returncode == 0
    assert "2026-03-10  Politics  Story 780001" in out.stdout
    assert "https://www.presstv.ir/Detail/2026/03/10/780001/Story" in out.stdout
    assert "the [harbour treaty] had reached" in out.stdout
    as_json = cli("search", "treaty", "--json", "--store", str(path))
    assert json.loads(as_json.stdout)["body"] == " ".join(SENTENCES)

    for query in ('"unbalanced', "treaty AND", "nosuchcolumn:treaty"):
        bad = cli("search", query, "--store", str(path))
        assert bad.returncode == 2, bad
        assert bad.stderr.startswith("crawler: error: search query") and bad.stderr.count("\n") == 1
        assert "Traceback" not in bad.stderr


def _marked(output: str) -> tuple[list[str], list[str]]:
    return re.findall(r"\[-(.*?)-\]", output), re.findall(r"\{\+(.*?)\+\}", output)


def test_diff_shows_exactly_the_changed_sentence(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    replacement = "No further meeting between the two delegations is planned this year, a spokesman said."
    with SQLiteStore(str(path)) as store:
        paragraphs = [" ".join(SENTENCES), "Second paragraph stays as it was.", "Third paragraph stays too."]
        store.save_article(article("780001", "\n\n".join(paragraphs)), None, None)
        changed = [" ".join([SENTENCES[0], SENTENCES[1], replacement]), *paragraphs[1:]]
        store.save_article(article("780001", "\n\n".join(changed)), None, None)
        store.save_article(article("780001", "\n\n".join([*changed, "A new closing paragraph."]),
                                   title="Story 780001 (updated)"), None, None)
    out = cli("diff", "780001", "--from", "1", "--to", "2", "--store", str(path))
    assert out.returncode == 0, out.stderr
    assert "version 1 (stored " in out.stdout and "-> version 2 (stored " in out.stdout
    assert "title: unchanged" in out.stdout and "lead: unchanged" in out.stdout
    assert _marked(out.stdout) == ([SENTENCES[2]], [replacement])

    latest = cli("diff", "780001", "--store", str(path))  # default: the last two versions
    assert "version 2 (stored " in latest.stdout and "-> version 3" in latest.stdout
    assert _marked(latest.stdout) == ([], ["(updated)", "¶ A new closing paragraph."])

    for args, message in ((["999"], "article 999 is not in the store"),
                          (["780001", "--to", "7"], "--to 7: article 780001 has versions 1 to 3"),
                          (["780001", "--from", "2", "--to", "2"], "both version 2")):
        bad = cli("diff", *args, "--store", str(path))
        assert bad.returncode == 2 and message in bad.stderr and bad.stderr.count("\n") == 1


def test_export_edited_since_carries_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SQLiteStore(str(path)) as store:
        store.save_article(article("780001", "First text."), None, None)
        store.save_article(article("780002", "Never edited."), None, None)
        store.save_article(article("780001", "Second text."), None, None)
        store.save_article(article("780001", "Third text."), None, None)
    out = cli("export", "--edited-since", "2000-01-01", "--store", str(path))
    assert out.returncode == 0, out.stderr
    items = [json.loads(line) for line in out.stdout.splitlines()]
    assert [i["article_id"] for i in items] == ["780001"]
    assert items[0]["body"] == "Third text."
    assert items[0]["previous"]["body"] == "Second text." and items[0]["previous"]["version"] == 2
    schema = json.loads(resources.files("crawler").joinpath("schema/article.schema.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(items[0])
    future = cli("export", "--edited-since", "2999-01-01", "--store", str(path))
    assert future.stdout == "" and "exported 0 articles" in future.stderr


def test_coverage_counts_missing_ids_per_period(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    march = {780001: "2026-03-02", 780002: "2026-03-05", 780005: "2026-03-20", 780006: "2026-03-28"}
    april = {780008: "2026-04-01", 780012: "2026-04-15"}
    with SQLiteStore(str(path)) as store:
        for aid, day in {**march, **april}.items():
            section = "Politics" if aid % 2 else "Economy"
            store.save_article(article(str(aid), f"Body of {aid}.", section=section,
                                       published=f"{day}T12:00:00+03:30"), None, None)
        store.save_article(article("780012", "Body of 780012, edited.", published="2026-04-15T12:00:00+03:30"),
                           None, None)
        store.record_failure(None, "refused", "u", "780003", "not an article: too little text (12 words)")
        store.record_failure(None, "refused", "u", "780004", "not an article: too little text (3 words)")
        store.record_failure(None, "fetch", "u", "780010", "HTTP 404", 404)
        store.record_failure(None, "fetch", "u", "780001", "HTTP 503", 503)  # failed once, stored later
    out = cli("coverage", "--json", "--store", str(path))
    assert out.returncode == 0, out.stderr
    rows = {r["period"]: r for r in map(json.loads, out.stdout.splitlines())}
    edit_month = next(p for p in rows if p not in ("2026-03", "2026-04", "total"))
    assert rows["2026-03"] | {"by_section": None} == {
        "period": "2026-03", "stored": 4, "by_section": None, "low_id": 780001, "high_id": 780006, "missing": 2,
        "never_seen": 0, "failed": 0, "refused": {"too little text": 2}, "edits": 0}
    assert rows["2026-03"]["by_section"] == {"Politics": 2, "Economy": 2}
    assert (rows["2026-04"]["low_id"], rows["2026-04"]["high_id"], rows["2026-04"]["missing"]) == (780008, 780012, 3)
    assert (rows["2026-04"]["never_seen"], rows["2026-04"]["failed"]) == (2, 1)
    assert rows[edit_month]["edits"] == 1 and rows[edit_month]["stored"] == 0
    # The total covers the whole id range, the id between the months (780007) too.
    assert (rows["total"]["missing"], rows["total"]["never_seen"]) == (6, 3)

    table = cli("coverage", "--store", str(path))
    assert re.search(r"^2026-03 +4 +780001-780006 +2 +0 +0 +2 +0 +too little text 2$", table.stdout, re.M)
    weekly = cli("coverage", "--by", "week", "--until", "2026-03-10", "--json", "--store", str(path))
    weeks = [json.loads(line) for line in weekly.stdout.splitlines()]
    assert [(w["period"], w["stored"]) for w in weeks] == [("2026-W10", 2), ("total", 2)]


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
