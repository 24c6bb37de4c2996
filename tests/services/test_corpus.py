"""Reading a corpus crawled from the look-alike site: search, diff of an article edited on the site, coverage of
deliberately missing ids, and the archive served by `crawler serve` in a real headless Chromium."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.crawlkit import REPO_ROOT, cli, crawl
from support.storekit import BACKENDS, fresh_schema, postgres_url

from crawler.core.items import Article, content_hash
from crawler.store.sqlite import SQLiteStore
from crawler.testing.site import SiteCorpus, faults, serve_site

pytestmark = pytest.mark.integration

EDITED = "780016"
REMOVED = "780004"  # never linked anywhere: never seen
REFUSED = "780008"  # served as a page that is not an article
FAILED = "780018"  # linked, but every request for it answers 404
NEW_SENTENCE = "The ministry later said the talks would resume next week in Geneva."
FURNITURE = '"alternate addresses"'  # the site's footer note on every page


def _crawl_corpus(work: Path, store: Path | str) -> dict[str, Any]:
    """20 articles published every other day from 2026-03-03 to 2026-04-10 (ids 780001-780020), crawled twice
    into `store`; before the second crawl one article's sentence is rewritten on the site."""
    corpus = SiteCorpus(now=datetime(2026, 4, 11, 9))
    corpus.generate(20, start=datetime(2026, 4, 10, 12), interval=timedelta(days=2))
    corpus.remove_article(REMOVED)
    corpus.update_article(REFUSED, html=b"<html><head><title>Gallery</title></head><body><p>Photos.</p></body></html>")
    with serve_site(corpus, ["healthy"]) as site:
        target = corpus.get(FAILED)
        assert target is not None
        site.override(target.path, faults.status(404))
        first = crawl(work, site.mirrors_arg, settings={"CRAWLER_STORE": str(store)})
        assert first.returncode == 0, first.stderr[-3000:]
        article = corpus.get(EDITED)
        assert article is not None and article.spec is not None
        old_sentence = article.spec.paragraphs[2]
        paragraphs = list(article.spec.paragraphs)
        paragraphs[2] = NEW_SENTENCE
        corpus.update_article(EDITED, paragraphs=paragraphs)
        second = crawl(
            work, site.mirrors_arg, "full=1", settings={"CRAWLER_STORE": str(store)}, output_name="second.jsonl"
        )
        assert second.returncode == 0, second.stderr[-3000:]
        assert [i["article_id"] for i in second.items] == [EDITED]
    return {"work": work, "store": store, "corpus": corpus, "old_sentence": old_sentence}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The corpus crawled into a SQLite store (what `crawler serve` reads)."""
    work = tmp_path_factory.mktemp("corpus")
    return _crawl_corpus(work, work / "store.sqlite")


@pytest.fixture(scope="module")
def crawled_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The corpus crawled into a PostgreSQL store (a schema of its own)."""
    with fresh_schema(postgres_url()) as url:
        yield _crawl_corpus(tmp_path_factory.mktemp("corpus-pg"), url)


@pytest.fixture(params=[pytest.param(b, marks=[pytest.mark.postgres] if b == "postgresql" else []) for b in BACKENDS])
def crawled_store(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The crawled corpus on each backend; its "store" is the store's location as a string."""
    found: dict[str, Any] = request.getfixturevalue("crawled" if request.param == "sqlite" else "crawled_postgres")
    return {**found, "store": str(found["store"])}


def test_search_finds_body_text_and_not_furniture(crawled_store: dict[str, Any]) -> None:
    store = crawled_store["store"]
    phrase = crawled_store["corpus"].get("780011").spec.paragraphs[4].split()[:6]
    found = cli("search", '"' + " ".join(phrase) + '"', "--json", "--store", store)
    assert found.returncode == 0, found.stderr
    assert "780011" in [json.loads(line)["article_id"] for line in found.stdout.splitlines()]
    furniture = cli("search", FURNITURE, "--store", store)
    assert furniture.returncode == 0 and furniture.stdout == ""
    edited = cli("search", '"talks would resume"', "--store", store)
    assert f"({EDITED})" in edited.stdout and "[talks would resume]" in edited.stdout
    assert cli("search", f'"{" ".join(crawled_store["old_sentence"].split()[:8])}"', "--store", store).stdout == ""


def test_diff_shows_the_sentence_edited_on_the_site(crawled_store: dict[str, Any]) -> None:
    out = cli("diff", EDITED, "--store", crawled_store["store"])
    assert out.returncode == 0, out.stderr
    assert re.findall(r"\[-(.*?)-\]", out.stdout) == [crawled_store["old_sentence"]]
    assert re.findall(r"\{\+(.*?)\+\}", out.stdout) == [NEW_SENTENCE]
    assert "title: unchanged" in out.stdout
    edited = cli("export", "--edited-since", "1d", "--store", crawled_store["store"])
    items = [json.loads(line) for line in edited.stdout.splitlines()]
    assert [i["article_id"] for i in items] == [EDITED]
    assert crawled_store["old_sentence"] in items[0]["previous"]["body"] and NEW_SENTENCE in items[0]["body"]


def test_coverage_reports_the_missing_ids_in_their_months(crawled_store: dict[str, Any]) -> None:
    out = cli("coverage", "--json", "--since", "2026-03-01", "--until", "2026-05-01", "--store", crawled_store["store"])
    assert out.returncode == 0, out.stderr
    rows = {r["period"]: r for r in map(json.loads, out.stdout.splitlines())}
    # March: 780001-780015 published, 780004 never linked, 780008 refused. April: 780016-780020, 780018 failed.
    march, april = rows["2026-03"], rows["2026-04"]
    assert (march["low_id"], march["high_id"], march["stored"]) == (780001, 780015, 13)
    assert (march["never_seen"], march["failed"], sum(march["refused"].values())) == (1, 0, 1)
    assert (april["low_id"], april["high_id"], april["stored"]) == (780016, 780020, 4)
    assert (april["never_seen"], april["failed"], sum(april["refused"].values())) == (0, 1, 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(crawled: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """`crawler serve` on the crawled store in a subprocess, until the test ends."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler", "serve", "--port", str(port), "--store", str(crawled["store"])],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/-/versions.json", timeout=5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"crawler serve did not start: {proc.communicate()[1][-2000:]}") from None
            time.sleep(0.2)
    try:
        yield {**crawled, "base": base, "db": crawled["store"].stem}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def _chromium() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


@pytest.mark.skipif(
    not (shutil.which("chromium") and shutil.which("chromedriver")),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
    ".ci/run installs them)",
)
def test_the_archive_and_the_coverage_page_in_a_browser(served: dict[str, Any], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never try to download a browser or driver
    store: Path = served["store"]
    before = _fingerprint(store)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    report = tmp_path / "coverage.html"
    assert cli("coverage", "--html", str(report), "--store", str(store)).returncode == 0
    base, db = served["base"], served["db"]
    driver = _chromium()
    try:
        driver.get(base + "/")
        assert "Press TV archive" in driver.title
        assert "archive" in driver.find_element(By.TAG_NAME, "body").text

        # Search for a sentence only the edited article has.
        driver.get(f"{base}/{db}/archive")
        assert driver.find_element(By.TAG_NAME, "h1").text.startswith("Articles")
        box = driver.find_element(By.NAME, "_search")
        box.send_keys("talks would resume")
        box.submit()
        rows = driver.find_elements(By.CSS_SELECTOR, "table.rows-and-columns tbody tr")
        assert len(rows) == 1 and f"({EDITED})" in rows[0].text
        driver.execute_script("document.querySelector('h3').scrollIntoView()")  # the hits, past the column notes
        driver.save_screenshot(str(shots / "archive-search.png"))

        # A section facet narrows the list to that section.
        driver.get(f"{base}/{db}/archive")
        facet = driver.find_element(By.CSS_SELECTOR, 'div[data-column="section"] ul li')
        name, count = re.match(r"(.+?) (\d+)$", facet.text.strip()).groups()  # type: ignore[union-attr]
        facet.find_element(By.TAG_NAME, "a").click()
        sections = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "td.col-section")]
        assert sections == [name] * int(count) and 0 < int(count) < 17
        driver.get(f"{base}/{db}/archive")
        driver.save_screenshot(str(shots / "archive.png"))

        # The article's page shows both versions: the new sentence in one, the old in the other.
        driver.get(f"{base}/{db}/archive?_search=talks+would+resume")
        driver.find_element(By.CSS_SELECTOR, "a.versions").click()
        versions = driver.find_elements(By.CSS_SELECTOR, "table.rows-and-columns tbody tr")
        assert len(versions) == 2
        page = driver.find_element(By.TAG_NAME, "body").text
        assert "An article and its versions" in page
        driver.save_screenshot(str(shots / "article-versions.png"))

        # The coverage page: self-contained, its four charts drawn.
        driver.get(report.as_uri())
        images = driver.find_elements(By.CSS_SELECTOR, "figure img")
        assert len(images) == 4
        assert all(
            driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
            for img in images
        )
        assert (
            driver.execute_script(
                "return performance.getEntriesByType('resource').filter(e => !e.name.startsWith('data:')).length"
            )
            == 0
        )
        driver.save_screenshot(str(shots / "coverage.png"))
    finally:
        driver.quit()
    assert _fingerprint(store) == before, "serving changed the store file"
    copy_to = os.environ.get("CRAWLER_SCREENSHOTS_DIR")
    if copy_to:  # how the manual's pictures are made: CRAWLER_SCREENSHOTS_DIR=docs pytest -k browser
        shutil.copy(shots / "archive-search.png", Path(copy_to) / "archive.png")
        shutil.copy(shots / "coverage.png", Path(copy_to) / "coverage.png")


def test_the_archive_sees_what_a_crawl_commits_while_it_serves(served: dict[str, Any]) -> None:
    body = "A sentence about a lighthouse that no other article has."
    # The store is shared by this module's tests (in any order): the article is dated outside the months the
    # coverage test reads, and its words match no other test's search.
    with SQLiteStore(str(served["store"]), commit_items=1) as writer:
        writer.save_article(
            Article(
                article_id="780099",
                url="https://www.presstv.ir/Detail/2026/07/11/780099/x",
                source_url="u",
                mirror="m",
                title="Lighthouse",
                lead="",
                body=body,
                published="2026-07-11T10:00:00+04:30",
                content_hash=content_hash(body),
            ),
            None,
            None,
        )
        # The write is committed but still in the WAL (the writer is open): the archive reads it all the same.
        url = f"{served['base']}/{served['db']}/archive.json?_search=lighthouse&_shape=array&_col=title"
        with urllib.request.urlopen(url, timeout=10) as answer:
            assert [row["title"] for row in json.load(answer)] == ["Lighthouse"]
