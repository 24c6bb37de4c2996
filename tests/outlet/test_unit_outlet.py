"""The outlet profile's declarative loader: one schema line per key, everything compiled once, the facts that
moved out of Python (canonical path templates, section listing paths, seized domains) doing their job."""

from __future__ import annotations

import tomllib
from copy import deepcopy
from importlib import resources
from typing import Any

import pytest

from crawler import outlet as outlet_module
from crawler.outlet import Key, OutletConfigError, load_outlet, parse_outlet

PROFILE = resources.files("crawler.outlet") / "profiles" / "presstv.toml"
RAW: dict[str, Any] = tomllib.loads(PROFILE.read_text("utf-8"))
OUTLET = load_outlet("presstv")


def parse(mutate: Any = None) -> Any:
    data = deepcopy(RAW)
    if mutate is not None:
        mutate(data)
    return parse_outlet(data, "p.toml")


def test_a_new_boilerplate_key_is_one_schema_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(OutletConfigError, match="unknown key 'nav_box_phrases'"):
        parse(lambda d: d["boilerplate"].update(nav_box_phrases=["More stories"]))
    schema = {
        **outlet_module.SCHEMA,
        "boilerplate": {
            **outlet_module.SCHEMA["boilerplate"],
            "nav_box_phrases": Key("str_list", required=False, default=()),
        },
    }
    monkeypatch.setattr(outlet_module, "SCHEMA", schema)
    loaded = parse(lambda d: d["boilerplate"].update(nav_box_phrases=["More stories"]))
    assert loaded.nav_box_phrases == ("More stories",)
    assert parse().nav_box_phrases == (), "an optional key takes its default"
    with pytest.raises(OutletConfigError, match=r"\[boilerplate\]: key 'nav_box_phrases' must be a list of strings"):
        parse(lambda d: d["boilerplate"].update(nav_box_phrases=[1]))


def test_xpaths_are_checked_and_phrases_compiled_once_at_load() -> None:
    with pytest.raises(OutletConfigError, match=r"bad XPath"):
        parse(lambda d: d["layouts"][0].update(title=["//h1[@class="]))
    assert OUTLET.contains_phrase_regex is not None
    assert OUTLET.contains_phrase_regex.search(f"xx {OUTLET.contains_phrases[0]} yy")
    assert all(p == p.lower() for p in OUTLET.notice_phrases["seizure"])
    assert load_outlet("presstv") is OUTLET, "loaded once per process"


def test_canonical_urls_follow_the_era_templates() -> None:
    dated = OUTLET.canonical_url("http://presstv.tv/detail/2020/1/2/12345/-A--story-/")
    assert dated == "https://www.presstv.ir/Detail/2020/01/02/12345/A-story"
    assert (
        OUTLET.canonical_url("http://presstv.tv/video/2020/1/2/12345")
        == "https://www.presstv.ir/Video/2020/01/02/12345"
    )
    assert OUTLET.canonical_url("http://presstv.tv/detail/12345.html") == "https://www.presstv.ir/detail/12345.html"
    with pytest.raises(OutletConfigError, match=r"#2: key 'canonical' is not a path template"):
        parse(lambda d: d["article_patterns"][1].update(canonical="/Detail/{year}/{id}"))


def test_section_listing_paths_come_from_the_profile() -> None:
    assert OUTLET.parse_section_listing("/Section/101/2") == ("101", 2)
    assert OUTLET.parse_section_listing("/section/101") == ("101", 1)
    assert OUTLET.parse_section_listing("/Detail/2020/01/02/12345") is None
    with pytest.raises(OutletConfigError, match="needs a named group 'section'"):
        parse(lambda d: d["discovery"].update(section_listing_regex="^/section/(\\d+)$"))


def test_seized_domains_are_outlet_hosts_followed_elsewhere() -> None:
    seized = OUTLET.seized_domains[0]
    assert OUTLET.is_seized(f"www.{seized}") and not OUTLET.is_seized(OUTLET.canonical_host)
    only_seized = parse(lambda d: d["hosts"].update(domains=[x for x in d["hosts"]["domains"] if x != seized]))
    assert only_seized.is_outlet_host(f"www.{seized}"), "a seized domain need not be listed twice"
