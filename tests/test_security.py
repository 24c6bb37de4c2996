"""Security defaults of a crawl: no code-execution endpoint unless asked for, for this one crawl."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.site.corpus import SiteCorpus
from crawler.site.server import RunningSite, serve_site

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site() -> Iterator[RunningSite]:
    corpus = SiteCorpus()
    corpus.generate(3)
    with serve_site(corpus, ("healthy",)) as running:
        yield running


def _crawl(site: RunningSite, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "scrapy", "crawl", "presstv", "-a", f"mirrors={site.mirrors_arg}",
           "-s", f"CRAWLER_STORE={tmp_path / 'store.sqlite'}", "-s", f"REMOTE_CONTROL_JOBS_DIR={tmp_path / 'jobs'}",
           "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CRAWLER_EXTRACT_WORKERS=1",
           "-s", "LOG_LEVEL=INFO", *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


def _extensions(stderr: str) -> str:
    """The list Scrapy logs after "Enabled extensions:"."""
    at = stderr.index("Enabled extensions:")
    start = stderr.index("[", at)
    return stderr[start : stderr.index("]", start)]


def test_a_crawl_opens_no_remote_control_endpoint(site: RunningSite, tmp_path: Path) -> None:
    proc = _crawl(site, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "CoreStats" in _extensions(proc.stderr) and "RemoteControl" not in _extensions(proc.stderr)
    assert not (tmp_path / "jobs").exists() or not any((tmp_path / "jobs").iterdir())


def test_remote_control_can_be_turned_on_for_one_crawl(site: RunningSite, tmp_path: Path) -> None:
    # The switch really is the setting the manual names (docs/11-security.md): on, the extension starts.
    proc = _crawl(site, tmp_path, "-s", "REMOTE_CONTROL_ENABLED=True")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "scrapy.extensions.remote_control.RemoteControl" in _extensions(proc.stderr)
