"""A run lock file: one writer process per store (or per schedule), or the workers of one shared-frontier crawl
together; released by the kernel when its process dies."""

from __future__ import annotations

import errno
import fcntl
import os
from typing import IO

from crawler.core.outputs import open_lock_file
from crawler.store import StoreError, StoreLocked


class RunLock:
    """A lock on `<store>.lock` (fcntl.flock): the kernel drops it when its process dies, so a killed crawl
    never leaves the store locked. The holder's pid is written into the file for messages.

    Exclusive by default (one crawl or re-extraction at a time). Shared (`shared=True`) for the workers of a
    crawl on a shared frontier: any number of them hold it together (their writes take turns in the store),
    while an exclusive holder shuts them all out, and they it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self, what: str, shared: bool = False) -> None:
        try:
            handle = open_lock_file(self.path)  # held open for the lock's lifetime
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StoreError(
                    f"lock file {self.path} is a symbolic link; remove it (a lock file is never "
                    "followed to another file)"
                ) from None
            raise StoreError(f"cannot create lock file {self.path}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(handle.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
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
        handle.write(str(os.getpid()))  # of shared holders, the latest names them all
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
