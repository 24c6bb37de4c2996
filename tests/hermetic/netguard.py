"""Refuse every network connection and name lookup outside loopback, and every store inside the repository.

Installed in the test process by the `hermetic` pytest plugin and in every Python subprocess the tests start:
through `sitecustomize.py` beside this file (the plugin puts this folder on PYTHONPATH) and, for children that
ignore PYTHONPATH (`python -I`, `-E`), through a `.pth` file the plugin writes into the interpreter's
site-packages (inert unless HERMETIC_GUARD=1). A Python child the guard cannot reach is refused before it
starts: `-S` (no site: nothing can load it), or `-I`/`-E` on another interpreter than this one (no hook there).

Covered: connect/connect_ex, sendto/sendmsg on every Python socket (TCP, UDP, IPv6, raw), name lookups, and
libpq connections (psycopg: the host/hostaddr of every connection attempt, before libpq resolves or connects).
Each refusal raises an error naming the address and is appended to the file named by HERMETIC_GUARD_LOG, so the
test that caused it fails even when the crawler swallows the error as an unreachable mirror.
"""

from __future__ import annotations

import errno
import importlib.abc
import importlib.machinery
import ipaddress
import os
import re
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

ENABLE_VAR = "HERMETIC_GUARD"
DIR_VAR = "HERMETIC_GUARD_DIR"
"""This folder, for the `.pth` hook of children that ignore PYTHONPATH (not a PYTHON* variable: -E keeps it)."""
PTH_NAME = "hermetic_guard.pth"
PTH_VAR = "HERMETIC_GUARD_PTH"
"""Set to 1 once the hook is in this interpreter's site-packages (else its -I/-E children are refused too)."""
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


class ChildRefused(PermissionError):
    """A Python subprocess started so that the guard cannot load in it (`-S`)."""


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

    original_sendmsg = socket.socket.sendmsg

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        problem = _check_address(args[-1]) if args else None
        if problem:
            _record(problem)
            raise NetworkRefused(errno.ECONNREFUSED, problem)
        return original_sendto(self, data, *args)

    def sendmsg(self: socket.socket, buffers: Any, *args: Any) -> int:
        # sendmsg(buffers[, ancdata[, flags[, address]]]): only the fourth argument names a destination.
        problem = _check_address(args[2]) if len(args) >= 3 and args[2] is not None else None
        if problem:
            _record(problem)
            raise NetworkRefused(errno.ECONNREFUSED, problem)
        return original_sendmsg(self, buffers, *args)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.sendto = sendto  # type: ignore[assignment]
    socket.socket.sendmsg = sendmsg  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = _wrap_lookup(socket.getaddrinfo)
    socket.gethostbyname = _wrap_lookup(socket.gethostbyname)
    socket.gethostbyname_ex = _wrap_lookup(socket.gethostbyname_ex)
    _guard_libpq()
    _guard_children()
    _guard_store()


# ---- libpq (psycopg): its C code connects and resolves on its own, past the socket patches ----------------


def _libpq_problem(conninfo: Any) -> str | None:
    """Why a libpq connection string may not be used here (a host outside loopback), else None."""
    from psycopg.conninfo import conninfo_to_dict

    text = conninfo.decode() if isinstance(conninfo, bytes) else str(conninfo)
    params = conninfo_to_dict(text)
    if "service" in params or os.environ.get("PGSERVICE"):
        return "a libpq service file names its host out of sight of the test network guard (give host= instead)"
    hosts = str(params.get("host") or os.environ.get("PGHOST") or "")
    addrs = str(params.get("hostaddr") or os.environ.get("PGHOSTADDR") or "")
    for host in [*hosts.split(","), *addrs.split(",")]:
        host = host.strip()
        if host and not host.startswith("/") and not host.startswith("@") and not is_loopback(host):
            return f"PostgreSQL connection to {host} refused by the test network guard (only loopback is allowed)"
    return None


def _patch_psycopg_generators(module: ModuleType) -> None:
    original = module.connect
    if getattr(original, "_hermetic", False):
        return

    def connect(conninfo: Any, *args: Any, **kwargs: Any) -> Any:
        problem = _libpq_problem(conninfo)
        if problem:
            _record(problem)
            import psycopg

            raise psycopg.OperationalError(problem)
        return original(conninfo, *args, **kwargs)

    connect._hermetic = True  # type: ignore[attr-defined]
    setattr(module, "connect", connect)  # noqa: B010 (the module is only known at run time)


class _PsycopgHook(importlib.abc.MetaPathFinder):
    """Patches `psycopg.generators.connect` (every connection attempt, sync, async or pooled, goes through it)
    when psycopg is first imported, so processes that never use PostgreSQL do not pay for importing it."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None) -> Any:
        if name != "psycopg.generators":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        original_exec = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            original_exec(module)
            _patch_psycopg_generators(module)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _guard_libpq() -> None:
    loaded = sys.modules.get("psycopg.generators")
    if loaded is not None:
        _patch_psycopg_generators(loaded)
    else:
        sys.meta_path.insert(0, _PsycopgHook())


# ---- subprocesses: a Python child must be able to load the guard -----------------------------------------

_PYTHON_NAME = re.compile(r"^(python|pypy)[\d.]*$")
_OPTION_WITH_VALUE = set("cmWX")


def _interpreter_options(argv: Sequence[Any]) -> set[str] | None:
    """The one-letter interpreter options of a Python command line (`-IS` gives I and S); None when the
    program is not Python."""
    if not argv:
        return None
    program = os.path.basename(os.fsdecode(argv[0]))
    if not _PYTHON_NAME.match(program):
        return None
    options: set[str] = set()
    for raw in argv[1:]:
        arg = os.fsdecode(raw)
        if arg == "--" or not arg.startswith("-") or arg == "-":
            break
        if arg.startswith("--"):
            continue  # --check-hash-based-pycs VALUE and friends: no site switch among them
        for char in arg[1:]:
            if char in _OPTION_WITH_VALUE:
                return options  # -c CODE, -m MODULE: the rest is the program's
            options.add(char)
    return options


def _has_the_pth_hook(program: str) -> bool:
    """True when `program` is this interpreter (its folder: the venv whose site-packages holds the hook)."""
    if os.environ.get(PTH_VAR) != "1":
        return False
    found = program if os.sep in program else shutil.which(program)
    return bool(found) and os.path.dirname(os.path.abspath(str(found))) == os.path.dirname(sys.executable)


def _site_disabled(argv: Sequence[Any]) -> bool:
    """True for a Python command line with `-S` among its interpreter options (the guard could not load)."""
    return "S" in (_interpreter_options(argv) or set())


def _why_unguarded(argv: Sequence[Any]) -> str | None:
    """Why a child started with `argv` could not load the guard, else None."""
    options = _interpreter_options(argv)
    if options is None:
        return None
    if "S" in options:
        return "with -S refused by the test network guard (no site: the guard cannot load in it)"
    if options & {"I", "E"} and not _has_the_pth_hook(os.fsdecode(argv[0])):
        return (
            "with -I/-E refused by the test network guard (it ignores PYTHONPATH, and only this interpreter "
            "has the guard's .pth hook)"
        )
    return None


def _refuse_child(argv: Sequence[Any]) -> None:
    why = _why_unguarded(argv)
    if why:
        problem = f"Python subprocess {why}: {' '.join(os.fsdecode(a) for a in argv)}"
        _record(problem)
        raise ChildRefused(errno.EPERM, problem)


def _check_command(args: Any, shell: bool) -> None:
    if isinstance(args, str | bytes | os.PathLike):
        text = os.fsdecode(args)
        if shell:
            for part in re.split(r"[;&|\n]+", text):
                try:
                    _refuse_child(shlex.split(part))
                except ValueError:
                    continue
            return
        args = [text]
    _refuse_child(list(args))


def _guard_children() -> None:
    original_init = subprocess.Popen.__init__

    def popen_init(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> None:
        _check_command(args, bool(kwargs.get("shell")))
        original_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = popen_init  # type: ignore[method-assign]

    def wrap_exec(original: Callable[..., Any]) -> Callable[..., Any]:
        def guarded(path: Any, args: Any, *rest: Any, **kwargs: Any) -> Any:
            _refuse_child(list(args))
            return original(path, args, *rest, **kwargs)

        return guarded

    original_system = os.system

    def system(command: Any) -> int:
        _check_command(command, shell=True)
        return original_system(command)

    os.system = system

    # os.execl*/spawnl* end in these; Twisted's spawnProcess and multiprocessing's fork server use them too.
    for name in ("execv", "execve", "execvp", "execvpe", "posix_spawn", "posix_spawnp"):
        if hasattr(os, name):
            setattr(os, name, wrap_exec(getattr(os, name)))


def pth_line() -> str:
    """The `.pth` line that installs the guard in a child that ignores PYTHONPATH (inert without the flag; the
    folder comes from the environment, so the file names no path)."""
    code = (
        f"if os.environ.get({ENABLE_VAR!r}) == '1' and os.environ.get({DIR_VAR!r}):\n"
        f"    sys.path.append(os.environ[{DIR_VAR!r}])\n"
        "    import netguard\n"
        "    netguard.install_from_env()\n"
    )
    return f"import os, sys; exec({code!r})\n"


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
