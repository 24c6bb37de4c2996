"""`scrapy crawl` that exits non-zero when the run says so: bad arguments, no mirror reachable, alarms.

Exit status: 2 for a bad spider argument (one line on stderr); the value of stats key `crawler/exit_status`
when a component set it non-zero (1 when no mirror could be reached, with that one line printed last;
the layout-drift alarm sets its own); 1 when Scrapy could not start the crawl; otherwise 0.
With setting CRAWLER_STATS_FILE=path the run's final stats are written there as JSON.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler import statkeys
from crawler.redact import redact, redact_json
from crawler.status import ExitStatus


class Command(ScrapyCrawlCommand):
    """Scrapy's crawl command, plus argument checks up front and an exit status read from the run's stats."""

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name, e.g. `scrapy crawl presstv`")
        assert self.crawler_process is not None
        try:
            spidercls = self.crawler_process.spider_loader.load(args[0])
        except KeyError:
            print(f"scrapy crawl: error: no spider named {args[0]!r}", file=sys.stderr)
            self.exitcode = ExitStatus.BAD_ARGUMENT
            return
        # The spider's own checks of its arguments and settings, before anything is opened or fetched.
        checks = (("check_arguments", lambda check: check(**opts.spargs)),
                  ("check_settings", lambda check: check(self.settings)))
        for name, call in checks:
            check = getattr(spidercls, name, None)
            if check is None:
                continue
            try:
                call(check)
            except ValueError as exc:
                print(f"scrapy crawl: error: {redact(str(exc))}", file=sys.stderr)
                self.exitcode = ExitStatus.BAD_ARGUMENT
                return
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
        message = stats.get(statkeys.NO_MIRROR_REACHABLE)
        if message:
            print(redact(str(message)), file=sys.stderr)
        if status:
            self.exitcode = status
        elif self.crawler_process.bootstrap_failed:
            self.exitcode = ExitStatus.NO_MIRROR_REACHABLE
