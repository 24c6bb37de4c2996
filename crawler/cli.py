"""The `crawler` command line: one subcommand per module in crawler.commands."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from crawler import __version__
from crawler.redact import install_log_redaction, redact
from crawler.status import CommandError, ExitStatus

# Each module defines `register(subparsers)` adding its subcommand(s) with `set_defaults(func=...)`;
# `func(args) -> int` returns the exit status. Order here is the order shown in --help.
COMMAND_MODULES = (
    "crawler.commands.extract",
    "crawler.commands.fixtures",
    "crawler.commands.demo",
    "crawler.commands.site",
    "crawler.commands.crawl",
    "crawler.commands.import_warc",
    "crawler.commands.export",
    "crawler.commands.search",
    "crawler.commands.diff",
    "crawler.commands.coverage",
    "crawler.commands.serve",
    "crawler.commands.reextract",
    "crawler.commands.schedule",
    "crawler.commands.runs",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="crawler", description="Crawl Press TV and its mirrors into clean article records."
    )
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
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()
    if not getattr(args, "func", None):
        parser.print_help()
        return ExitStatus.BAD_ARGUMENT
    try:
        status: int = args.func(args)
    except CommandError as exc:
        print(f"crawler: error: {redact(str(exc))}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("crawler: interrupted", file=sys.stderr)
        return ExitStatus.INTERRUPTED
    return status


__all__ = ["CommandError", "build_parser", "main"]
