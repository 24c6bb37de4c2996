"""The benchmark site's pages are as claimed: 40-120 KB, both layouts, articles with no furniture leaking."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import sitegen

from crawler.extract import extract_full

FURNITURE = (
    "Latest News",
    "All rights reserved",
    "Related story",
    "window.__",
    "SHARE THIS ARTICLE",
    "cfg",
    "Install the new version",
)


def test_pages_are_realistic_articles_and_extract_cleanly() -> None:
    pages = [sitegen.render_page(i) for i in range(6)]
    assert {p.layout for p in pages} == {"current", "bootstrap"}
    for i, page in enumerate(pages):
        assert sitegen.MIN_BYTES - 1000 <= len(page.html) <= sitegen.MAX_BYTES + 1000, len(page.html)
        spec = sitegen.spec_for(i)
        result = extract_full(page.html, page.url)
        article = result.article
        assert result.layout == page.layout
        assert article.title == spec.title
        assert article.article_id == spec.article_id
        assert article.section
        assert spec.paragraphs[0] in article.body
        assert spec.paragraphs[-1] in article.body
        for junk in FURNITURE:
            assert junk not in article.body, (junk, page.url)


def test_page_i_is_the_same_whatever_the_site_size(tmp_path: Path) -> None:
    first = [p.html for p in sitegen.iter_pages(3, cache=tmp_path)]
    again = [p.html for p in sitegen.iter_pages(5, cache=tmp_path)][:3]
    assert first == again == [sitegen.render_page(i).html for i in range(3)]
    assert sorted(f.name for f in tmp_path.iterdir()) == [f"{sitegen.START_ID + i}.html" for i in range(5)]
