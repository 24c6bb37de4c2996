"""A run lock file: one writer process per store (or per schedule), released by the kernel when it dies."""

from __future__ import annotations

import fcntl
import os
from typing import IO

from crawler.store import StoreError, StoreLocked


class RunLock:
    """An exclusive lock on `<store>.lock` (fcntl.flock): the kernel drops it when its process dies, so a
    killed crawl never leaves the store locked. The holder's pid is written into the file for messages."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self, what: str) -> None:
        try:
            handle = open(self.path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        except OSError as exc:
            raise StoreError(f"cannot create lock file {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise StoreLocked(
                f"{what} is in use by another process (pid {holder}); wait for it to finish "
                "or point CRAWLER_STORE/--store elsewhere"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            finally:
                self._file.close()
                self._file = None


__all__ = ["RunLock"]
