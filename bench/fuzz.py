"""Run a long fuzz campaign against every parser of hostile input and print inputs tried, outcomes and failures.

    .venv/bin/python bench/fuzz.py --minutes 12              # the campaign: time shared equally by the targets
    .venv/bin/python bench/fuzz.py --inputs 200 --seed 7     # a quick smoke run: 200 inputs across the targets
    .venv/bin/python bench/fuzz.py --targets cdx,warc --inputs 5000 --bound 5 --crashes /tmp/crashes

The targets and their input families are those of the fuzz tests (tests/support/fuzzkit.py): extraction, the feed
and sitemap parsers of the spider, the WARC reader, the Common Crawl record reader and the CDX JSON parser. Inputs
come from Hypothesis, driven here by `@given` with `settings(max_examples=..., database=None,
phases=[Phase.generate])` in batches of `--batch`, each under its own `@seed` derived from `--seed`: the same
strategies the tests use (one definition), Hypothesis's bias towards boundary values and small/empty cases,
reproducible runs, and no shrinking or example database (an input that fails is saved whole instead). Fresh batches,
rather than one run of 100,000 examples, keep Hypothesis's record of what it tried small.

Each input runs in a worker process (one per target, so its peak RSS is that target's): an answer later than
`--bound` seconds is a hang (the worker is killed and replaced), an exception other than the target's outcomes is
a crash, and the worker's address space is capped at `--memory-mb` so a blow-up shows as a crash too. Every hang
and crash is saved under `--crashes` (the input bytes, and a .txt with the target, family, URL and traceback) to
become a regression fixture. The exit status is 1 when anything crashed or hung.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import multiprocessing
import os
import platform
import resource
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from support.fuzzkit import TARGETS, Case

Runner = Callable[[str, Case], str]


@dataclass
class Tally:
    """What became of the inputs of one target."""

    inputs: int = 0
    distinct: set[str] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)
    families: Counter[str] = field(default_factory=Counter)
    crashes: int = 0
    hangs: int = 0
    slowest: float = 0.0
    peak_rss_kb: int = 0
    base_rss_kb: int = 0
    seconds: float = 0.0


def _run_target(target: str, case: Case) -> str:
    return TARGETS[target].run(case)


def _serve(conn: Connection, memory_mb: int, runner: Runner) -> None:
    """The worker: runs each (target, case) it is sent and answers ("ok", outcome) or ("crash", traceback), with
    the time taken and its peak RSS so far."""
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # The parsers log each malformed input they skip, and warcio prints its complaints straight to stderr:
    # 100,000 warnings would drown the figures. What fails is kept with its traceback all the same.
    logging.disable(logging.CRITICAL)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    conn.send(("ready", "", 0.0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        target, case = message
        start = time.perf_counter()
        try:
            answer: tuple[str, str] = ("ok", runner(target, case))
        except BaseException:  # a crash of the target, whatever it is, is what the campaign is for
            answer = ("crash", traceback.format_exc())
        conn.send((*answer, time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


class Worker:
    """A worker process fed one input at a time, killed and replaced when it hangs or dies."""

    def __init__(self, memory_mb: int, runner: Runner) -> None:
        self.memory_mb, self.runner = memory_mb, runner
        self.base_rss_kb = 0
        self._start()

    def _start(self) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, self.memory_mb, self.runner), daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(60):
            raise RuntimeError("the fuzz worker did not start within 60 s")
        self.base_rss_kb = self.conn.recv()[3]

    def run(self, target: str, case: Case, bound: float) -> tuple[str, str, float, int]:
        """("ok", outcome, ...), ("crash", traceback, ...) or ("hang", "", ...), with seconds and peak RSS (KB)."""
        start = time.perf_counter()
        try:
            self.conn.send((target, case))
            if self.conn.poll(bound):
                kind, detail, seconds, rss = self.conn.recv()
                return kind, detail, seconds, rss
        except (EOFError, OSError, BrokenPipeError):
            self.process.join(5)
            code = self.process.exitcode
            self._restart()
            return "crash", f"the worker died (exit status {code}) on this input", time.perf_counter() - start, 0
        self._restart()
        return "hang", f"no answer within {bound} s", time.perf_counter() - start, 0

    def _restart(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()
        self._start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


def save_failure(folder: Path, target: str, case: Case, kind: str, detail: str) -> Path:
    """The input bytes and a note (target, family, URL, traceback) under `folder`; returns the input's path."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{target}-{kind}-{hashlib.sha256(case.data).hexdigest()[:16]}"
    (folder / f"{name}.bin").write_bytes(case.data)
    (folder / f"{name}.txt").write_text(
        f"target: {target}\nfamily: {case.family}\nurl: {case.url}\noutcome: {kind}\n\n{detail}\n", encoding="utf-8"
    )
    return folder / f"{name}.bin"


class _TargetRun:
    """One target's share of the campaign: feeds cases to its worker until its inputs or its time are used up."""

    def __init__(
        self,
        target: str,
        tally: Tally,
        worker: Worker,
        quota: int | None,
        deadline: float | None,
        bound: float,
        crashes: Path,
    ) -> None:
        self.target, self.tally, self.worker = target, tally, worker
        self.quota, self.deadline, self.bound, self.crashes = quota, deadline, bound, crashes

    def done(self) -> bool:
        return (self.quota is not None and self.tally.inputs >= self.quota) or (
            self.deadline is not None and time.monotonic() >= self.deadline
        )

    def one(self, case: Case) -> None:
        if self.done():
            return  # the rest of this Hypothesis batch is drawn but not run
        tally = self.tally
        kind, detail, took, rss = self.worker.run(self.target, case, self.bound)
        tally.inputs += 1
        tally.distinct.add(hashlib.sha1(case.data + case.url.encode()).hexdigest())
        tally.families[case.family] += 1
        tally.slowest = max(tally.slowest, took)
        tally.peak_rss_kb = max(tally.peak_rss_kb, rss)
        if kind == "ok":
            tally.outcomes[detail] += 1
            return
        if kind == "hang":
            tally.hangs += 1
        else:
            tally.crashes += 1
        path = save_failure(self.crashes, self.target, case, kind, detail)
        last = detail.strip().splitlines()[-1][:160]
        print(f"  {kind}: {self.target} / {case.family}: {last} -> {path}", flush=True)

    def drive(self, strategy: SearchStrategy[Case], first_seed: int, batch: int) -> None:
        """Hypothesis batches of `batch` examples, seeds counting up from `first_seed`, until done."""
        number = 0
        while not self.done():
            size = batch if self.quota is None else min(batch, self.quota - self.tally.inputs)

            @seed(first_seed + number)
            @settings(
                max_examples=size,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy)
            def drive(case: Case) -> None:
                self.one(case)

            before = self.tally.inputs
            drive()
            number += 1
            if self.tally.inputs == before and number > 10:
                break  # the strategy has nothing left to give


def campaign(
    targets: list[str],
    inputs: int | None,
    seconds: float | None,
    base_seed: int,
    bound: float,
    batch: int,
    memory_mb: int,
    crashes: Path,
    runner: Runner = _run_target,
    strategies: dict[str, SearchStrategy[Case]] | None = None,
) -> dict[str, Tally]:
    """Fuzz each target in turn with an equal share of the inputs and of the time; the tallies by target.

    `runner` and `strategies` (by target) replace the real targets and their families, for testing the campaign."""
    tallies: dict[str, Tally] = {}
    for index, target in enumerate(targets):
        tally = tallies[target] = Tally()
        quota = None if inputs is None else inputs // len(targets) + (index < inputs % len(targets))
        deadline = None if seconds is None else time.monotonic() + seconds / len(targets)
        strategy = (
            strategies[target] if strategies and target in strategies else st.one_of(*TARGETS[target].families.values())
        )
        worker = Worker(memory_mb, runner)
        tally.base_rss_kb = worker.base_rss_kb
        started = time.monotonic()
        _TargetRun(target, tally, worker, quota, deadline, bound, crashes).drive(
            strategy, base_seed * 1_000_003 + index * 10_007, batch
        )
        tally.seconds = time.monotonic() - started
        worker.close()
    return tallies


def print_table(tallies: dict[str, Tally], bound: float, memory_mb: int) -> None:
    print(
        f"\n{'target':<12} {'inputs':>8} {'distinct':>8} {'inputs/s':>8} {'crashes':>7} {'hangs':>5} "
        f"{'slowest s':>9} {'RSS MB at start':>15} {'peak RSS MB':>11}  outcomes"
    )
    for name, t in tallies.items():
        rate = t.inputs / t.seconds if t.seconds else 0.0
        outcomes = ", ".join(f"{k} {v}" for k, v in t.outcomes.most_common())
        print(
            f"{name:<12} {t.inputs:>8} {len(t.distinct):>8} {rate:>8.1f} {t.crashes:>7} {t.hangs:>5} "
            f"{t.slowest:>9.2f} {t.base_rss_kb / 1024:>15.0f} {t.peak_rss_kb / 1024:>11.0f}  {outcomes}"
        )
    total = sum(t.inputs for t in tallies.values())
    print(
        f"{'all':<12} {total:>8} {sum(len(t.distinct) for t in tallies.values()):>8} {'':>8} "
        f"{sum(t.crashes for t in tallies.values()):>7} {sum(t.hangs for t in tallies.values()):>5} "
        f"{max((t.slowest for t in tallies.values()), default=0):>9.2f} {'':>15} "
        f"{max((t.peak_rss_kb for t in tallies.values()), default=0) / 1024:>11.0f}"
    )
    print("\ninputs per family:")
    for name, t in tallies.items():
        print(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(t.families.items())))
    print(
        f"\nbound {bound} s per input, worker address space capped at {memory_mb} MB; "
        f"peak RSS is the worker's (one per target, imports included)"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, help="time for the whole campaign, shared equally by the targets")
    parser.add_argument("--inputs", type=int, help="inputs for the whole campaign, shared equally by the targets")
    parser.add_argument("--seed", type=int, default=0, help="seed of every batch's Hypothesis seed (default 0)")
    parser.add_argument("--bound", type=float, default=10.0, help="seconds an input may take before it is a hang")
    parser.add_argument("--batch", type=int, default=500, help="Hypothesis examples per batch (default 500)")
    parser.add_argument("--memory-mb", type=int, default=3072, help="worker address-space cap (default 3072)")
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated (default {','.join(TARGETS)})")
    parser.add_argument(
        "--crashes", type=Path, default=Path("fuzz-crashes"), help="folder for failing inputs (default ./fuzz-crashes)"
    )
    args = parser.parse_args(argv)
    if args.minutes is None and args.inputs is None:
        parser.error("give --minutes and/or --inputs")
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown targets: {', '.join(unknown)} (known: {', '.join(TARGETS)})")
    seconds = None if args.minutes is None else args.minutes * 60
    print(
        f"fuzzing {', '.join(targets)}: {args.inputs or 'unlimited'} inputs, "
        f"{args.minutes or 'unlimited'} minutes, seed {args.seed}",
        flush=True,
    )
    tallies = campaign(targets, args.inputs, seconds, args.seed, args.bound, args.batch, args.memory_mb, args.crashes)
    print_table(tallies, args.bound, args.memory_mb)
    failed = sum(t.crashes + t.hangs for t in tallies.values())
    if failed:
        print(f"\n{failed} failing inputs saved under {args.crashes}/")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
