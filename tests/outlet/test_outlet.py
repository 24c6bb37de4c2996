"""The outlet profile as data: validation that names the bad key, URL patterns of every era, mirrors."""

from __future__ import annotations

import tomllib
from copy import deepcopy
from importlib import resources
from typing import Any

import pytest

from crawler.outlet import OutletConfigError, load_outlet, load_outlet_file, outlet_for_url, parse_outlet

OUTLET = load_outlet("presstv")
PROFILE = resources.files("crawler.outlet") / "profiles" / "presstv.toml"
RAW: dict[str, Any] = tomllib.loads(PROFILE.read_text("utf-8"))


def bad(mutate: Any) -> str:
    data = deepcopy(RAW)
    mutate(data)
    with pytest.raises(OutletConfigError) as err:
        parse_outlet(data, "presstv.toml")
    return str(err.value)


def test_bundled_profile_loads() -> None:
    assert OUTLET.name == "presstv" and OUTLET.canonical_host == "www.presstv.ir"
    assert [layout.name for layout in OUTLET.layouts] == ["current", "bootstrap", "2012"]


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda d: d["outlet"].pop("timezone"), "'timezone'"),
        (lambda d: d["outlet"].update(timezone="Mars/Olympus"), "'timezone'"),
        (lambda d: d["layouts"][0].update(titel=["//h1"]), "'titel'"),
        (lambda d: d["layouts"][1].update(body="//div"), "'body'"),
        (lambda d: d["layouts"][0].update(title=["//h1[@class="]), "'title'"),
        (lambda d: d["layouts"][0].update(prune=["//div[@class='x']"]), "'prune'"),
        (lambda d: d["article_patterns"][0].update(regex="^/detail/(\\d+)\\.html$"), "'id'"),
        (lambda d: d["article_patterns"][0].update(regex="^/detail/(?P<id>\\d+"), "[[article_patterns]]"),
        (lambda d: d["boilerplate"].update(line_phrase=["x"]), "'line_phrase'"),
        (lambda d: d["boilerplate"].pop("read_more_regex"), "'read_more_regex'"),
        (lambda d: d["non_article"].update(seizure="seized"), "'seizure'"),
        (lambda d: d["hosts"].update(domain=["x.ir"]), "'domain'"),
        (lambda d: d["mirrors"].update(default=["ftp://presstv.ir"]), "'default'"),
    ],
)
def test_bad_profile_gives_an_error_naming_the_key(mutate: Any, names: str) -> None:
    assert names in bad(mutate)


def test_bad_file_errors(tmp_path: Any) -> None:
    with pytest.raises(OutletConfigError, match="no such outlet file"):
        load_outlet_file(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[outlet\nname = 1", encoding="utf-8")
    with pytest.raises(OutletConfigError, match="not valid TOML"):
        load_outlet_file(broken)


@pytest.mark.parametrize(
    ("url", "article_id", "era", "day"),
    [
        ("http://www.presstv.ir/detail/222208.html", "222208", "2012", None),
        ("http://www.presstv.ir/detail/2013/11/04/334416/iran-p51-talks/", "334416", "dated", "2013-11-04"),
        ("https://www.presstv.ir/Video/2015/06/02/413051/Iran-Talks", "413051", "video", "2015-06-02"),
        ("https://www.presstv.co.uk/Detail/2026/08/15/774416/Iran-urges", "774416", "dated", "2026-08-15"),
        ("https://www.presstv.ir/Detail/2019/1/23/586614/Russia-warns", "586614", "dated", "2019-01-23"),
        ("https://presstv.ir/detail/2026/8/5/774397/-Iran-urges-Muslim-states", "774397", "dated", "2026-08-05"),
        ("https://www.presstv.com/Detail/2018/02/09/551270/North-Korea--Olympics-", "551270", "dated", "2018-02-09"),
        ("https://presstv.ir/Detail/2025/04/12/746029/Yemen%E2%80%99s-Red%20Sea,-", "746029", "dated", "2025-04-12"),
        ("https://www.presstv.ir/Detail/2021/06/20/660736/Raisi-pledges,-poverty/", "660736", "dated", "2021-06-20"),
        ("https://123456789.r.worldcdn.net/DETAIL/2024/1/2/716000/X", "716000", "dated", "2024-01-02"),
        ("https://french.presstv.ir/Detail/2026/10/02/777604/L%E2%80%99Iran", "777604", "dated", "2026-10-02"),
        ("https://www.presstv.ir/Detail/2026/08/15/774416", "774416", "dated", "2026-08-15"),
    ],
)
def test_article_url_patterns_of_every_era(url: str, article_id: str, era: str, day: str | None) -> None:
    parsed = OUTLET.parse_article_url(url)
    assert parsed is not None
    assert parsed.article_id == article_id and parsed.era == era
    assert (parsed.path_date.isoformat() if parsed.path_date else None) == day


@pytest.mark.parametrize(
    "url",
    [
        "https://www.presstv.co.uk/Section/10101/1",
        "https://www.presstv.co.uk/",
        "https://www.presstv.co.uk/rss.xml",
        "https://cdn.presstv.ir/Photo/2026/8/15/abc.jpg",
        "https://www.example.com/Detail/2026/08/15/774416/X",
        "https://www.presstv.ir/Detail/2026/08/15/abc/X",
        "mailto:someone@presstv.ir",
    ],
)
def test_other_urls_are_not_articles(url: str) -> None:
    assert OUTLET.article_id(url) is None


def test_every_variant_of_one_article_has_one_id_and_canonical_url() -> None:
    variants = [
        "https://www.presstv.co.uk/Detail/2026/08/15/774416/Iran-urges-UN",
        "https://presstv.ir/Detail/2026/8/15/774416/Iran-urges-UN",
        "http://123456789.r.worldcdn.net/detail/2026/08/15/774416/Iran-urges-UN-",
        "https://www.presstv.com/Detail/2026/08/15/774416/-Iran-urges--UN/",
        "http://presstv.tv/DETAIL/2026/08/15/774416/Iran-urges-UN?utm_source=rss#top",
    ]
    assert {OUTLET.article_id(u) for u in variants} == {"774416"}
    assert {OUTLET.canonical_url(u) for u in variants} == {
        "https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN"
    }


def test_canonical_url_keeps_language_site_and_2012_paths() -> None:
    assert OUTLET.canonical_url("https://french.presstv.ir/Detail/2026/10/2/777604/X") == (
        "https://french.presstv.ir/Detail/2026/10/02/777604/X"
    )
    assert OUTLET.canonical_url("http://presstv.ir/detail/222208.html") == "https://www.presstv.ir/detail/222208.html"


def test_hosts_and_mirror_mapping() -> None:
    for host in (
        "presstv.ir",
        "www.presstv.co.uk",
        "presstv.com",
        "www.presstv.tv",
        "987654321.r.worldcdn.net",
        "french.presstv.ir",
        "WWW.PRESSTV.IR.",
    ):
        assert OUTLET.is_outlet_host(host), host
    for host in ("cdn.presstv.ir", "live.presstv.ir", "hispantv.com", "r.worldcdn.net", "evilpresstv.ir"):
        assert not OUTLET.is_outlet_host(host), host
    assert OUTLET.map_to_mirror("https://presstv.ir/Detail/2026/8/15/774416/X?a=1", "http://127.0.0.1:8081") == (
        "http://127.0.0.1:8081/Detail/2026/8/15/774416/X?a=1"
    )
    assert OUTLET.map_to_mirror("https://example.com/x", "http://127.0.0.1:8081") == "https://example.com/x"
    assert OUTLET.language_for_host("french.presstv.ir") == "fr"
    assert OUTLET.language_for_host("www.presstv.co.uk") == "en"
    assert outlet_for_url("https://www.presstv.co.uk/x") is OUTLET
    assert outlet_for_url("https://www.bbc.co.uk/news") is None
