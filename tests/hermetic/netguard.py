"""Refuse every network connection and name lookup outside loopback, and every store inside the repository.

Installed in the test process by the `hermetic` pytest plugin and in every Python subprocess the tests start
through `sitecustomize.py` beside this file (the plugin puts this folder on PYTHONPATH). Each refusal raises
an OSError naming the address and is appended to the file named by HERMETIC_GUARD_LOG, so the test that
caused it fails even when the crawler swallows the error as an unreachable mirror.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

ENABLE_VAR = "HERMETIC_GUARD"
LOG_VAR = "HERMETIC_GUARD_LOG"
FORBID_VAR = "HERMETIC_FORBID_STORE_UNDER"
ALLOWED_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

refusals: list[str] = []
"""Refusals seen in this process (the plugin reads and clears it after every test)."""

_installed = False


class NetworkRefused(ConnectionRefusedError):
    """A connection to an address outside loopback."""


class LookupRefused(socket.gaierror):
    """A name lookup of a host outside loopback (the lookup alone would reach a real DNS server)."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 (also IPv4-mapped) and the loopback host names."""
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in ALLOWED_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _record(what: str) -> None:
    refusals.append(what)
    log = os.environ.get(LOG_VAR)
    if log:
        try:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"{what} (pid {os.getpid()})\n")
        except OSError:
            pass  # the refusal itself still raises


def _host_of(address: Any) -> str | None:
    """The host of an AF_INET/AF_INET6 address tuple; None for anything else (Unix sockets, pipes)."""
    if isinstance(address, tuple) and address and isinstance(address[0], str | bytes):
        host = address[0]
        return host.decode("ascii", "replace") if isinstance(host, bytes) else host
    return None


def _check_address(address: Any) -> str | None:
    host = _host_of(address)
    if host is None or is_loopback(host):
        return None
    port = address[1] if len(address) > 1 else "?"
    return f"connection to {host}:{port} refused by the test network guard (only loopback is allowed)"


def _check_name(host: Any) -> str | None:
    if host is None:
        return None  # a wildcard bind, no lookup
    name = host.decode("ascii", "replace") if isinstance(host, bytes) else str(host)
    if name == "" or is_loopback(name):
        return None
    try:
        ipaddress.ip_address(name.strip("[]").split("%", 1)[0])
        return None  # an address literal needs no lookup; connecting to it is checked instead
    except ValueError:
        pass
    return f"name lookup of {name} refused by the test network guard (only loopback is allowed)"


def _wrap_lookup(original: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        problem = _check_name(host)
        if problem:
            _record(problem)
            raise LookupRefused(socket.EAI_NONAME, problem)
        return original(host, *args, **kwargs)
    guarded.__wrapped__ = original  # type: ignore[attr-defined]
    return guarded


def install() -> None:
    """Patch socket connects, name lookups and sqlite3.connect in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_sendto = socket.socket.sendto

    def connect(self: socket.socket, address: Any) -> None:
        problem = _check_address(address)
        if problem:
            _record(problem)
            raise NetworkRefused(errno.ECONNREFUSED, problem)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        problem = _check_address(address)
        if problem:
            _record(problem)
            return errno.ECONNREFUSED  # connect_ex reports errors by number (Twisted relies on it)
        return original_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        problem = _check_address(args[-1]) if args else None
        if problem:
            _record(problem)
            raise NetworkRefused(errno.ECONNREFUSED, problem)
        return original_sendto(self, data, *args)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.sendto = sendto  # type: ignore[assignment]
    socket.getaddrinfo = _wrap_lookup(socket.getaddrinfo)
    socket.gethostbyname = _wrap_lookup(socket.gethostbyname)
    socket.gethostbyname_ex = _wrap_lookup(socket.gethostbyname_ex)
    _guard_store()


def _guard_store() -> None:
    forbidden = os.environ.get(FORBID_VAR)
    if not forbidden:
        return
    root = Path(forbidden).resolve()
    original = sqlite3.connect

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        name = os.fsdecode(database) if isinstance(database, str | bytes | os.PathLike) else ""
        if kwargs.get("uri") or name.startswith("file:"):
            name, _, query = name.removeprefix("file:").partition("?")
            if "mode=memory" in query.split("&"):
                name = ""  # a named in-memory database (Datasette's internal one): no file at all
        if name and name != ":memory:" and Path(name).resolve().is_relative_to(root):
            problem = f"store {Path(name).resolve()} is inside the repository: tests must use a temporary store"
            _record(problem)
            raise sqlite3.OperationalError(problem)
        return original(database, *args, **kwargs)

    sqlite3.connect = connect  # type: ignore[assignment]


def install_from_env() -> None:
    """Install when HERMETIC_GUARD=1 (what the test run exports to its subprocesses)."""
    if os.environ.get(ENABLE_VAR) == "1":
        install()
