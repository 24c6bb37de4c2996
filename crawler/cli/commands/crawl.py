"""`crawler crawl`: `scrapy crawl presstv` with the project's settings, from any folder; with `--workers N`,
N such crawls as local worker processes on one shared frontier and store, and one combined summary."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

from crawler.cli.commands.argtypes import whole
from crawler.core.redact import mask_url, redact
from crawler.core.status import CommandError, ExitStatus, exit_statuses_text
from crawler.services.launch import Child, child, crawl_argv, split_secrets, use_project_settings


def add_spider_options(p: argparse.ArgumentParser) -> None:
    """The options every command that starts `scrapy crawl` takes: --spider, -a NAME=VALUE, -s NAME=VALUE."""
    p.add_argument("--spider", default="presstv", help="spider to run (default presstv)")
    p.add_argument(
        "-a",
        dest="spider_args",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="spider argument, as for scrapy crawl, e.g. -a mirrors=https://mirror.example (repeatable)",
    )
    p.add_argument(
        "-s",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Scrapy setting, as for scrapy crawl (repeatable)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crawl",
        help="run the crawl (scrapy crawl presstv) with the project settings, from any folder",
        description="Run `scrapy crawl <spider>` with the project's settings (no scrapy.cfg needed). "
        "Incremental by default: stored articles are skipped (-a refresh=2d or -a full=1 to re-fetch). "
        f"Exit status: {exit_statuses_text()}.",
    )
    add_spider_options(p)
    p.add_argument("--store", metavar="PATH", help='store file (sets CRAWLER_STORE; "" switches the store off)')
    p.add_argument(
        "-o",
        dest="append_to",
        action="append",
        default=[],
        metavar="FILE",
        help="append items to FILE (feed export; replaces the default exports/ file)",
    )
    p.add_argument(
        "-O", dest="overwrite", action="append", default=[], metavar="FILE", help="write items to FILE, replacing it"
    )
    p.add_argument(
        "--workers",
        type=whole(1, 256),
        metavar="N",
        help="run N worker processes on the shared frontier (environment variable or -s "
        "CRAWLER_FRONTIER=redis://...; the first seeds discovery) into one store, and print one combined "
        "summary",
    )
    p.add_argument("scrapy_args", nargs=argparse.REMAINDER, help="-- then more `scrapy crawl` arguments")
    p.set_defaults(func=run)


def scrapy_argv(args: argparse.Namespace) -> list[str]:
    """The `scrapy crawl` command line these options stand for."""
    settings = list(args.settings)
    if args.store is not None:
        settings.append(f"CRAWLER_STORE={args.store}")
    outputs = [*(a for v in args.append_to for a in ("-o", v)), *(a for v in args.overwrite for a in ("-O", v))]
    extra = list(args.scrapy_args or [])
    return crawl_argv(args.spider, args.spider_args, settings, outputs + (extra[1:] if extra[:1] == ["--"] else extra))


def frontier_extra(url: str | None) -> None:
    """A shared frontier needs the 'frontier' extra: one line (exit 7) when it is missing."""
    from crawler.core.extras import frontier_missing

    if needs := frontier_missing(url):
        raise CommandError(needs, ExitStatus.FRONTIER_ERROR)


def run(args: argparse.Namespace) -> int:
    if args.workers is not None:
        return run_workers(args)
    from scrapy.cmdline import execute

    frontier_extra(split_secrets(scrapy_argv(args))[1].get("CRAWLER_FRONTIER", os.environ.get("CRAWLER_FRONTIER")))

    use_project_settings()  # even outside the checkout (an installed package has no scrapy.cfg)
    try:
        execute(scrapy_argv(args))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


# ---- --workers N ---------------------------------------------------------------------------------------


def _setting(args: argparse.Namespace, name: str) -> str | None:
    """The last `-s NAME=VALUE` given for `name` (None when not given)."""
    found = None
    for value in args.settings:
        key, _, rest = value.partition("=")
        if key.strip() == name:
            found = rest
    return found


def workers(args: argparse.Namespace, run: str, stats_dir: Path) -> list[Child]:
    """Each worker: the same crawl, one run, the first one seeding; the store and frontier in its environment."""
    base = child(scrapy_argv(args))
    seed = str(_setting(args, "CRAWLER_FRONTIER_SEED") or "True").strip().lower() not in ("0", "false", "no", "off")
    return [
        base.with_settings(
            CRAWLER_FRONTIER_RUN=run,
            CRAWLER_FRONTIER_SEED=seed and i == 1,
            CRAWLER_WORKER=i,
            CRAWLER_STATS_FILE=stats_dir / f"worker-{i}.json",
            # Never a code-running control port in an unattended worker, whatever was given.
            REMOTE_CONTROL_ENABLED=False,
        )
        for i in range(1, args.workers + 1)
    ]


def combine_stats(all_stats: list[dict[str, Any]]) -> dict[str, Any]:
    """The workers' stats added up (numbers summed; the mirror keys united)."""
    total: dict[str, Any] = {}
    for stats in all_stats:
        for key, value in stats.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            total[key] = total.get(key, 0) + value
    return total


def _check_frontier(url: str) -> None:
    """One ping before any worker starts: an unreachable Redis is one line, not N workers' retries and logs."""
    frontier_extra(url)
    import redis

    from crawler.crawl.frontier import FrontierError, connect

    try:
        # The client the workers will use (the password handed over on its own, never parsed out of the URL),
        # without their retries: this is one quick question.
        client = connect(url, retries=0)
    except FrontierError as exc:
        raise CommandError(str(exc), ExitStatus.FRONTIER_ERROR) from None
    try:
        client.ping()
    except (redis.exceptions.RedisError, OSError, ValueError) as exc:
        raise CommandError(
            f"the frontier Redis at {mask_url(url)} cannot be reached "
            f"({redact(' '.join(str(exc).split()))}); start it or fix CRAWLER_FRONTIER",
            ExitStatus.FRONTIER_ERROR,
        ) from None
    finally:
        client.close()


def run_workers(args: argparse.Namespace) -> int:
    from crawler.crawl.extensions import RunRecorder
    from crawler.crawl.frontier import frontier_url, new_run_name

    if args.workers < 1:
        raise CommandError("--workers must be at least 1")
    if args.append_to or args.overwrite:
        raise CommandError(
            "-o/-O cannot be shared by several workers: each writes its own exports/ file, "
            "and `crawler export` gives one file of the store"
        )
    use_project_settings()
    frontier = split_secrets(scrapy_argv(args))[1].get("CRAWLER_FRONTIER")
    if frontier is None:
        from scrapy.utils.project import get_project_settings

        frontier = frontier_url(get_project_settings())
    if not (frontier or "").strip():
        raise CommandError(
            "--workers needs a shared frontier: export CRAWLER_FRONTIER=redis://127.0.0.1:6379/0 "
            "or add -s CRAWLER_FRONTIER=... (a running Redis)"
        )
    _check_frontier(frontier)
    run = (_setting(args, "CRAWLER_FRONTIER_RUN") or "").strip() or new_run_name()
    with tempfile.TemporaryDirectory(prefix="crawler-workers-") as tmp:
        stats_dir = Path(tmp)
        procs = [subprocess.Popen(w.argv, env=w.env) for w in workers(args, run, stats_dir)]
        print(
            f"crawler: {len(procs)} workers in run {run} on {mask_url(frontier)}: pids "
            f"{', '.join(str(p.pid) for p in procs)}",
            file=sys.stderr,
            flush=True,
        )

        def forward(signum: int, _frame: FrameType | None) -> None:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signum)

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            codes = [proc.wait() for proc in procs]
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        all_stats = []
        for i in range(1, len(procs) + 1):
            path = stats_dir / f"worker-{i}.json"
            all_stats.append(json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {})
    status = 0
    for i, (code, stats) in enumerate(zip(codes, all_stats, strict=True), start=1):
        if code < 0:
            line = f"killed by signal {-code} (its requests in flight went back to the queue)"
            status = status or int(ExitStatus.NO_MIRROR_REACHABLE)
        else:
            line = RunRecorder.summary(stats)["text"] if stats else "no summary"
            status = status or code
        print(f"worker {i} (pid {procs[i - 1].pid}, exit {code}): {line}")
    total = RunRecorder.summary(combine_stats(all_stats))
    mirrors = sorted({m for stats in all_stats for m in RunRecorder.summary(stats)["mirrors"]})
    text = total["text"].replace(
        f"mirrors used: {', '.join(total['mirrors']) or 'none'}", f"mirrors used: {', '.join(mirrors) or 'none'}"
    )
    from crawler.crawl import statkeys
    from crawler.crawl.commands.crawl import failure_cause

    # Every worker judged the whole crawl's health (summed on the frontier): the alarm's reason is the crawl's.
    alarms = [str(s[statkeys.HEALTH_ALARM_CAUSE]) for s in all_stats if s.get(statkeys.HEALTH_ALARM_CAUSE)]
    why = f" ({redact(alarms[0])})" if status == ExitStatus.LAYOUT_ALARM and alarms else ""
    print(f"all {len(procs)} workers: {text}; exit status {status}{why}", flush=True)
    causes = list(dict.fromkeys(c for c in map(failure_cause, all_stats) if c))
    if status and causes:
        # The reason, last, even when the workers logged it hundreds of lines earlier.
        print(f"crawler: error: {redact('; '.join(causes))}", file=sys.stderr)
    return status
