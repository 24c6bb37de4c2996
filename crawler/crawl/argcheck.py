"""Names a user types that nothing reads: unknown spider arguments and CRAWLER_* settings, refused in one line."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable, Mapping
from typing import Any

INCREMENTAL_ARGUMENTS = ("refresh", "full")
"""Spider arguments read by the incremental middleware, whatever the spider (`-a refresh=2d`, `-a full=1`)."""

INTERNAL_ARGUMENTS = ("outlet_profile",)
"""Keyword parameters a spider takes from code, never from the command line."""

RUNTIME_SETTINGS = ("CRAWLER_STATS_FILE", "CRAWLER_WORKER", "CRAWLER_RUN_UID")
"""CRAWLER_* settings without a default in crawler.crawl.settings, set by the commands that start crawls."""


def _unknown(kind: str, name: str, known: Iterable[str], *, listed: bool) -> str:
    choices = sorted(set(known))
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if close:
        return f"unknown {kind} {name!r}: did you mean {close[0]}?"
    return f"unknown {kind} {name!r}" + (f": known: {', '.join(choices)}" if listed else "")


def spider_arguments(spidercls: type) -> tuple[str, ...] | None:
    """The `-a NAME=VALUE` names `spidercls` reads, or None when it declares none of its own (a spider taking only
    **kwargs accepts anything, as Scrapy does)."""
    params = [
        p for p in inspect.signature(spidercls).parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    names = [p.name for p in params if p.name not in INTERNAL_ARGUMENTS]
    return (*names, *INCREMENTAL_ARGUMENTS) if names else None


def check_spider_arguments(spidercls: type, spargs: Mapping[str, Any]) -> None:
    """Raise ValueError (one line, with a "did you mean") for an argument the spider would silently ignore.
    Names starting with "_" pass: Scrapyd adds `_job`."""
    known = spider_arguments(spidercls)
    if known is None:
        return
    for name in spargs:
        if name not in known and not name.startswith("_"):
            raise ValueError(_unknown("spider argument", name, known, listed=True))


def known_settings() -> tuple[str, ...]:
    """Every CRAWLER_* setting the project reads."""
    from crawler.crawl import settings as project

    return (*(name for name in vars(project) if name.startswith("CRAWLER_")), *RUNTIME_SETTINGS)


def check_crawler_settings(names: Iterable[str]) -> None:
    """Raise ValueError (one line, with a "did you mean") for a CRAWLER_* setting nothing reads."""
    known = known_settings()
    for name in names:
        if name.startswith("CRAWLER_") and name not in known:
            raise ValueError(_unknown("setting", name, known, listed=False))


__all__ = ["check_crawler_settings", "check_spider_arguments", "known_settings", "spider_arguments"]
