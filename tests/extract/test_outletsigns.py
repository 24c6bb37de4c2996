"""Only the outlet's own pages become articles: a page at an outlet URL without the outlet's signs (site name,
host, copyright line, logo, structured data) is refused as "not an outlet page", from any source."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from support.crawlkit import FIXTURES_ROOT
from warcio.archiveiterator import ArchiveIterator

from crawler.extract.outletsigns import NOT_OUTLET_PAGE, outlet_page_refusal
from crawler.outlet import load_outlet, parse_outlet
from crawler.pool.extraction import extract_page
from crawler.testing.site import SiteCorpus
from crawler.testing.site.pages import render_seizure_notice

URL = "https://www.presstv.ir/Detail/2017/03/06/513321/Iran-example-page"
REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "warc"


def _example_com_page() -> bytes:
    """example.com's page as captured in warcio's example.warc (a real page of another site)."""
    with open(REAL / "warcio-example.warc", "rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response":
                return bytes(record.content_stream().read())
    raise AssertionError("no response in warcio-example.warc")


def _article_html(paragraphs: list[str], head: str = "", footer: str = "") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<html><head><title>Talks resume in Vienna</title>{head}</head><body><article><h1>Talks resume in "
        f"Vienna</h1><div class='date'>Mon Mar 6, 2017 04:02AM</div>{body}</article>{footer}"
        f"</body></html>"
    ).encode()


def test_every_fixture_and_generated_article_carries_the_outlet_signs() -> None:
    outlet = load_outlet("presstv")
    pages = []
    for path in sorted((FIXTURES_ROOT / "articles").glob("*/page.html*")):
        data = path.read_bytes()
        pages.append(gzip.decompress(data) if path.suffix == ".gz" else data)
    site = SiteCorpus()
    site.generate(200, start_id=700001)
    pages += [a.html for a in site.articles()]
    assert len(pages) > 200
    assert [outlet_page_refusal(html, outlet) for html in pages] == [None] * len(pages)


def test_another_sites_page_at_an_outlet_url_is_refused_with_its_own_reason() -> None:
    outcome = extract_page(_example_com_page(), URL, "www.presstv.ir", "presstv")
    assert outcome.article is None and outcome.refused is not None
    assert outcome.refused.startswith(NOT_OUTLET_PAGE)


def test_naming_the_outlet_in_the_text_is_not_a_sign_but_its_footer_or_structured_data_is() -> None:
    outlet = load_outlet("presstv")
    text = ["Press TV reported on Monday that the talks would resume in Vienna next week, officials said."] * 6
    assert outlet_page_refusal(_article_html(text), outlet) is not None
    footer = "<footer><p>&copy; 2017 Press TV. All rights reserved.</p></footer>"
    assert outlet_page_refusal(_article_html(text, footer=footer), outlet) is None
    ld = '<script type="application/ld+json">{"publisher": {"name": "PressTV"}}</script>'
    assert outlet_page_refusal(_article_html(text, head=ld), outlet) is None
    canonical = f'<link rel="canonical" href="{URL}">'
    assert outlet_page_refusal(_article_html(text, head=canonical), outlet) is None


def test_a_seizure_notice_keeps_its_own_reason() -> None:
    site = SiteCorpus()
    site.generate(1, start_id=700001)
    url = "http://www.presstv.com" + site.articles()[0].path
    outcome = extract_page(render_seizure_notice(), url, "www.presstv.com", "presstv")
    assert outcome.refused is not None and "seizure" in outcome.refused.lower()


def test_the_signs_table_is_checked_like_every_profile_table() -> None:
    import tomllib

    import crawler
    from crawler.outlet import OutletConfigError

    profile = Path(crawler.__file__).parent / "outlet" / "profiles" / "presstv.toml"
    data = tomllib.loads(profile.read_text(encoding="utf-8"))
    assert "Press TV" in parse_outlet(data).signs
    data["signs"] = {"site_names": "Press TV"}
    with pytest.raises(OutletConfigError, match=r"\[signs\]"):
        parse_outlet(data)
    del data["signs"]
    assert parse_outlet(data).signs == ()
