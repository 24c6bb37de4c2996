"""`crawler schedule`: run the crawl on an interval or cron expression (APScheduler), never two at once."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any

from crawler.cli.commands.argtypes import whole
from crawler.cli.commands.common import default_store_path
from crawler.cli.commands.crawl import add_spider_options
from crawler.core.redact import redact
from crawler.core.status import CommandError
from crawler.services.launch import Child, child, crawl_argv, split_secrets
from crawler.store import StoreError, StoreLocked, open_store, sqlite_file
from crawler.store.lock import RunLock
from crawler.store.when import parse_duration, utc_key, utc_now

STOP_GRACE_SECONDS = 60.0
"""After Ctrl-C/SIGTERM the running crawl gets this long to stop cleanly (Scrapy's graceful shutdown)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schedule",
        help="run the crawl every N minutes or on a cron expression, one run at a time",
        description="Run `scrapy crawl <spider>` on a schedule (APScheduler): --every runs at once and then "
        "every interval; --cron follows a crontab line. A run still going when the next is due makes that "
        "one skip, and a lock file keeps two schedulers on one store from overlapping. Every run's outcome "
        "is in the store (`crawler runs`). Ctrl-C or SIGTERM stops cleanly: the running crawl finishes its "
        "requests in flight and stores what it has. Extra arguments after -- go to `scrapy crawl` as they are.",
    )
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--every", metavar="DURATION", help="interval such as 30m, 2h, 45s")
    when.add_argument("--cron", metavar="EXPR", help='crontab expression, e.g. "*/30 * * * *" (local time)')
    add_spider_options(p)
    p.add_argument("--store", metavar="PATH", help="store file (default: the CRAWLER_STORE setting)")
    p.add_argument("--lock", metavar="PATH", help="lock file (default: <store>.schedule.lock)")
    p.add_argument(
        "--max-runs", type=whole(0, 10**9), default=0, metavar="N", help="stop after N runs (default: never)"
    )
    p.add_argument("crawl_args", nargs=argparse.REMAINDER, help="-- then more `scrapy crawl` arguments")
    p.set_defaults(func=run)


@dataclass
class Scheduled:
    """What every run needs, and the state shared by the job thread and the signal handlers."""

    command: Child
    store: str
    lock_path: str
    spider: str
    max_runs: int
    stop: threading.Event = field(default_factory=threading.Event)
    runs: int = 0
    child: subprocess.Popen[bytes] | None = None
    child_lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: list[int] = field(default_factory=list)


def _say(message: str) -> None:
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S%z")
    print(f"{stamp} schedule: {redact(message)}", flush=True)


def build_child(args: argparse.Namespace, store: str) -> Child:
    """The crawl each run starts: this Python's Scrapy with the project settings and the user's arguments, the
    store in its environment (its URL may hold a password; `ps` shows a command line to every user)."""
    return child(
        crawl_argv(args.spider, args.spider_args, args.settings, args.crawl_args or []),
        secrets={"CRAWLER_STORE": store},
    )


def given_store(args: argparse.Namespace) -> str:
    """The store the runs write: --store, else the last `-s CRAWLER_STORE=`, else the CRAWLER_STORE setting."""
    if args.store is not None:
        return str(args.store)
    given = split_secrets(crawl_argv(args.spider, settings=args.settings, extra=args.crawl_args or []))[1]
    return given.get("CRAWLER_STORE", default_store_path())


def default_lock_path(store: str) -> str:
    """The schedule lock beside a store file; for a store on a server, in the current folder."""
    file = sqlite_file(store) if store else None
    return f"{file}.schedule.lock" if file else "crawler.schedule.lock"


def run_once(state: Scheduled) -> None:
    """One scheduled run: take the lock (or skip), run the crawl to its end, record its outcome."""
    if state.stop.is_set():
        return
    state.runs += 1
    number = state.runs
    lock = RunLock(state.lock_path)
    try:
        lock.acquire("schedule lock " + state.lock_path)
    except StoreLocked as exc:
        _say(f"run {number} skipped: {exc}")
        state.statuses.append(0)
        _maybe_done(state)
        return
    except StoreError as exc:
        _say(f"run {number} not started: {exc}")
        state.statuses.append(1)
        _maybe_done(state)
        return
    uid = uuid.uuid4().hex
    started = utc_key(utc_now())
    began = time.monotonic()
    try:
        _say(f"run {number} started: {' '.join(state.command.argv[2:])}")
        crawl = state.command.with_settings(CRAWLER_RUN_UID=uid)
        with state.child_lock:
            if state.stop.is_set():
                return
            # Own session: a terminal's Ctrl-C reaches only the scheduler, which stops the crawl once, cleanly.
            state.child = subprocess.Popen(crawl.argv, env=crawl.env, start_new_session=True)
        status = state.child.wait()
        with state.child_lock:
            state.child = None
        outcome = "ok" if status == 0 else f"exit status {status}"
        _say(f"run {number} finished in {time.monotonic() - began:.0f}s: {outcome}")
        state.statuses.append(status)
        if state.store:
            try:
                with open_store(state.store) as store:
                    store.record_external_run(uid, state.spider, status, f"exit status {status}", started)
            except StoreError as exc:
                _say(f"run {number}: outcome not recorded: {exc}")
    finally:
        lock.release()
    _maybe_done(state)


def _maybe_done(state: Scheduled) -> None:
    if state.max_runs and state.runs >= state.max_runs:
        state.stop.set()


def _stop_child(state: Scheduled) -> None:
    """Ask the running crawl to stop the way Ctrl-C does (one SIGINT: graceful), then wait for it."""
    with state.child_lock:
        child = state.child
    if child is None or child.poll() is not None:
        return
    _say("stopping the running crawl (it stores what it has)")
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _say("crawl did not stop in time; killing it (uncommitted work is fetched again next run)")
        child.kill()
        child.wait()


def run(args: argparse.Namespace) -> int:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    trigger: Any
    if args.every:
        try:
            trigger = IntervalTrigger(seconds=parse_duration(args.every).total_seconds())
        except ValueError as exc:
            raise CommandError(f"--every: {exc}") from None
    else:
        try:
            trigger = CronTrigger.from_crontab(args.cron)
        except ValueError as exc:
            raise CommandError(f"--cron {args.cron!r}: {exc} (five fields: minute hour day month weekday)") from None
    if args.max_runs < 0:
        raise CommandError("--max-runs must be 0 (never stop) or more")
    store = given_store(args)
    try:
        lock_path = args.lock or default_lock_path(store)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    if os.path.dirname(lock_path):
        try:
            os.makedirs(os.path.dirname(lock_path), exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot create folder for {lock_path}: {exc.strerror or exc}") from None
    state = Scheduled(build_child(args, store), store, lock_path, args.spider, args.max_runs)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        state.stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler = BackgroundScheduler(job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None})
    # --every starts at once; --cron waits for its first matching time.
    first = datetime.now().astimezone() if args.every else None
    scheduler.add_job(
        run_once,
        trigger,
        args=[state],
        id="crawl",
        name=f"crawl {args.spider}",
        next_run_time=first if first else trigger.get_next_fire_time(None, datetime.now().astimezone()),
    )
    scheduler.start()
    job = scheduler.get_job("crawl")
    how = f"every {args.every}" if args.every else f"on cron {args.cron!r}"
    upcoming = (
        "; first run now"
        if args.every
        else (f"; first run {job.next_run_time:%Y-%m-%d %H:%M:%S%z}" if job and job.next_run_time else "")
    )
    _say(f"crawling with {args.spider} {how}{upcoming}; Ctrl-C stops")
    try:
        while not state.stop.wait(0.2):
            pass
        _stop_child(state)
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _say(f"stopped after {state.runs} run(s)")
    return 0
