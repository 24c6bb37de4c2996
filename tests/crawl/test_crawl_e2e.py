"""End to end: the real `scrapy crawl presstv` behind four mirrors, and without any reachable mirror."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.crawlkit import CrawlResult

from crawler.core.items import ARTICLE_FIELDS
from crawler.outlet import load_outlet
from crawler.testing.site import FIXTURES_ROOT, RunningSite
from crawler.testing.site.server import closed_port

pytestmark = pytest.mark.integration

OUTLET = load_outlet("presstv")


def _fixture_excludes() -> dict[str, list[str]]:
    """body_excludes of every article fixture, by article id."""
    out: dict[str, list[str]] = {}
    for folder in sorted((FIXTURES_ROOT / "articles").glob("*/")):
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        expected_file = folder / "expected.json"
        if not expected_file.is_file():
            continue
        expected: dict[str, Any] = json.loads(expected_file.read_text(encoding="utf-8"))
        aid = OUTLET.article_id(meta["url"])
        if aid:
            out.setdefault(aid, []).extend(expected.get("body_excludes", []))
    return out


def test_four_mirrors_every_article_once_from_the_healthy_mirror_clean(
    four_mirrors: RunningSite, run_crawl: Callable[..., CrawlResult]
) -> None:
    result = run_crawl(four_mirrors.mirrors_arg)
    assert result.returncode == 0, result.stderr[-3000:]
    ids = [item["article_id"] for item in result.items]
    assert len(ids) == len(set(ids)), "one item per article id"
    assert set(ids) == four_mirrors.corpus.article_ids()
    healthy = four_mirrors.mirror("healthy").netloc
    assert {item["mirror"] for item in result.items} == {healthy}

    # Listings, seizure notices, challenge/error/headline pages and 404s produced no item.
    non_articles = four_mirrors.corpus.article_ids(only_articles=False) - four_mirrors.corpus.article_ids()
    assert non_articles and not non_articles & set(ids)
    assert not any("/Section/" in item["source_url"] for item in result.items)

    # Clean: no furniture phrase, and every fixture's own exclude list holds.
    excludes = _fixture_excludes()
    for item in result.items:
        # A line phrase is furniture as a whole line ("Last Week" as a tab, not "in Vienna last week"); a
        # contained phrase anywhere.
        lines = {line.strip().rstrip(":").strip().lower() for line in item["body"].split("\n")}
        for phrase in OUTLET.line_phrases:
            assert phrase.strip().rstrip(":").strip().lower() not in lines, (item["article_id"], phrase)
        for phrase in OUTLET.contains_phrases:
            assert phrase.lower() not in item["body"].lower(), (item["article_id"], phrase)
        for snippet in excludes.get(item["article_id"], []):
            assert snippet not in item["body"], (item["article_id"], snippet)
        assert item["url"].startswith("https://www.presstv.ir/")

    # The failing mirrors were really asked, and the decisions counted.
    for name in ("seized", "503"):
        assert four_mirrors.requests_for(name), f"{name} mirror never asked"
    assert result.stats["failover/seizure"] >= 1
    assert result.stats["failover/http_503"] >= 1
    assert (
        result.stats.get("failover/connection_refused", 0) + result.stats.get("failover/robots_connection_refused", 0)
        >= 1
    )
    assert result.stats["mirror/set_aside"] == 3
    assert result.stats["extract/refused"] >= 2


def test_export_is_one_utf8_json_object_per_line_with_the_schema_fields(
    site: RunningSite, run_crawl: Callable[..., CrawlResult]
) -> None:
    result = run_crawl(site.mirrors_arg, "sources=rss")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.raw_lines
    for line in result.raw_lines:
        text = line.decode("utf-8")  # raises on anything but UTF-8
        obj = json.loads(text)
        assert isinstance(obj, dict)
        assert list(obj) == list(ARTICLE_FIELDS)
    french = [json.loads(line) for line in result.raw_lines if json.loads(line)["language"] == "fr"]
    assert french and any(ord(ch) > 127 for ch in french[0]["body"]), "non-ASCII text written as UTF-8"
    assert "\\u00" not in result.output.read_text(encoding="utf-8")


def test_no_reachable_mirror_ends_with_one_clear_line_and_status_1(
    tmp_path: Path, run_crawl: Callable[..., CrawlResult]
) -> None:
    mirrors = ",".join(f"http://127.0.0.1:{p}" for p in (closed_port(), closed_port(), closed_port()))
    result = run_crawl(mirrors, settings={"LOG_LEVEL": "WARNING"})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"no Press TV mirror could be reached (tried: {mirrors.replace(',', ', ')})"
    assert "Traceback" not in result.stderr
    assert result.items == []
    assert result.stats["finish_reason"] == "no_mirror_reachable"
