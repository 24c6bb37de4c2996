"""Exit statuses of every command and crawl, and the one-line user-facing error the commands raise."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What a `crawler` command or a `scrapy crawl` run exits with (documented in README "Exit statuses")."""

    OK = 0
    NO_MIRROR_REACHABLE = 1
    """No mirror answered at all (also: Scrapy could not start the crawl)."""
    BAD_ARGUMENT = 2
    """A bad command-line option, spider argument or setting value."""
    LAYOUT_ALARM = 4
    """The run finished but its summary raised the layout-drift alarm."""
    STORE_ERROR = 5
    """The store could not be opened or written (locked, read-only, disk full, corrupt)."""
    ARCHIVE_STOPPED = 6
    """A web-archive source was stopped early because the archive kept answering 429/503: the backfill is
    incomplete; run it again later (it resumes: stored articles are skipped)."""
    FRONTIER_ERROR = 7
    """The shared frontier (CRAWLER_FRONTIER's Redis) could not be reached, or lost the crawl's queue."""
    INTERRUPTED = 130
    """Ctrl-C."""


class CommandError(Exception):
    """A user-facing failure: printed as one line `crawler: error: ...`, exit status `status`."""

    def __init__(self, message: str, status: int = ExitStatus.BAD_ARGUMENT) -> None:
        super().__init__(message)
        self.status = int(status)
