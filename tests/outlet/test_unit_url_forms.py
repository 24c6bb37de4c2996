"""Every article URL form Press TV used maps to one article id, and backfills ask the archives for each form."""

from __future__ import annotations

from datetime import date

import pytest

from crawler.archives.cdx import plan_shards
from crawler.outlet import load_outlet

OUTLET = load_outlet("presstv")


@pytest.mark.parametrize(
    "url",
    [
        "http://www.presstv.ir/detail.aspx?id=130017&sectionid=3510203",
        "http://presstv.ir/Detail.aspx?sectionid=3510203&id=130017",
        "https://www.presstv.com/detail.aspx?id=130017",
        "/detail.aspx?id=130017&sectionid=351020101",
        "https://www.presstv.ir/detail/130017.html",
    ],
)
def test_the_2008_2011_form_and_the_2012_form_name_the_same_article(url: str) -> None:
    parsed = OUTLET.parse_article_url(url)
    assert parsed is not None and parsed.article_id == "130017"


def test_the_detail_aspx_form_has_one_canonical_url_whatever_the_other_query_fields() -> None:
    urls = [
        "http://www.presstv.ir/detail.aspx?id=130017&sectionid=3510203",
        "http://presstv.ir/Detail.aspx?sectionid=1&id=130017",
    ]
    assert {OUTLET.canonical_url(u) for u in urls} == {"https://www.presstv.ir/detail.aspx?id=130017"}


@pytest.mark.parametrize(
    "url",
    [
        "http://www.presstv.ir/detail.aspx?sectionid=3510203",  # no id
        "http://www.presstv.ir/detail.aspx?sectionid=130017",  # an id of another kind
        "http://www.presstv.ir/detail.aspx?id=abc",
        "http://www.example.com/detail.aspx?id=130017",  # another site
        "http://www.presstv.ir/section.aspx?id=130017",
    ],
)
def test_urls_that_only_look_like_the_old_form_are_no_articles(url: str) -> None:
    assert OUTLET.parse_article_url(url) is None


def test_dated_urls_with_a_query_keep_their_id_and_date() -> None:
    parsed = OUTLET.parse_article_url("https://www.presstv.ir/Detail/2020/01/02/615616/Story?utm_source=x")
    assert parsed is not None and (parsed.article_id, parsed.path_date) == ("615616", date(2020, 1, 2))


def test_a_backfill_up_to_2012_asks_for_the_detail_aspx_form_on_every_domain() -> None:
    arch = OUTLET.archives
    shards = plan_shards(
        ["presstv.ir", "presstv.com"],
        dated_heads=arch["dated_heads"],
        undated_heads=arch["undated_heads"],
        undated_until=arch["undated_until"],
        id_prefix_digits=int(arch["id_prefix_digits"]),
        since=date(2010, 1, 1),
        until=date(2010, 12, 31),
    )
    aspx = [s.prefix for s in shards if "detail.aspx" in s.prefix]
    assert "presstv.ir/detail.aspx?id=13" in aspx and "presstv.com/detail.aspx?id=13" in aspx
    # Every id of the old form falls under exactly one of the prefixes asked for.
    for article_id in ("130017", "99001", "2101"):
        url = f"presstv.ir/detail.aspx?id={article_id}&sectionid=3510203"
        assert sum(url.startswith(p) for p in aspx) == 1, article_id
    # No dated path follows `id=`, so its ids starting 19 or 20 need no finer cut: one query per two digits.
    assert len([p for p in aspx if p.startswith("presstv.ir/")]) == 90
    assert "presstv.ir/detail.aspx?id=20" in aspx
