"""The `crawler` command line: one subcommand per module in crawler.cli.commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from crawler import __version__
from crawler.core.redact import install_log_redaction, redact
from crawler.core.status import CommandError, ExitStatus

# Each module defines `register(subparsers)` adding its subcommand(s) with `set_defaults(func=...)`;
# `func(args) -> int` returns the exit status. Order here is the order shown in --help.
COMMAND_MODULES = (
    "crawler.cli.commands.extract",
    "crawler.cli.commands.fixtures",
    "crawler.cli.commands.demo",
    "crawler.cli.commands.site",
    "crawler.cli.commands.crawl",
    "crawler.cli.commands.import_warc",
    "crawler.cli.commands.export",
    "crawler.cli.commands.search",
    "crawler.cli.commands.diff",
    "crawler.cli.commands.coverage",
    "crawler.cli.commands.serve",
    "crawler.cli.commands.reextract",
    "crawler.cli.commands.schedule",
    "crawler.cli.commands.runs",
)


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors: `crawler search: error: argument --limit: ... (see --help)`, exit 2;
    the full usage stays one `--help` away instead of burying the line that matters."""

    def error(self, message: str) -> NoReturn:
        self.exit(ExitStatus.BAD_ARGUMENT, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


class CommandLogHandler(logging.StreamHandler):
    """The commands' stderr log handler. It stands down while Scrapy's own root handler is installed (a crawl
    run in this process): Scrapy then logs every record once, by its LOG_LEVEL, LOG_FILE and LOG_STDOUT."""

    def emit(self, record: logging.LogRecord) -> None:
        scrapy_log = sys.modules.get("scrapy.utils.log")
        if scrapy_log is not None and scrapy_log.get_scrapy_root_handler() is not None:
            return
        self.stream = sys.stderr  # whatever stderr is now (tests and callers may redirect it)
        super().emit(record)


def setup_logging(verbose: bool) -> None:
    """Warnings (with -v, debug detail) to stderr, one line each; passwords masked in every record."""
    level = logging.DEBUG if verbose else logging.WARNING
    for old in [h for h in logging.root.handlers if isinstance(h, CommandLogHandler)]:
        logging.root.removeHandler(old)  # main() run again in one process (tests, callers) logs once
    handler = CommandLogHandler(sys.stderr)
    # On the handler, not only the root logger: Scrapy sets the root logger's level to NOTSET when it starts.
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.root.addHandler(handler)
    if verbose:
        logging.root.setLevel(level)
    install_log_redaction()


def _quiet_broken_pipe() -> int:
    """The reader of stdout left (`crawler search ... | head`): not an error. Point stdout at /dev/null so the
    interpreter's final flush does not fail again (the recipe of Python's `signal` documentation)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass  # stdout is not a file descriptor (a caller's buffer): nothing more to flush
    return ExitStatus.OK


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand registered."""
    parser = Parser(prog="crawler", description="Crawl Press TV and its mirrors into clean article records.")
    parser.add_argument("--version", action="version", version=f"crawler {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue  # command not built yet in this checkout
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (printed), --help or --version: a status, as for any command
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else ExitStatus.BAD_ARGUMENT)
    setup_logging(args.verbose)
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitStatus.BAD_ARGUMENT
    try:
        status: int = args.func(args)
        sys.stdout.flush()  # inside the try: a reader that left shows up here, not at exit
    except CommandError as exc:
        print(f"crawler: error: {redact(str(exc))}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print("crawler: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    return status


__all__ = ["CommandError", "build_parser", "main"]
