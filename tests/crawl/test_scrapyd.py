"""Deploy the project to a real Scrapyd on loopback, schedule a crawl of the look-alike site, check the items."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.core.items import ARTICLE_FIELDS
from crawler.testing.site.corpus import SiteCorpus
from crawler.testing.site.server import closed_port, serve_site

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def api(base: str, endpoint: str, data: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(f"{base}/{endpoint}", data=body, timeout=10) as resp:
        result: dict[str, Any] = json.loads(resp.read())
    assert result.get("status") == "ok", result
    return result


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real Scrapyd (the venv's) on a free loopback port, all its files in a temporary folder."""
    home = tmp_path / "scrapyd"
    home.mkdir()
    port = closed_port()
    (home / "scrapyd.conf").write_text(
        f"[scrapyd]\nbind_address = 127.0.0.1\nhttp_port = {port}\npoll_interval = 0.5\nmax_proc = 1\n"
        "eggs_dir = eggs\nlogs_dir = logs\nitems_dir = items\ndbs_dir = dbs\n"
    )
    proc = subprocess.Popen([str(BIN / "scrapyd")], cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                api(base, "daemonstatus.json")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("scrapyd did not start") from None
                time.sleep(0.2)
        yield base, home
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_deploy_and_crawl_through_scrapyd(scrapyd: tuple[str, Path], tmp_path: Path) -> None:
    base, home = scrapyd
    # Deploy exactly as a user does (`scrapyd-deploy` with scrapy.cfg's [deploy] target), from a copy of the
    # project so the build's by-products stay out of the checkout.
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "crawler", project / "crawler", ignore=shutil.ignore_patterns("__pycache__"))
    cfg = (ROOT / "scrapy.cfg").read_text()
    assert "[deploy]" in cfg
    (project / "scrapy.cfg").write_text(cfg.replace("http://127.0.0.1:6800/", base + "/"))
    deploy = subprocess.run(
        [str(BIN / "scrapyd-deploy"), "-v", "1"], cwd=project, capture_output=True, text=True, timeout=60, check=False
    )
    assert deploy.returncode == 0, deploy.stderr[-2000:]
    assert "presstv" in api(base, "listspiders.json?project=crawler")["spiders"]

    corpus = SiteCorpus()
    corpus.generate(8)
    store = tmp_path / "store.sqlite"
    with serve_site(corpus, ("refuse", "healthy")) as site:
        job = api(
            base,
            "schedule.json",
            [
                ("project", "crawler"),
                ("spider", "presstv"),
                ("mirrors", site.mirrors_arg),
                ("setting", f"CRAWLER_STORE={store}"),
                ("setting", "AUTOTHROTTLE_ENABLED=0"),
                ("setting", "DOWNLOAD_DELAY=0"),
                ("setting", "CRAWLER_EXTRACT_WORKERS=1"),
            ],
        )["jobid"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = api(base, "listjobs.json?project=crawler")
            if any(j["id"] == job for j in jobs["finished"]):
                break
            time.sleep(0.5)
        else:
            pytest.fail("the scrapyd job did not finish within 60 s")

    items_file = home / "items" / "crawler" / "presstv" / f"{job}.jl"
    log = (home / "logs" / "crawler" / "presstv" / f"{job}.log").read_text(errors="replace")
    assert items_file.exists(), log[-3000:]
    items = [json.loads(line) for line in items_file.read_text(encoding="utf-8").splitlines()]
    assert sorted(i["article_id"] for i in items) == sorted(corpus.article_ids()), log[-4000:]
    assert all(list(i) == list(ARTICLE_FIELDS) for i in items)
    db = sqlite3.connect(store)
    assert db.execute("SELECT status, new FROM runs").fetchall() == [("ok", len(items))]
