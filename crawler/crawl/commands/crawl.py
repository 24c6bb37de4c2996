"""`scrapy crawl` that exits non-zero when the run says so: bad arguments, no mirror reachable, alarms.

Exit status: 2 for a bad spider argument (one line on stderr); the value of stats key `crawler/exit_status`
when a component set it non-zero (1 when no mirror could be reached, with that one line printed last;
the layout-drift alarm sets its own); 1 when Scrapy could not start the crawl; otherwise 0.
With setting CRAWLER_STATS_FILE=path the run's final stats are written there as JSON.

Logging is Scrapy's own (LOG_LEVEL, LOG_FILE, LOG_STDOUT), each record once. LOG_FILE's folder is created; with
LOG_FILE set, warnings and errors still reach stderr. The last lines on stderr are the run's summary (left out
when LOG_LEVEL is above INFO and the run succeeded) and, on failure, its one-line cause.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.log import get_scrapy_root_handler

from crawler.core.redact import redact, redact_json
from crawler.core.status import ExitStatus
from crawler.crawl import statkeys
from crawler.crawl.argcheck import check_crawler_settings, check_spider_arguments

CAUSE_KEYS = (
    statkeys.NO_MIRROR_REACHABLE,
    statkeys.STORE_ERROR,
    statkeys.FRONTIER_ERROR,
    statkeys.HEALTH_ALARM_CAUSE,
)
"""Stats keys holding the one-line cause of a failed run, in the order they are looked for."""


def failure_cause(stats: dict[str, Any]) -> str | None:
    """The one-line reason a run failed, from its stats (None when none was recorded)."""
    for key in CAUSE_KEYS:
        if stats.get(key):
            return str(stats[key])
    stopped = [str(v) for k, v in sorted(stats.items()) if k.startswith("archive/") and k.endswith("/stopped") and v]
    return "; ".join(stopped) or None


def _log_level(settings: Any) -> int:
    """LOG_LEVEL as a number (a name such as "WARNING" or a number; INFO when unreadable)."""
    value = settings.get("LOG_LEVEL")
    if isinstance(value, int):
        return value
    level = logging.getLevelName(str(value).strip().upper())
    return level if isinstance(level, int) else logging.INFO


def _error(message: str) -> None:
    print(f"scrapy crawl: error: {redact(message)}", file=sys.stderr)


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl command, plus argument checks up front and an exit status read from the run's stats."""

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        self._check_arguments(args, opts)
        from crawler.core.extras import frontier_missing
        from crawler.crawl.frontier import frontier_url

        if needs := frontier_missing(frontier_url(self.settings)):
            _error(needs)  # before Scrapy loads the frontier's scheduler, which would fail with a traceback
            sys.exit(ExitStatus.FRONTIER_ERROR)
        log_file = self.settings.get("LOG_FILE")
        if log_file and self.settings.getbool("LOG_ENABLED"):
            # Scrapy opens LOG_FILE as its logging starts: a schedule's logs/crawl.log must not need a mkdir.
            folder = os.path.dirname(os.path.abspath(str(log_file)))
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                _error(f"setting LOG_FILE={log_file}: cannot create its folder: {exc.strerror or exc}")
                sys.exit(ExitStatus.BAD_ARGUMENT)

    def _warnings_to_stderr(self) -> None:
        """With LOG_FILE, Scrapy's handler writes only the file: warnings and errors also go to stderr (once),
        so an unattended run's owner hears of trouble and of nothing else."""
        assert self.settings is not None
        if not (self.settings.get("LOG_FILE") and self.settings.getbool("LOG_ENABLED")):
            return
        scrapy_handler = get_scrapy_root_handler()
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(max(logging.WARNING, _log_level(self.settings)))
        if scrapy_handler is not None and scrapy_handler.formatter is not None:
            handler.setFormatter(scrapy_handler.formatter)
            for flt in scrapy_handler.filters:
                handler.addFilter(flt)
        logging.root.addHandler(handler)

    def _print_outcome(self, stats: dict[str, Any], status: int) -> None:
        """The run's summary and, on failure, its cause: the last lines on stderr, whatever was logged before."""
        assert self.settings is not None
        quiet = _log_level(self.settings) > logging.INFO
        if stats and not (quiet and not status):
            from crawler.crawl.extensions import RunRecorder

            print(f"crawl summary: {RunRecorder.summary(stats)['text']}; exit status {status}", file=sys.stderr)
        cause = failure_cause(stats) if status else None
        if cause:
            print(redact(cause), file=sys.stderr)

    def _check_arguments(self, args: list[str], opts: argparse.Namespace) -> None:
        """Names nothing reads (a misspelt -a mirror=... would crawl the live mirrors), then the spider's own checks
        of its arguments and settings: a bad one exits 2 with one line, before Scrapy logs its start-up lines and
        before anything is opened or fetched."""
        assert self.settings is not None
        if len(args) != 1:
            raise UsageError("give exactly one spider name, e.g. `scrapy crawl presstv`")
        try:
            spidercls = get_spider_loader(self.settings).load(args[0])
        except KeyError:
            _error(f"no spider named {args[0]!r}")
            sys.exit(ExitStatus.BAD_ARGUMENT)
        settings = self.settings
        checks = (
            lambda: check_spider_arguments(spidercls, opts.spargs),
            lambda: check_crawler_settings(name for name in settings),
            lambda: getattr(spidercls, "check_arguments", lambda **_: None)(**opts.spargs),
            lambda: getattr(spidercls, "check_settings", lambda _: None)(settings),
        )
        for check in checks:
            try:
                check()
            except ValueError as exc:
                _error(str(exc))
                sys.exit(ExitStatus.BAD_ARGUMENT)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None
        spidercls = self.crawler_process.spider_loader.load(args[0])
        self._warnings_to_stderr()
        crawler = self._create_crawler(spidercls)
        self.crawler_process.crawl(crawler, **opts.spargs)
        self.crawler_process.start()
        stats = crawler.stats.get_stats() if crawler.stats is not None else {}
        stats_file = crawler.settings.get("CRAWLER_STATS_FILE")
        if stats_file:
            # For tests and benchmarks that run the crawl as a subprocess and read its figures.
            text = redact_json(stats, sort_keys=True, indent=1)
            Path(stats_file).write_text(text, encoding="utf-8")
        status = int(stats.get(statkeys.EXIT_STATUS) or 0)
        if not status and self.crawler_process.bootstrap_failed:
            status = ExitStatus.NO_MIRROR_REACHABLE
        self._print_outcome(stats, status)
        self.exitcode = status
