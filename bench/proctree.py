"""Measure a subprocess and all its descendants: wall time, CPU seconds (waited children) and peak tree RSS."""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measured:
    """What one measured subprocess cost."""

    returncode: int
    wall: float
    """Seconds from start to exit."""
    cpu: float
    """User + system CPU seconds of the process and every descendant it waited for (pool workers included)."""
    peak_rss: int
    """Largest sum of resident set sizes over the whole process tree seen by the sampler (bytes)."""
    main_cpu: float = 0.0
    """CPU seconds of the top process alone (all its threads, no children), as last sampled before it exited."""


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # exited meanwhile
        # The command name may hold spaces and parentheses: fields start after the last ")".
        ppid = int(stat[stat.rindex(b")") + 2 :].split(b" ", 2)[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree_pids(root: int) -> list[int]:
    """`root` and all its live descendants."""
    kids = _children_map()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, ()))
    return out


def tree_rss(root: int) -> int:
    """Sum of the resident set sizes of `root` and its descendants, in bytes."""
    total = 0
    for pid in tree_pids(root):
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


_TICK = os.sysconf("SC_CLK_TCK")


def own_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads), 0.0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def run_measured(
    cmd: Sequence[str],
    *,
    cwd: str | Path | None = None,
    log: Path | None = None,
    interval: float = 0.2,
    env: dict[str, str] | None = None,
) -> Measured:
    """Run `cmd` to completion, sampling the RSS of its process tree every `interval` seconds.

    CPU comes from getrusage(RUSAGE_CHILDREN) around the wait: it covers every descendant that was waited
    for (a process pool's workers are joined by their parent), and nothing of this process or its other
    children. Run one measured command at a time.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115 - closed below
    start = time.monotonic()
    try:
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)
        peak = 0
        main_cpu = 0.0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak, main_cpu
            while not stop.is_set():
                peak = max(peak, tree_rss(proc.pid))
                main_cpu = max(main_cpu, own_cpu(proc.pid))
                stop.wait(interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = proc.wait()
        wall = time.monotonic() - start
        stop.set()
        sampler.join()
    finally:
        if log is not None and not isinstance(out, int):
            out.close()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(returncode, wall, cpu, peak, main_cpu)
