"""Writing a command's output path: regular files replaced atomically, anything else (device, pipe) written through."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import IO, BinaryIO


def is_special(path: str) -> bool:
    """True when `path` exists and is not a regular file (a device such as /dev/null or /dev/fd/N, a named pipe,
    a socket): such a path is written in place, never renamed over. A symlink counts as what it points at."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


@contextmanager
def output_file(path: str) -> Iterator[BinaryIO]:
    """A binary stream for `path`, committed when the block ends without an exception.

    A regular (or new) file is written under a fresh temporary name in its own folder (mkstemp: O_EXCL, so no
    planted name or symlink is ever followed) and renamed into place at the end, so a reader never sees half a
    file and a failed run leaves the old one as it was. A device or named pipe is opened and written directly:
    renaming over it would replace the device node or pipe with a plain file (and a pipe's reader would get
    nothing). Raises OSError when the path cannot be written, IsADirectoryError for a folder."""
    if os.path.isdir(path):
        raise IsADirectoryError(21, "is a folder", path)
    if is_special(path):
        with open(path, "wb") as stream:
            yield stream
        return
    if os.path.islink(path):
        # The user named a link to their file: the file it points at is replaced, the link stays a link.
        path = os.path.realpath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as stream:
            yield stream
        # mkstemp makes the file private (0600); the finished output gets the usual umask-derived mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def open_lock_file(path: str) -> IO[str]:
    """`path` opened for reading and writing, created when missing, never through a symlink (O_NOFOLLOW): a lock
    file someone replaced by a link to another file fails with OSError (ELOOP) instead of truncating the target."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, 0o644)
    try:
        return os.fdopen(fd, "r+", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise


__all__ = ["is_special", "open_lock_file", "output_file"]
