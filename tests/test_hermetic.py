"""Every test run is hermetic: any connection or name lookup outside loopback, in this process or in a crawl
it starts, is refused and fails the test with the address; no store is ever opened inside the repository."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import netguard
import pytest
from hermetic import take_refusals
from support.crawlkit import REPO_ROOT, crawl

# TEST-NET-1 (RFC 5737): an address that is never anyone's host, so even a broken guard sends nothing real.
FAR_ADDRESS = "192.0.2.10"


def test_a_connection_outside_loopback_is_refused_with_its_address() -> None:
    with pytest.raises(netguard.NetworkRefused, match=re.escape(f"{FAR_ADDRESS}:80")):
        socket.create_connection((FAR_ADDRESS, 80), timeout=1)
    with pytest.raises(socket.gaierror, match=re.escape("www.presstv.ir")):
        socket.getaddrinfo("www.presstv.ir", 443)
    found = take_refusals()
    assert any(f"{FAR_ADDRESS}:80" in line for line in found) and any("www.presstv.ir" in line for line in found)


def test_loopback_stays_open() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    assert socket.getaddrinfo("localhost", 80)
    assert take_refusals() == []


def test_every_subprocess_has_the_guard_and_no_proxy() -> None:
    code = (
        "import os, socket\n"
        "print(os.environ.get('NO_PROXY'), os.environ.get('http_proxy'))\n"
        f"socket.create_connection(('{FAR_ADDRESS}', 443), timeout=1)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout.split() == ["*", "None"]
    assert f"connection to {FAR_ADDRESS}:443 refused by the test network guard" in proc.stderr
    assert any(f"{FAR_ADDRESS}:443" in line for line in take_refusals()), "the parent test hears of it"


@pytest.mark.integration
def test_a_crawl_of_the_real_site_is_stopped_at_the_name_lookup(tmp_path: Path) -> None:
    result = crawl(tmp_path, "https://www.presstv.ir,https://www.presstv.co.uk", "sources=rss", timeout=120)
    found = take_refusals()
    assert any("name lookup of www.presstv.ir refused" in line for line in found), found
    assert result.returncode == 1, "no mirror reachable"
    assert result.items == []


@pytest.mark.integration
def test_an_empty_mirror_list_is_refused_before_the_crawl(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="real site"):
        crawl(tmp_path, "")


def test_no_store_inside_the_repository(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError, match="inside the repository"):
        sqlite3.connect(REPO_ROOT / "data" / "crawler.sqlite")
    assert any("inside the repository" in line for line in take_refusals())
    sqlite3.connect(tmp_path / "fine.sqlite").close()


@pytest.mark.integration
@pytest.mark.timeout(600)  # a whole pytest run of its own, limited to 300 s
def test_a_test_that_asks_for_a_real_host_fails_with_the_address(tmp_path: Path) -> None:
    # A deliberately broken test, run by a pytest of its own with this project's configuration: it crawls with
    # a real mirror and asserts nothing, so only the guard can fail it.
    broken = tmp_path / "test_broken_mapping.py"
    broken.write_text(
        "from support.crawlkit import crawl\n\n"
        "def test_crawls_a_real_mirror(tmp_path):\n"
        "    crawl(tmp_path, 'https://www.presstv.co.uk', 'sources=rss')\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERMETIC_") and k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(REPO_ROOT / "tests")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "-p",
            "no:xdist",
            "-c",
            str(REPO_ROOT / "pyproject.toml"),
            "--rootdir",
            str(tmp_path),
            str(broken),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=env,
    )
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert "1 failed" in proc.stdout
    assert "name lookup of www.presstv.co.uk refused by the test network guard" in proc.stdout, proc.stdout[-3000:]


@pytest.mark.parametrize(
    ("family", "kind", "host"),
    [
        (socket.AF_INET, socket.SOCK_DGRAM, FAR_ADDRESS),
        (socket.AF_INET6, socket.SOCK_DGRAM, "2001:db8::10"),
        (socket.AF_INET, socket.SOCK_STREAM, FAR_ADDRESS),
    ],
)
@pytest.mark.parametrize("call", ["sendto", "sendto-flags", "sendmsg"])
def test_a_datagram_to_an_outside_address_is_refused_whatever_the_call(
    family: int, kind: int, host: str, call: str
) -> None:
    with socket.socket(family, kind) as sock, pytest.raises(netguard.NetworkRefused, match=re.escape(host)):
        if call == "sendto":
            sock.sendto(b"x", (host, 53))
        elif call == "sendto-flags":
            sock.sendto(b"x", 0, (host, 53))
        else:
            sock.sendmsg([b"x"], [], 0, (host, 53))
    assert any(host in line for line in take_refusals())


def test_a_datagram_to_loopback_still_goes_out() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client,
    ):
        server.bind(("127.0.0.1", 0))
        server.settimeout(30)
        client.sendmsg([b"one"], [], 0, server.getsockname())
        client.sendto(b"two", server.getsockname())
        assert {server.recv(16), server.recv(16)} == {b"one", b"two"}
    assert take_refusals() == []


@pytest.mark.parametrize(
    "conninfo",
    [
        f"postgresql://user@{FAR_ADDRESS}:5432/db",
        "host=db.example.org dbname=x",
        f"host=127.0.0.1 hostaddr={FAR_ADDRESS} dbname=x",
        f"postgresql://u@127.0.0.1,{FAR_ADDRESS}/db",
    ],
)
def test_a_postgresql_connection_outside_loopback_is_refused_before_libpq_connects(conninfo: str) -> None:
    import psycopg

    with pytest.raises(psycopg.OperationalError, match="refused by the test network guard"):
        psycopg.connect(conninfo, connect_timeout=2)
    # A host name may be stopped already at psycopg's own lookup (the socket guard), an address at libpq's door.
    assert any("refused by the test network guard" in line for line in take_refusals())


def test_a_postgresql_host_from_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    monkeypatch.setenv("PGHOST", FAR_ADDRESS)
    with pytest.raises(psycopg.OperationalError, match=re.escape(FAR_ADDRESS)):
        psycopg.connect("dbname=x", connect_timeout=2)
    assert any(FAR_ADDRESS in line for line in take_refusals())


def test_a_postgresql_connection_in_a_subprocess_is_refused_too() -> None:
    code = f"import psycopg\npsycopg.connect('postgresql://u@{FAR_ADDRESS}/db', connect_timeout=2)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and f"PostgreSQL connection to {FAR_ADDRESS} refused" in proc.stderr
    assert any(FAR_ADDRESS in line for line in take_refusals())


@pytest.mark.parametrize("flags", [["-I"], ["-E"], ["-E", "-s"], ["-I", "-u"]])
def test_a_python_child_that_ignores_pythonpath_still_has_the_guard(flags: list[str]) -> None:
    code = f"import socket\nsocket.create_connection(('{FAR_ADDRESS}', 443), timeout=1)\n"
    proc = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"connection to {FAR_ADDRESS}:443 refused by the test network guard" in proc.stderr
    assert any(f"{FAR_ADDRESS}:443" in line for line in take_refusals())


@pytest.mark.parametrize("argv", [["-S"], ["-IS"], ["-u", "-S"], ["-Sc"]])
def test_a_python_child_without_site_is_refused(argv: list[str]) -> None:
    code = "print('ran')"
    cmd = [sys.executable, *argv, code] if argv[-1].endswith("c") else [sys.executable, *argv, "-c", code]
    with pytest.raises(netguard.ChildRefused, match="-S refused"):
        subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    with pytest.raises(netguard.ChildRefused):
        subprocess.run(f"{sys.executable} {' '.join(argv)} -c pass", shell=True, timeout=60)
    assert take_refusals()


def test_another_interpreter_ignoring_pythonpath_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "bin" / "python3"  # an interpreter outside this venv: no .pth hook in its site-packages
    other.parent.mkdir()
    other.symlink_to(sys.executable)
    with pytest.raises(netguard.ChildRefused, match="-I/-E refused"):
        subprocess.run([str(other), "-I", "-c", "pass"], timeout=60)
    with pytest.raises(netguard.ChildRefused, match="-I/-E refused"):
        os.system(f"{other} -E -c pass")
    proc = subprocess.run(
        [str(other), "-c", "import netguard; print(netguard._installed)"], capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip() == "True", "without -I/-E any interpreter loads the guard from PYTHONPATH"
    assert take_refusals()


def test_options_that_are_not_site_switches_are_let_through() -> None:
    proc = subprocess.run(
        [sys.executable, "-X", "utf8", "-c", "import sys; print(sys.flags.no_site)", "-S"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "0", "-S after -c is the program's argument, not the interpreter's"
    assert netguard._site_disabled(["/usr/bin/env", "-S", "python3"]) is False
    assert take_refusals() == []
