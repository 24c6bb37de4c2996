"""Bounded process-pool mapping, for the commands that extract many pages outside a crawl (through
`crawler.pool.extraction.ExtractionPool.map`).

Work goes to the pool in chunks (one round trip per chunk, not per page) with at most `window` chunks in
flight, so memory stays flat however many pages there are, and answers come back in the order the chunks went
out, so the caller can write results in input order (which an import needs: the newer capture must be stored
after the older one).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import islice
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

CHUNK = 8
"""Items per pool task."""


def default_workers(workers: int | None) -> int:
    """`workers`, else every core (at least one)."""
    return max(1, workers or os.cpu_count() or 1)


def ordered_map(
    func: Callable[..., list[R]],
    items: Iterable[T],
    *,
    workers: int | None = None,
    chunk: int = CHUNK,
    args: tuple[Any, ...] = (),
    spawn: bool = False,
    initializer: Callable[[], object] | None = None,
    send: Callable[[T], Any] | None = None,
) -> Iterator[tuple[list[T], list[R]]]:
    """Call `func(chunk_of_items, *args)` in a pool of `workers` processes (default: every core) and yield
    each (chunk, func's list of results) in the order the items came.

    `spawn` starts workers fresh instead of forking (for callers that run threads). Items are drawn from
    `items` only as the window frees up, so a generator is read lazily. Leaving the loop early (an
    exception, Ctrl-C) cancels what is still queued and waits for the workers to end. `send(item)`, when
    given, is what goes to the pool for an item (the chunk handed to `func`); the items themselves are yielded.
    """
    count = default_workers(workers)
    window = count * 4  # enough queued work to keep every worker busy between our reads of the answers
    source = iter(items)
    context = multiprocessing.get_context("spawn") if spawn else None
    with ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=initializer) as pool:
        pending: deque[tuple[list[T], Future[list[R]]]] = deque()
        try:
            exhausted = False
            while True:
                while not exhausted and len(pending) < window:
                    batch = list(islice(source, chunk))
                    if not batch:
                        exhausted = True
                        break
                    sent = batch if send is None else [send(item) for item in batch]
                    pending.append((batch, pool.submit(func, sent, *args)))
                if not pending:
                    return
                batch, future = pending.popleft()
                yield batch, future.result()
        finally:
            for _batch, future in pending:
                future.cancel()
