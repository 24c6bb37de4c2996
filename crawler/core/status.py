"""Exit statuses of every command and crawl, and the one-line user-facing error the commands raise."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """What a `crawler` command or a `scrapy crawl` run exits with (docs/02-crawling.md, "Exit statuses")."""

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


EXIT_STATUS_MEANINGS: dict[ExitStatus, str] = {
    ExitStatus.OK: "ok",
    ExitStatus.NO_MIRROR_REACHABLE: "no mirror reachable",
    ExitStatus.BAD_ARGUMENT: "bad argument",
    ExitStatus.LAYOUT_ALARM: "layout-drift alarm",
    ExitStatus.STORE_ERROR: "store unusable",
    ExitStatus.ARCHIVE_STOPPED: "a web-archive source stopped early (run it again later)",
    ExitStatus.FRONTIER_ERROR: "shared frontier (Redis) unreachable or its queue lost",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C)",
}
"""Each exit status in a few words, for help texts."""


def exit_statuses_text() -> str:
    """Every exit status and its meaning on one line, e.g. "0 ok, 1 no mirror reachable, ..."."""
    return ", ".join(f"{int(s)} {EXIT_STATUS_MEANINGS[s]}" for s in ExitStatus)


class CommandError(Exception):
    """A user-facing failure: printed as one line `crawler: error: ...`, exit status `status`."""

    def __init__(self, message: str, status: int = ExitStatus.BAD_ARGUMENT) -> None:
        super().__init__(message)
        self.status = int(status)
