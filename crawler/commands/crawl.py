"""`crawler crawl`: `scrapy crawl presstv` with the project's settings, from any folder."""

from __future__ import annotations

import argparse
import os


def add_spider_options(p: argparse.ArgumentParser) -> None:
    """The options every command that starts `scrapy crawl` takes: --spider, -a NAME=VALUE, -s NAME=VALUE."""
    p.add_argument("--spider", default="presstv", help="spider to run (default presstv)")
    p.add_argument("-a", dest="spider_args", action="append", default=[], metavar="NAME=VALUE",
                   help="spider argument, as for scrapy crawl, e.g. -a mirrors=https://mirror.example (repeatable)")
    p.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                   help="Scrapy setting, as for scrapy crawl (repeatable)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "crawl",
        help="run the crawl (scrapy crawl presstv) with the project settings, from any folder",
        description="Run `scrapy crawl <spider>` with the project's settings (no scrapy.cfg needed). "
        "Incremental by default: stored articles are skipped (-a refresh=2d or -a full=1 to re-fetch). "
        "Exit status: 0 ok, 1 no mirror reachable, 2 bad argument, 4 layout-drift alarm, 5 store unusable.",
    )
    add_spider_options(p)
    p.add_argument("--store", metavar="PATH", help="store file (sets CRAWLER_STORE; \"\" switches the store off)")
    p.add_argument("-o", dest="append_to", action="append", default=[], metavar="FILE",
                   help="append items to FILE (feed export; replaces the default exports/ file)")
    p.add_argument("-O", dest="overwrite", action="append", default=[], metavar="FILE",
                   help="write items to FILE, replacing it")
    p.add_argument("scrapy_args", nargs=argparse.REMAINDER, help="-- then more `scrapy crawl` arguments")
    p.set_defaults(func=run)


def scrapy_argv(args: argparse.Namespace) -> list[str]:
    """The `scrapy crawl` command line these options stand for."""
    argv = ["scrapy", "crawl", args.spider]
    for value in args.spider_args:
        argv += ["-a", value]
    for value in args.settings:
        argv += ["-s", value]
    if args.store is not None:
        argv += ["-s", f"CRAWLER_STORE={args.store}"]
    for value in args.append_to:
        argv += ["-o", value]
    for value in args.overwrite:
        argv += ["-O", value]
    extra = list(args.scrapy_args or [])
    return argv + (extra[1:] if extra[:1] == ["--"] else extra)


def run(args: argparse.Namespace) -> int:
    from scrapy.cmdline import execute

    # The project settings even outside the checkout (an installed package has no scrapy.cfg).
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    try:
        execute(scrapy_argv(args))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
