"""Without the optional extras (Datasette, uvicorn, matplotlib, psycopg, redis blocked from import), the crawler
still crawls, stores on SQLite and exports, and a command that needs a missing extra says in one line what to
install. The block is a meta path finder every process of the run loads (the demo's crawl child included).
A plain install of the built wheel names none of the optional packages among its dependencies, and the wheel,
installed in a virtualenv of its own, runs the demo from any folder on the pages it ships."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.integration

BLOCKED = ("datasette", "uvicorn", "matplotlib", "psycopg", "redis", "scrapy_redis")
# The distributions behind them, as a plain `pip install` would resolve them.
EXTRA_DISTRIBUTIONS = {"datasette", "uvicorn", "matplotlib", "psycopg", "psycopg-binary", "redis", "scrapy-redis"}
REPO = Path(__file__).resolve().parents[2]

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


def _run(
    tmp_path: Path, *args: str, program: str = "crawler", python: str = sys.executable
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """`crawler <args>` (or `scrapy crawl presstv <args>`, or `python <args>`) in `tmp_path`, run by `python`
    with the optional packages blocked: the result, and what was refused."""
    guard = tmp_path / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(SITECUSTOMIZE.format(blocked=BLOCKED), encoding="utf-8")
    log = tmp_path / "refused.txt"
    log.unlink(missing_ok=True)
    # The repository itself never goes on the path: a test of an installed copy must not import the checkout.
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and Path(p).resolve() != REPO]
    paths = [str(guard), *inherited]
    env = {**os.environ, "BLOCK_LOG": str(log), "PYTHONPATH": os.pathsep.join(paths)}
    env.pop("CRAWLER_FRONTIER", None)
    env.pop("CRAWLER_STORE", None)
    command = {"crawler": ["-m", "crawler"], "scrapy": ["-m", "scrapy", "crawl", "presstv"], "python": []}[program]
    env["SCRAPY_SETTINGS_MODULE"] = "crawler.crawl.settings"
    proc = subprocess.run(
        [python, *command, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
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
        "scrapy crawl: error: CRAWLER_FRONTIER: needs the 'frontier' extra: pip install 'crawler[frontier]'"
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["serve", "--store", "s.sqlite"], "crawler serve: needs the 'serve' extra: pip install 'crawler[serve]'"),
        (
            ["coverage", "--store", "data/demo.sqlite", "--html", "c.html"],
            "crawler coverage --html: needs the 'charts' extra: pip install 'crawler[charts]'",
        ),
        (
            ["runs", "--store", "postgresql://crawler@127.0.0.1:1/crawler"],
            "store postgresql://crawler@127.0.0.1:1/crawler: needs the 'postgres' extra: "
            "pip install 'crawler[postgres]'",
        ),
        (
            ["crawl", "-s", "CRAWLER_FRONTIER=redis://127.0.0.1:1/0"],
            "CRAWLER_FRONTIER: needs the 'frontier' extra: pip install 'crawler[frontier]'",
        ),
    ],
)
def test_a_command_whose_extra_is_missing_names_it_in_one_line(tmp_path: Path, args: list[str], line: str) -> None:
    (tmp_path / "data").mkdir()
    from crawler.store import open_store

    open_store(str(tmp_path / "data" / "demo.sqlite")).close()
    proc, _ = _run(tmp_path, *args)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [f"crawler: error: {line}"], proc.stderr[-2000:]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel (from a copy of the package, so the checkout gets no build folders)."""
    source = tmp_path_factory.mktemp("source")
    shutil.copy2(REPO / "pyproject.toml", source)
    shutil.copy2(REPO / "README.md", source)
    shutil.copytree(REPO / "crawler", source / "crawler", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (built,) = dist.glob("crawler-*.whl")
    return built


def _closure(requirements: list[str], extras: set[str]) -> set[str]:
    """The distributions a `pip install` with `extras` would bring, walked through the installed ones."""

    def canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    seen: set[str] = set()
    todo = [(text, extras) for text in requirements]
    while todo:
        text, wanted = todo.pop()
        req = Requirement(text)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (wanted or {""})):
            continue
        name = canonical(req.name)
        if name == "crawler":  # the `all` extra names the project's own other extras
            todo += [(t, set(req.extras)) for t in requirements]
            continue
        if name in seen:
            continue
        seen.add(name)
        # A distribution not installed here cannot bring anything this check looks for.
        with contextlib.suppress(metadata.PackageNotFoundError):
            todo += [(t, set(req.extras)) for t in metadata.requires(req.name) or []]
    return seen


def test_a_plain_install_brings_none_of_the_optional_packages(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        requirements = Parser().parsestr(archive.read(meta).decode("utf-8")).get_all("Requires-Dist") or []
    plain = _closure(requirements, set())
    assert {"scrapy", "trafilatura", "lxml", "twisted"} <= plain
    assert not plain & EXTRA_DISTRIBUTIONS, f"a plain install brings {sorted(plain & EXTRA_DISTRIBUTIONS)}"
    assert EXTRA_DISTRIBUTIONS - {"psycopg-binary"} <= _closure(requirements, {"all"})


def test_an_installed_wheel_runs_the_demo_from_any_folder(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies come from this test run's environment (a path entry only: its editable checkout of the
    # project is not loaded), the optional ones blocked; the project itself only from the wheel.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    work = tmp_path / "anywhere"
    work.mkdir()
    where, _ = _run(work, "-c", "import crawler; print(crawler.__file__)", program="python", python=python)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr[-2000:]

    version = subprocess.run(
        [str(venv / "bin" / "crawler"), "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    assert version.returncode == 0 and version.stdout.strip(), version.stderr[-2000:]
    proc, refused = _run(work, "demo", "--generate", "2", python=python)
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = re.search(r"\((\d+) fixture pages", proc.stdout)
    assert served and int(served.group(1)) > 0, f"the wheel's demo served no fixture page: {proc.stdout[-1000:]}"
    # More articles than the two generated ones: the fixture pages shipped in the wheel were crawled too.
    assert (work / "demo-items.jsonl").read_text(encoding="utf-8").count("\n") > 2
    assert refused == []

    serve, _ = _run(work, "serve", "--store", "data/demo.sqlite", python=python)
    assert serve.returncode != 0
    assert serve.stderr.strip().splitlines() == [
        "crawler: error: crawler serve: needs the 'serve' extra: pip install 'crawler[serve]'"
    ]
