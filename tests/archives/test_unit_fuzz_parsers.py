"""Hostile input to the feed and sitemap parsers, the WARC reader, the Common Crawl record reader and the Wayback
CDX JSON parser: never a crash, only links, pages, reported skips or the parser's own one-line error
(property-based, Hypothesis, with the input families of fuzzkit.py that bench/fuzz.py runs for minutes)."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.fuzzkit import (
    CDX_ANSWER,
    FEED,
    SITEMAP,
    TARGETS,
    WARC_GZ,
    WARC_RECORD,
    Case,
    mutate,
    parse_discovery,
    read_warc,
)

from crawler.archives.cdx import CdxError, parse_cdx_json
from crawler.archives.commoncrawl import CommonCrawlError, parse_collinfo, parse_index, read_record
from crawler.archives.warc import WarcPage

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _families(*targets: str) -> st.SearchStrategy[tuple[str, Case]]:
    """A case of any family of the given targets, with the target it is for."""
    return st.one_of(
        *[st.tuples(st.just(name), family) for name in targets for family in TARGETS[name].families.values()]
    )


@FUZZ
@given(_families("feed", "sitemap"))
def test_feeds_and_sitemaps_cut_short_bit_flipped_gzipped_nested_or_random(pair: tuple[str, Case]) -> None:
    name, case = pair
    assert TARGETS[name].run(case) in ("links", "no links")


@FUZZ
@given(_families("warc"))
def test_warc_files_cut_short_bit_flipped_with_junk_or_random(pair: tuple[str, Case]) -> None:
    name, case = pair
    assert TARGETS[name].run(case) in ("pages", "skips only", "nothing")


@FUZZ
@given(_families("commoncrawl"))
def test_common_crawl_records_cut_short_bit_flipped_or_random(pair: tuple[str, Case]) -> None:
    name, case = pair
    assert TARGETS[name].run(case) in ("page", "error")


@FUZZ
@given(_families("cdx"))
def test_cdx_answers_cut_short_bit_flipped_nested_or_random(pair: tuple[str, Case]) -> None:
    name, case = pair
    assert TARGETS[name].run(case) in ("captures", "none", "error")


def test_a_sitemap_whose_namespace_a_bit_flip_broke_is_read_without_a_crash() -> None:
    # Found by the property test above: lxml recovers a root tag that etree.QName refuses.
    parse_discovery(mutate(SITEMAP, 0.66796875, [6204]), "sitemap")


def test_the_untouched_inputs_give_their_links() -> None:
    # The property tests above would pass on a parser that returns nothing: the real inputs must give links.
    assert len(parse_discovery(FEED, "feed")) == 2 and len(parse_discovery(SITEMAP, "sitemap")) == 1
    assert len(parse_discovery(gzip.compress(FEED), "feed")) == 2


def test_a_garbled_member_whose_offset_warcio_miscounts_still_ends() -> None:
    # Found by the property test above: warcio's offset fell behind on garbage and reading went backwards.
    read_warc(mutate(WARC_GZ, 0.607421875, [333, 11217]))


def test_the_untouched_archives_give_their_pages() -> None:
    assert len([o for o in read_warc(WARC_GZ) if isinstance(o, WarcPage)]) == 3
    assert read_record(WARC_RECORD).url == "https://www.presstv.ir/Detail/2026/08/15/774410/X"
    captures, resume = parse_cdx_json(CDX_ANSWER.decode())
    assert len(captures) == 2 and resume == "resume-key-1"


HOSTILE_JSON = [
    "[" * 100_000 + "]" * 100_000,
    '[["original","timestamp"],["u",' + "7" * 5000 + "]]",
    '[{"id": ' + "7" * 5000 + "}]",
    "[[" + "[" * 300 + "]" * 300 + "]]",
]


@pytest.mark.parametrize("text", HOSTILE_JSON)
def test_a_cdx_answer_nested_too_deep_or_with_a_huge_number_is_a_one_line_cdx_error(text: str) -> None:
    # Found by bench/fuzz.py: json raised RecursionError and ValueError (integer too long) past the parser, and a
    # header row of garbage was quoted whole in the error.
    with pytest.raises(CdxError) as caught:
        parse_cdx_json(text)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200


@pytest.mark.parametrize("text", HOSTILE_JSON[:3])  # the last is valid JSON: an empty list of crawls
def test_a_common_crawl_answer_nested_too_deep_or_with_a_huge_number_is_a_common_crawl_error(text: str) -> None:
    # The same JSON decoder reads collinfo.json and the index's NDJSON lines.
    with pytest.raises(CommonCrawlError) as caught:
        parse_collinfo(text)
    assert len(str(caught.value)) < 200
    with pytest.raises(CommonCrawlError) as caught:
        parse_index(200, text)
    assert len(str(caught.value)) < 200
