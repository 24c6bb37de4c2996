"""`crawler demo` crawls the look-alike site behind four mirrors and reports what happened."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.items import ARTICLE_FIELDS
from crawler.site import FIXTURES_ROOT, SiteCorpus

pytestmark = pytest.mark.integration


def test_demo_writes_items_and_a_summary(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "crawler", "demo", "--generate", "5"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = (tmp_path / "demo-items.jsonl").read_text(encoding="utf-8").splitlines()
    items = [json.loads(line) for line in lines]
    expected = SiteCorpus.from_fixtures(FIXTURES_ROOT)
    expected.generate(5)
    assert sorted(i["article_id"] for i in items) == sorted(expected.article_ids())
    assert all(list(i) == list(ARTICLE_FIELDS) for i in items)
    out = proc.stdout
    assert f"{len(items)} articles written to demo-items.jsonl" in out
    assert "Mirrors used: healthy" in out
    assert "seizure notices" in out and "connections refused" in out and "HTTP 503" in out
    assert "Refused as non-articles: " in out and "Refused as non-articles: 0" not in out
    assert "Boilerplate lines removed by the last guard: " in out
    assert (tmp_path / "data" / "demo.sqlite").is_file()

    # A second run starts from a fresh demo store, so it finds the same articles again.
    again = subprocess.run([sys.executable, "-m", "crawler", "demo", "--generate", "5"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len((tmp_path / "demo-items.jsonl").read_text(encoding="utf-8").splitlines()) == len(items)
