"""`crawler reextract`: stored raw pages re-extracted with today's rules; versions only for changed text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.crawlkit import cli
from support.storekit import rows as query

from crawler.core.items import ARTICLE_FIELDS, content_hash
from crawler.extract import extract_full
from crawler.store import ExportFilter, Page, open_store
from crawler.store.sqlite import SQLiteStore
from crawler.testing.site import pages
from crawler.testing.site.corpus import SiteCorpus

pytestmark = pytest.mark.integration

BASE = "https://www.presstv.ir"


def build_store(path: Path | str) -> dict[str, str]:
    """A store as an older rule set left it: 3 bodies with a furniture line, 2 without their lead, one page
    the old rules crashed on; the rest as today's rules extract them. Returns article_id -> what was done."""
    corpus = SiteCorpus()
    corpus.generate(12, layout="mix")
    done: dict[str, str] = {}
    with open_store(str(path)) as store:
        for n, art in enumerate(corpus.articles()):
            url = BASE + art.path
            page = Page(url=url, html=art.html, status=200, encoding="utf-8", mirror="www.presstv.ir")
            item = extract_full(art.html, url).article.to_dict()
            if n < 3:
                item["body"] += (
                    "\n\nRead more:\n\nPress TV's website can also be accessed at the following alternate addresses:"
                )
                item["content_hash"] = content_hash(item["body"])
                done[item["article_id"]] = "dirty body"
            elif n < 5:
                item["lead"] = ""
                done[item["article_id"]] = "missing lead"
            elif n == 5:
                store.record_failure(
                    None, "crashed", url, item["article_id"], "extraction crashed: KeyError", 200, page
                )
                done[item["article_id"]] = "crashed"
                continue
            store.save_article(item, page, None)
    return done


def test_reextract_keeps_versions_honest(store_location: str) -> None:
    path = store_location
    done = build_store(path)
    dirty = sorted(a for a, what in done.items() if what == "dirty body")
    found = cli("search", '"alternate addresses"', "--json", "--store", str(path))
    assert sorted(json.loads(line)["article_id"] for line in found.stdout.splitlines()) == dirty
    out = cli("reextract", "--store", str(path), "--workers", "2")
    assert out.returncode == 0, out.stderr
    # The search index follows the new versions: the furniture the old rules kept is no longer found.
    after = cli("search", '"alternate addresses"', "--store", str(path))
    assert after.returncode == 0 and after.stdout == "" and "no stored article matches" in after.stderr
    assert out.stdout.strip() == (
        "12 pages re-extracted: 3 new versions, 1 new articles, 2 metadata updates, 6 unchanged, 0 refused, 0 crashed"
    )
    with open_store(path, readonly=True) as store:
        versions = dict(query(store, "SELECT article_id, count(*) FROM versions GROUP BY article_id"))
        exported = {i["article_id"]: i for i in store.iter_export(ExportFilter())}
    assert len(exported) == 12
    for article_id, what in done.items():
        if what == "dirty body":
            assert versions[article_id] == 2
            assert "Read more" not in exported[article_id]["body"]
            assert "alternate addresses" not in exported[article_id]["body"]
        elif what == "missing lead":
            assert versions[article_id] == 1 and exported[article_id]["lead"]
        else:
            assert versions[article_id] == 1
    # Nothing left to change: a second pass only confirms.
    again = cli("reextract", "--store", str(path))
    assert again.stdout.strip() == (
        "12 pages re-extracted: 0 new versions, 0 new articles, 0 metadata updates, 12 unchanged, 0 refused, 0 crashed"
    )


def test_reextract_since_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    build_store(path)
    with SQLiteStore(str(path), readonly=True) as store:
        dates = sorted(r[0] for r in store.execute("SELECT published_utc FROM articles"))
    since = dates[-4]  # the four newest stored articles
    out = cli("reextract", "--store", str(path), "--since", since, "--workers", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("4 pages re-extracted")

    holder = open_store(str(path), lock=True)  # a crawl writing to the store
    try:
        busy = cli("reextract", "--store", str(path))
    finally:
        holder.close()
    assert busy.returncode == 2 and "in use by another process" in busy.stderr
    assert busy.stderr.count("\n") == 1
    missing = cli("reextract", "--store", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and "no store at" in missing.stderr
    assert not (tmp_path / "none.sqlite").exists()
    bad = cli("reextract", "--store", str(path), "--workers", "0")
    assert bad.returncode == 2 and "--workers" in bad.stderr


def test_exported_json_is_the_item(store_location: str) -> None:
    """Re-extraction writes complete items: every exported line still has every field."""
    path = store_location
    build_store(path)
    again = cli("reextract", "--store", str(path))
    assert again.returncode == 0, again.stderr
    out = cli("export", "--store", str(path))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == 12
    assert all(list(r) == list(ARTICLE_FIELDS) for r in rows), "every field, in schema order"


def test_reextract_after_a_crawl_of_a_mirror_changes_nothing(tmp_path: Path) -> None:
    """Pages fetched from a mirror host no profile knows are re-read with the outlet's rules, as the crawl
    read them: unchanged rules give no new version and leave url, source_url and mirror as they were."""
    from support.crawlkit import crawl

    from crawler.testing.site.server import serve_site

    corpus = SiteCorpus()
    corpus.generate(6, layout="mix")
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ("healthy",)) as site:
        result = crawl(tmp_path, site.mirrors_arg, settings={"CRAWLER_STORE": str(store)})
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(result.items) == 6
    out = cli("reextract", "--store", str(store), "--workers", "1")
    assert out.returncode == 0, out.stderr
    assert "0 new versions" in out.stdout + out.stderr and "6 unchanged" in out.stdout + out.stderr
    export = cli("export", "--store", str(store))
    assert export.returncode == 0, export.stderr
    exported = [json.loads(line) for line in export.stdout.splitlines()]
    by_id = {i["article_id"]: i for i in result.items}
    assert sorted(i["article_id"] for i in exported) == sorted(by_id), "every crawled article exported once"
    for item in exported:
        before = by_id[item["article_id"]]
        assert (item["url"], item["source_url"], item["mirror"]) == (
            before["url"],
            before["source_url"],
            before["mirror"],
        )
        assert item["body"] == before["body"]


def test_a_page_the_new_rules_refuse_keeps_its_last_good_version(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    corpus = SiteCorpus()
    corpus.generate(3)
    good, refused = corpus.articles()[0], corpus.articles()[1]
    with SQLiteStore(str(path)) as store:
        for art in corpus.articles():
            url = BASE + art.path
            item = extract_full(art.html, url).article.to_dict()
            # The stored raw page of one article is now a page today's rules refuse (a notice, no article).
            html = pages.render_seizure_notice() if art is refused else art.html
            store.save_article(
                item, Page(url=url, html=html, status=200, encoding="utf-8", mirror="www.presstv.ir"), None
            )
    before = {i["article_id"]: i for i in SQLiteStore(str(path), readonly=True).iter_export(ExportFilter())}
    out = cli("reextract", "--store", str(path), "--workers", "1")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == (
        "3 pages re-extracted: 0 new versions, 0 new articles, 0 metadata updates, 2 unchanged, 1 refused, 0 crashed"
    )
    with SQLiteStore(str(path), readonly=True) as store:
        after = {i["article_id"]: i for i in store.iter_export(ExportFilter())}
        versions = dict(store.execute("SELECT article_id, count(*) FROM versions GROUP BY article_id"))
        failures = list(store.execute("SELECT article_id FROM failures"))
    assert after[refused.article_id] == before[refused.article_id], "the last good version is still the article"
    assert after[refused.article_id]["body"] and after[good.article_id] == before[good.article_id]
    assert versions == {a.article_id: 1 for a in corpus.articles()}
    assert failures == [], "a stored article is not recorded as failing"
