"""The extraction worker: a page's bytes and URL in, a typed outcome out, in a pool of worker processes.

One worker serves the crawl (`crawler.crawl.pipelines.ExtractPipeline`, one page at a time, off the reactor),
`crawler reextract` and `crawler import-warc` (many pages, in order, through `ExtractionPool.map`). Each worker
imports the extraction stack once when it starts and exits as soon as the process that started it is gone.

What a page gives back (`Outcome`) is one of:
- `ExtractOutcome`: the article (with the guard and cleaning removals and its layout), or the extractor's reason
  to refuse the page (`refused`): a page that is not an article is an answer, not a failure;
- `Crashed`: the extractor raised on the page, or the entry point answered something that is no outcome;
- `WorkerDied`: the worker process died (segfault, OOM kill) while the page was in the pool.

No Scrapy here: the services use the worker without the crawl's machinery.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from crawler.core.items import Article
from crawler.pool.ordered import default_workers, ordered_map

T = TypeVar("T")

UNKNOWN_LAYOUT = "unknown"
"""The layout name of a page no profile layout matched (see Article.layout)."""


@dataclass
class ExtractOutcome:
    """What an extraction worker returns for one page: an article, or the reason it is not one.

    `compressed` and `sha256` are the raw page's zlib and hash, made in the worker to keep that CPU off the
    crawl's reactor thread.
    """

    article: Article | None = None
    refused: str | None = None
    guard_removed: list[str] = field(default_factory=list)
    """Lines the last-resort boilerplate guard removed."""
    removed: dict[str, list[str]] = field(default_factory=dict)
    """What the layout-independent cleaning cues removed, by reason ("dateline", "nav-block", ...)."""
    layout_misses: list[str] = field(default_factory=list)
    """Rules of the page's known layout that missed while the cues stood in ("date", "breadcrumb", ...)."""
    layout: str = UNKNOWN_LAYOUT
    compressed: bytes | None = None
    sha256: str | None = None

    @classmethod
    def coerce(cls, value: ExtractOutcome | Mapping[str, Any]) -> ExtractOutcome:
        """An outcome from a worker entry point (CRAWLER_EXTRACT_FUNCTION): this class, or a dict with the keys
        `article` (an Article dict), `refused`, `guard_removed`, `removed`, `layout_misses`, `layout`, `html_zlib`,
        `html_sha256`."""
        if isinstance(value, ExtractOutcome):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"an extraction worker returned {type(value).__name__}, not an ExtractOutcome or dict")
        raw = value.get("article")
        article = raw if isinstance(raw, Article) else None
        if isinstance(raw, Mapping):
            article = Article.from_dict(dict(raw))
        return cls(
            article=article,
            refused=None if value.get("refused") is None else str(value["refused"]),
            guard_removed=list(value.get("guard_removed") or []),
            removed={str(k): list(v) for k, v in (value.get("removed") or {}).items()},
            layout_misses=[str(m) for m in value.get("layout_misses") or []],
            layout=str(value.get("layout") or (article.layout if article else UNKNOWN_LAYOUT)),
            compressed=value.get("html_zlib") if isinstance(value.get("html_zlib"), bytes) else None,
            sha256=value.get("html_sha256") if isinstance(value.get("html_sha256"), str) else None,
        )


@dataclass(frozen=True)
class Crashed:
    """The extractor raised on the page ("ValueError: ..."), or its entry point answered no outcome."""

    message: str


@dataclass(frozen=True)
class WorkerDied:
    """The worker process died while the page was in the pool; every page pending there is lost with it."""

    generation: int
    """Which pool died (see `ExtractionPool.restart`)."""


Outcome = ExtractOutcome | Crashed | WorkerDied

ExtractFunction = Callable[..., ExtractOutcome | Mapping[str, Any]]
"""A worker entry point: (html, url, mirror, outlet name, **options) -> ExtractOutcome or a dict of its fields."""


# ---- in the worker process -----------------------------------------------------------------------------------

_watching_parent = False


def _exit_with_parent() -> None:
    """Exit as soon as the process that started this worker is gone (SIGKILL, OOM killer). A pool worker
    otherwise blocks on its task queue forever (it holds the queue's write end itself), an orphan keeping its
    memory, one more after every killed run."""
    global _watching_parent
    if _watching_parent:
        return
    _watching_parent = True
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def warm_up(ignore_sigint: bool = False) -> None:
    """Import the extraction stack once per worker, so the first page does not pay for it; tie the worker's
    life to its parent's. `ignore_sigint`: Ctrl-C is the parent's to handle (a command stops reading, commits
    what is done and shuts the pool), not a traceback from every worker."""
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    import crawler.extract  # noqa: F401


def extract_page(
    html: bytes, url: str, mirror: str, outlet_name: str, *, stored: bool = False, encoding: str | None = None
) -> ExtractOutcome:
    """The article in a page, with its guard and cleaning removals and layout, or the refusal.

    A page served by a mirror that no outlet profile knows (a loopback stand-in, a new CDN host) is
    extracted as the same path on the outlet's canonical host, then credited to `mirror`.

    `stored`: `html` is a page as the store keeps it (zlib-compressed): it is inflated here, read with the rules of
    the outlet whose host served it (else `outlet_name`'s), and not compressed or hashed again. `encoding`: the
    charset its response declared.
    """
    from crawler.extract import NotAnArticle, extract_full
    from crawler.extract.outletsigns import outlet_page_refusal
    from crawler.outlet import load_outlet, outlet_for_url
    from crawler.store.sql import ZLIB_LEVEL

    compressed: bytes | None = None
    sha256: str | None = None
    if stored:
        html = zlib.decompress(html)
        outlet = outlet_for_url(url) or load_outlet(outlet_name)
    else:
        outlet = load_outlet(outlet_name)
        # The store keeps the raw page zlib-compressed under its SHA-256: doing both here, in the worker, keeps
        # ~5 ms a page of CPU off the reactor thread (bench/crawl.py; docs/performance.md).
        compressed, sha256 = zlib.compress(html, ZLIB_LEVEL), hashlib.sha256(html).hexdigest()
    try:
        # The bytes themselves, with the declared charset: a UTF-8 page is parsed from them, not decoded and
        # encoded again.
        result = extract_full(html, outlet.extraction_url(url), outlet, encoding=encoding)
    except NotAnArticle as exc:
        return ExtractOutcome(refused=exc.reason, compressed=compressed, sha256=sha256)
    not_outlet = outlet_page_refusal(html, outlet)  # an outlet URL serving another site's page
    if not_outlet:
        return ExtractOutcome(refused=not_outlet, compressed=compressed, sha256=sha256)
    article = result.article
    article.source_url = url
    article.mirror = mirror
    return ExtractOutcome(
        article=article,
        guard_removed=list(result.guard_removed),
        removed={str(k): list(v) for k, v in result.removed.items()},
        layout_misses=list(result.layout_misses),
        layout=result.layout,
        compressed=compressed,
        sha256=sha256,
    )


def run_page(
    func: ExtractFunction, html: bytes, url: str, mirror: str, outlet_name: str, options: Mapping[str, Any]
) -> ExtractOutcome | Crashed:
    """One page through the entry point `func`; a raise or an answer that is no outcome becomes `Crashed`."""
    try:
        raw = func(html, url, mirror, outlet_name, **options)
    except Exception as exc:  # one page's crash is that page's outcome; the worker goes on
        return Crashed(f"{type(exc).__name__}: {exc}")
    try:
        return ExtractOutcome.coerce(raw)
    except (TypeError, ValueError) as exc:
        return Crashed(str(exc))


PageArgs = tuple[bytes, str, str, Mapping[str, Any]]
"""What goes to a worker for one page: (html, url, mirror, options for the entry point)."""


def run_pages(pages: list[PageArgs], func: ExtractFunction, outlet_name: str) -> list[ExtractOutcome | Crashed]:
    """A chunk of pages (one round trip to the pool per chunk, not per page)."""
    return [run_page(func, html, url, mirror, outlet_name, options) for html, url, mirror, options in pages]


# ---- in the parent process -----------------------------------------------------------------------------------


class ExtractionPool:
    """Extraction workers for one outlet: `submit` a page and get its `Outcome`, or `map` many in order.

    `workers` processes (default: every core), started by `spawn` (for a parent that runs threads, which fork
    would copy mid-lock) or by fork. `func` is the worker entry point (`extract_page` unless a crawl names
    another in CRAWLER_EXTRACT_FUNCTION); it must be importable by module path.
    """

    def __init__(
        self,
        outlet_name: str,
        workers: int | None = None,
        *,
        func: ExtractFunction = extract_page,
        spawn: bool = False,
        ignore_sigint: bool = False,
    ) -> None:
        self.outlet_name = outlet_name
        self.workers = default_workers(workers)
        self.func = func
        self.spawn = spawn
        self.initializer = partial(warm_up, ignore_sigint)
        self.generation = 0
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context("spawn") if self.spawn else None
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=context, initializer=self.initializer
            )
        return self._executor

    def start(self) -> None:
        """Start every worker now (each imports the extraction stack while the caller gets ready), not at the
        first page."""
        pool = self._pool()
        for _ in range(self.workers):
            pool.submit(warm_up)

    def submit(self, html: bytes, url: str, mirror: str = "", **options: Any) -> Future[Outcome]:
        """The outcome of one page, when a worker has it (the future never raises; a cancelled one is
        cancelled)."""
        generation = self.generation
        out: Future[Outcome] = Future()
        try:
            inner = self._pool().submit(run_page, self.func, html, url, mirror, self.outlet_name, options)
        except BrokenProcessPool:
            out.set_result(WorkerDied(generation))
            return out

        def settle(done: Future[ExtractOutcome | Crashed]) -> None:
            if done.cancelled():
                out.cancel()
                return
            exc = done.exception()
            if isinstance(exc, BrokenProcessPool):
                out.set_result(WorkerDied(generation))
            elif exc is not None:  # the page or its answer would not cross the process boundary
                out.set_result(Crashed(f"{type(exc).__name__}: {exc}"))
            else:
                out.set_result(done.result())

        inner.add_done_callback(settle)
        return out

    def restart(self, generation: int) -> bool:
        """After `WorkerDied(generation)`: drop that pool (the next page starts a fresh one). False when it is
        gone already (another of its pages came back first)."""
        if generation != self.generation or self._executor is None:
            return False
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = None
        self.generation += 1
        return True

    def close(self) -> None:
        """Cancel what is queued and wait for the workers to end."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
        self._executor = None

    def map(self, jobs: Iterable[T], page: Callable[[T], PageArgs]) -> Iterator[tuple[T, ExtractOutcome | Crashed]]:
        """Each job with its page's outcome, in the order the jobs came, `page(job)` naming what to extract.

        Jobs are read only as the pool's window frees up (memory stays flat however many there are); leaving
        the loop early cancels what is queued. A worker's death ends the loop with BrokenProcessPool: the
        pages pending in the pool are lost with it, so a command stops there (what it stored stays).
        """
        for chunk, outcomes in ordered_map(
            run_pages,
            jobs,
            workers=self.workers,
            args=(self.func, self.outlet_name),
            spawn=self.spawn,
            initializer=self.initializer,
            send=page,
        ):
            yield from zip(chunk, outcomes, strict=True)
