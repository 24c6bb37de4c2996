"""JSON Lines exports: the per-run default feed, `crawler export` and its filters, checked against the schema."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from support.crawlkit import cli

from crawler.core.items import ARTICLE_FIELDS
from crawler.testing.site.corpus import SiteCorpus
from crawler.testing.site.server import serve_site

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FAST = ["-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-s", "CRAWLER_EXTRACT_WORKERS=1"]


def schema() -> dict[str, Any]:
    return json.loads(resources.files("crawler").joinpath("schema/article.schema.json").read_text("utf-8"))


def validate_lines(text: str) -> list[dict[str, Any]]:
    validator = jsonschema.Draft202012Validator(schema())
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        item = json.loads(line)
        errors = sorted(validator.iter_errors(item), key=str)
        assert not errors, f"line {n}: {errors[0].message}"
        items.append(item)
    return items


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One crawl of fixtures + generated articles, run in an empty folder with the project's default FEEDS."""
    work = tmp_path_factory.mktemp("export")
    corpus = SiteCorpus.from_fixtures(ROOT / "crawler" / "testing" / "fixtures" / "presstv")
    corpus.generate(10, layout="mix")
    env = dict(os.environ, SCRAPY_SETTINGS_MODULE="crawler.crawl.settings")
    store = work / "store.sqlite"
    with serve_site(corpus, ("seized", "healthy")) as site:
        cmd = [
            sys.executable,
            "-m",
            "scrapy",
            "crawl",
            "presstv",
            "-a",
            f"mirrors={site.mirrors_arg}",
            "-s",
            f"CRAWLER_STORE={store}",
            *FAST,
        ]
        first = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False)
        exports_after_first = sorted((work / "exports").glob("*.jsonl"))
        second = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False)
        third = subprocess.run(
            [*cmd, "-O", "third.jsonl"], cwd=work, env=env, capture_output=True, text=True, timeout=120, check=False
        )
    return {
        "work": work,
        "store": store,
        "first": first,
        "second": second,
        "third": third,
        "corpus": corpus,
        "exports_after_first": exports_after_first,
    }


def test_schema_ships_and_matches_the_item() -> None:
    data = schema()
    assert tuple(data["required"]) == ARTICLE_FIELDS
    # `previous` is the one optional field: only `export --edited-since` lines carry it.
    assert list(data["properties"]) == [*ARTICLE_FIELDS, "previous"]
    jsonschema.Draft202012Validator.check_schema(data)


def test_default_feed_writes_one_timestamped_file_per_run(crawled: dict[str, Any]) -> None:
    assert crawled["first"].returncode == 0, crawled["first"].stderr[-3000:]
    files = crawled["exports_after_first"]
    assert len(files) == 1 and files[0].name.startswith("presstv-")
    items = validate_lines(files[0].read_text(encoding="utf-8"))
    assert {i["article_id"] for i in items} == crawled["corpus"].article_ids()
    # The second run finds nothing new: exit 0, and no empty file littering exports/.
    assert crawled["second"].returncode == 0, crawled["second"].stderr[-3000:]
    assert sorted((crawled["work"] / "exports").glob("*.jsonl")) == files


def test_user_feed_replaces_the_default(crawled: dict[str, Any]) -> None:
    # -O out.jsonl on a store that has everything: the named file is written (empty), exports/ is untouched.
    assert crawled["third"].returncode == 0, crawled["third"].stderr[-3000:]
    assert (crawled["work"] / "third.jsonl").read_text() == ""
    assert sorted((crawled["work"] / "exports").glob("*.jsonl")) == crawled["exports_after_first"]


def test_crawler_export_validates_and_streams_everything(crawled: dict[str, Any]) -> None:
    out = cli("export", "--store", str(crawled["store"]))
    assert out.returncode == 0, out.stderr
    items = validate_lines(out.stdout)
    assert sorted(i["article_id"] for i in items) == sorted(crawled["corpus"].article_ids())
    assert f"exported {len(items)} articles" in out.stderr
    assert "\r" not in out.stderr  # no progress bar when stderr is not a terminal


def test_export_to_gzip_file(crawled: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "sub" / "articles.jsonl.gz"
    out = cli("export", "--store", str(crawled["store"]), "-o", str(target))
    assert out.returncode == 0, out.stderr
    with gzip.open(target, "rt", encoding="utf-8") as fh:
        items = validate_lines(fh.read())
    assert len(items) == len(crawled["corpus"].article_ids())
    assert not list(tmp_path.glob("sub/*.part"))


def test_export_filters(crawled: dict[str, Any], tmp_path: Path) -> None:
    store = str(crawled["store"])
    everything = validate_lines(cli("export", "--store", store).stdout)
    section = next(i["section"] for i in everything if i["section"])
    by_section = validate_lines(cli("export", "--store", store, "--section", section.upper()).stdout)
    assert by_section and {i["article_id"] for i in by_section} == {
        i["article_id"] for i in everything if i["section"] == section
    }

    def utc(item: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(item["published"]).astimezone(UTC)

    dated = sorted((i for i in everything if i["published"]), key=utc)
    cut = utc(dated[len(dated) // 2]).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    since = validate_lines(cli("export", "--store", store, "--since", cut).stdout)
    until = validate_lines(cli("export", "--store", store, "--until", cut).stdout)
    assert {i["article_id"] for i in since} == {i["article_id"] for i in dated if utc(i) >= utc(dated[len(dated) // 2])}
    assert {i["article_id"] for i in since} | {i["article_id"] for i in until} == {i["article_id"] for i in dated}
    assert not {i["article_id"] for i in since} & {i["article_id"] for i in until}
    # Everything was stored today: changed since yesterday is all, changed since tomorrow is nothing.
    assert len(validate_lines(cli("export", "--store", store, "--changed-since", "1d").stdout)) == len(everything)
    assert cli("export", "--store", store, "--changed-since", "2999-01-01").stdout == ""


def test_export_bad_input_is_one_line(crawled: dict[str, Any], tmp_path: Path) -> None:
    bad_date = cli("export", "--store", str(crawled["store"]), "--since", "last tuesday")
    assert bad_date.returncode == 2 and bad_date.stderr.count("\n") == 1 and "--since" in bad_date.stderr
    missing = cli("export", "--store", str(tmp_path / "nothing.sqlite"))
    assert missing.returncode == 2 and "no store at" in missing.stderr and missing.stderr.count("\n") == 1
