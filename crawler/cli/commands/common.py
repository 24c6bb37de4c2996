"""What several commands share: the store they open by default and the article filter their options describe."""

from __future__ import annotations

import argparse

from crawler.core.status import CommandError
from crawler.store import DEFAULT_STORE, ArticleStore, ExportFilter, StoreError, StoreNeedsUpgrade, open_store
from crawler.store.when import parse_when


def default_store_path() -> str:
    """The store the commands use without --store: the project's CRAWLER_STORE setting (Scrapy project
    settings, so a user's own settings module or scrapy.cfg counts), else DEFAULT_STORE."""
    from scrapy.utils.project import get_project_settings

    path = get_project_settings().get("CRAWLER_STORE")
    if path is None:
        from crawler.crawl import settings as project_settings

        path = getattr(project_settings, "CRAWLER_STORE", DEFAULT_STORE)
    return str(path or "")


def store_path(args: argparse.Namespace) -> str:
    """The store a command works on: --store, else the CRAWLER_STORE setting (CommandError when it is "")."""
    path = args.store or default_store_path()
    if not path:
        raise CommandError("no store: CRAWLER_STORE is empty; give --store PATH")
    return str(path)


def build_filter(args: argparse.Namespace) -> ExportFilter:
    """The filter the --since/--until/--section/--changed-since options describe (CommandError if bad)."""
    values: dict[str, str | None] = {}
    for name in ("since", "until", "changed_since"):
        raw = getattr(args, name, None)
        if raw is None:
            values[name] = None
            continue
        try:
            values[name] = parse_when(raw)
        except ValueError as exc:
            raise CommandError(f"--{name.replace('_', '-')}: {exc}") from None
    return ExportFilter(
        since=values["since"],
        until=values["until"],
        section=getattr(args, "section", None),
        changed_since=values["changed_since"],
    )


def open_reader(path: str) -> ArticleStore:
    """The store opened read-only for a reading command; a store of an older schema is upgraded first (the
    same upgrade the next crawl would make). CommandError (one line) when it cannot be read."""
    try:
        return open_store(path, readonly=True)
    except StoreNeedsUpgrade:
        pass
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    try:
        open_store(path).close()
        return open_store(path, readonly=True)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
