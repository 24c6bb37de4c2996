"""Pytest plugin that makes the whole test run hermetic: loopback only, no proxies, no store in the repo.

Loaded for every run through `-p hermetic` in the pytest configuration. At start it installs the network
guard (netguard) in this process and exports what makes every subprocess install it too: this folder on
PYTHONPATH (its sitecustomize.py), HERMETIC_GUARD=1, and the repository as the place no store may be opened;
for children that ignore PYTHONPATH (`python -I`) it writes a `.pth` hook into this interpreter's
site-packages (inert outside a test run).
Proxy variables are dropped and NO_PROXY covers everything. Each test gets its own refusal log; a test whose
process or subprocesses tried a non-loopback address fails with that address.
"""

from __future__ import annotations

import itertools
import os
import sysconfig
import tempfile
from collections.abc import Generator
from pathlib import Path

import netguard
import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
PROXY_VARS = (
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "ALL_PROXY",
)

_log_dir: Path | None = None
_counter = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    global _log_dir
    for name in PROXY_VARS:
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "*"
    paths = [str(HERE), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(HERE)]]
    os.environ["PYTHONPATH"] = os.pathsep.join(paths)
    os.environ[netguard.ENABLE_VAR] = "1"
    os.environ[netguard.FORBID_VAR] = str(REPO_ROOT)
    os.environ[netguard.DIR_VAR] = str(HERE)
    try:
        install_pth_hook()
        os.environ[netguard.PTH_VAR] = "1"
    except OSError:
        os.environ.pop(netguard.PTH_VAR, None)  # a read-only site-packages: -I/-E children are refused instead
    _log_dir = Path(tempfile.mkdtemp(prefix="hermetic-"))
    netguard.install()


def install_pth_hook() -> Path:
    """Write the guard's `.pth` hook into this interpreter's site-packages (atomically; unchanged if current)."""
    target = Path(sysconfig.get_paths()["purelib"]) / netguard.PTH_NAME
    line = netguard.pth_line()
    if not target.exists() or target.read_text(encoding="utf-8") != line:
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        partial.write_text(line, encoding="utf-8")
        os.replace(partial, target)
    return target


def take_refusals() -> list[str]:
    """Refusals so far in this test (this process and its subprocesses), cleared: for tests that cause them."""
    found = list(netguard.refusals)
    netguard.refusals.clear()
    log = os.environ.get(netguard.LOG_VAR)
    if log and Path(log).exists():
        found += [line for line in Path(log).read_text(encoding="utf-8").splitlines() if line.strip()]
        Path(log).unlink()
    return found


def _fail_on_refusals(phase: str) -> None:
    found = take_refusals()
    if found:
        pytest.fail(f"the test reached outside loopback during {phase}:\n  " + "\n  ".join(found), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    assert _log_dir is not None
    os.environ[netguard.LOG_VAR] = str(_log_dir / f"refusals-{next(_counter)}.log")
    try:
        return (yield)
    finally:
        _fail_on_refusals("setup")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _fail_on_refusals("the test")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        _fail_on_refusals("teardown")
