"""Without the optional extras (Datasette, uvicorn, matplotlib, psycopg, redis blocked from import), the crawler
still crawls, stores on SQLite and exports, and a command that needs a missing extra says in one line what to
install. The block is a meta path finder every process of the run loads (the demo's crawl child included)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BLOCKED = ("datasette", "uvicorn", "matplotlib", "psycopg", "redis", "scrapy_redis")

SITECUSTOMIZE = '''
import importlib.util
import os
import sys

BLOCKED = {blocked!r}


class Refuse:
    """Refuses the optional packages as if they were not installed, and notes every attempt."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            with open(os.environ["BLOCK_LOG"], "a", encoding="utf-8") as log:
                log.write(name + "\\n")
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Refuse())

# Then the next sitecustomize on the path (the test run's own network guard), as Python would have loaded it.
here = os.path.dirname(os.path.abspath(__file__))
for entry in sys.path:
    candidate = os.path.join(entry or ".", "sitecustomize.py")
    if os.path.abspath(entry or ".") != here and os.path.isfile(candidate):
        spec = importlib.util.spec_from_file_location("_next_sitecustomize", candidate)
        assert spec is not None and spec.loader is not None
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
        break
'''


def _run(tmp_path: Path, *args: str,
         program: str = "crawler") -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`crawler <args>` (or `scrapy crawl presstv <args>`) in `tmp_path` with the optional packages blocked: the
    result, and what was refused."""
    guard = tmp_path / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(SITECUSTOMIZE.format(blocked=BLOCKED), encoding="utf-8")
    log = tmp_path / "refused.txt"
    log.unlink(missing_ok=True)
    paths = [str(guard), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "BLOCK_LOG": str(log), "PYTHONPATH": os.pathsep.join(paths)}
    env.pop("CRAWLER_FRONTIER", None)
    env.pop("CRAWLER_STORE", None)
    command = ["crawler"] if program == "crawler" else ["scrapy", "crawl", "presstv"]
    env["SCRAPY_SETTINGS_MODULE"] = "crawler.crawl.settings"
    proc = subprocess.run([sys.executable, "-m", *command, *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    return proc, (log.read_text(encoding="utf-8").split() if log.exists() else [])


def test_a_crawl_stores_and_exports_without_any_extra(tmp_path: Path) -> None:
    proc, refused = _run(tmp_path, "demo", "--generate", "4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "articles written to demo-items.jsonl (store: data/demo.sqlite)" in proc.stdout
    assert refused == [], f"a crawl without CRAWLER_FRONTIER tried to import {refused}"
    export, refused = _run(tmp_path, "export", "--store", "data/demo.sqlite", "-o", "out.jsonl")
    assert export.returncode == 0, export.stderr[-2000:]
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8").count("\n") >= 4
    assert refused == []


def test_scrapy_crawl_on_a_frontier_without_its_extra_is_one_line(tmp_path: Path) -> None:
    proc, _ = _run(tmp_path, "-s", "CRAWLER_FRONTIER=redis://127.0.0.1:1/0", program="scrapy")
    assert proc.returncode == 7
    assert proc.stderr.strip().splitlines()[-1:] == [
        "scrapy crawl: error: CRAWLER_FRONTIER: needs the 'frontier' extra: pip install 'crawler[frontier]'"]


@pytest.mark.parametrize(("args", "line"), [
    (["serve", "--store", "s.sqlite"], "crawler serve: needs the 'serve' extra: pip install 'crawler[serve]'"),
    (["coverage", "--store", "data/demo.sqlite", "--html", "c.html"],
     "crawler coverage --html: needs the 'charts' extra: pip install 'crawler[charts]'"),
    (["runs", "--store", "postgresql://crawler@127.0.0.1:1/crawler"],
     "store postgresql://crawler@127.0.0.1:1/crawler: needs the 'postgres' extra: pip install 'crawler[postgres]'"),
    (["crawl", "-s", "CRAWLER_FRONTIER=redis://127.0.0.1:1/0"],
     "CRAWLER_FRONTIER: needs the 'frontier' extra: pip install 'crawler[frontier]'"),
])
def test_a_command_whose_extra_is_missing_names_it_in_one_line(tmp_path: Path, args: list[str], line: str) -> None:
    (tmp_path / "data").mkdir()
    from crawler.store import open_store

    open_store(str(tmp_path / "data" / "demo.sqlite")).close()
    proc, _ = _run(tmp_path, *args)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [f"crawler: error: {line}"], proc.stderr[-2000:]
