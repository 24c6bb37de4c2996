"""Re-extraction service: the current extraction rules over the store's raw pages, on every core, versions kept honest.

It uses the store and the extraction core only through their public APIs (`open_store`, `ArticleStore`,
`crawler.pool.extraction.ExtractionPool`): the store keeps, the extraction worker extracts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.pool.extraction import Crashed, ExtractionPool, ExtractOutcome, PageArgs
from crawler.store import ExportFilter, ReextractJob, open_store

Job = ReextractJob
Result = tuple[str, str, int, Any]
"""(kind, article_id, page_id, Article | reason): kind is "ok", "refused" or "crashed"."""


def stored_page(job: Job) -> PageArgs:
    """What the extraction worker gets for a stored page: its compressed bytes (inflated in the worker), its
    URL, the host that served it and the charset its response declared."""
    _article_id, _page_id, url, encoding, blob = job
    return blob, url, urlsplit(url).netloc, {"stored": True, "encoding": encoding}


def result_of(job: Job, outcome: ExtractOutcome | Crashed) -> Result:
    """A worker's outcome on a stored page as what the store is told: the article (under the stored key) or why
    there is none."""
    article_id, page_id = job[0], job[1]
    if isinstance(outcome, Crashed):
        return ("crashed", article_id, page_id, f"extraction crashed: {outcome.message}")
    if outcome.article is None:
        return ("refused", article_id, page_id, f"not an article: {outcome.refused or 'no article'}")
    article = outcome.article
    if article.article_id != article_id:
        # The page's URL names the id; keep the stored key authoritative.
        article.article_id = article_id
    return ("ok", article_id, page_id, article)


@dataclass
class ReextractCounts:
    pages: int = 0
    new: int = 0
    """Articles stored for the first time (pages refused before, accepted by the new rules)."""
    versions: int = 0
    """New versions: the body text changed under the new rules."""
    metadata: int = 0
    """Same text, other fields changed (title, lead, dates...): updated in place."""
    unchanged: int = 0
    refused: int = 0
    crashed: int = 0

    def line(self) -> str:
        return (
            f"{self.pages} pages re-extracted: {self.versions} new versions, {self.new} new articles, "
            f"{self.metadata} metadata updates, {self.unchanged} unchanged, {self.refused} refused, "
            f"{self.crashed} crashed"
        )


def reextract(
    path: str,
    flt: ExportFilter,
    workers: int | None = None,
    progress: Callable[[int], object] | None = None,
    on_total: Callable[[int], None] | None = None,
    outlet_name: str = "",
) -> ReextractCounts:
    """Re-extract every matching stored page with `workers` processes (default: every core) and store the
    results (batched transactions). Takes the store's run lock: not while a crawl writes to a SQLite store
    (a PostgreSQL store has no run lock: its row locks keep crawls and re-extraction apart).

    Stored pages from hosts no profile knows are read with the rules of `outlet_name` (default: the
    project's CRAWLER_OUTLET setting), as the crawl that fetched them did."""
    outlet_name = outlet_name or default_outlet_name()
    counts = ReextractCounts()
    tally: Counter[str] = Counter()
    with (
        open_store(path, lock=True, create=False, commit_items=200) as writer,
        open_store(path, readonly=True) as reader,
    ):
        if on_total is not None:
            on_total(reader.count_reextract(flt))
        # The reader's snapshot is fixed at its first read: writes below never disturb the scan.
        jobs: Iterator[Job] = reader.iter_reextract(flt)
        for job, outcome in ExtractionPool(outlet_name, workers, ignore_sigint=True).map(jobs, stored_page):
            kind, article_id, page_id, payload = result_of(job, outcome)
            counts.pages += 1
            if kind == "ok":
                tally[writer.save_reextracted(payload, page_id)] += 1
            else:
                tally[kind] += 1
                if writer.lookup(article_id) is None:
                    # Only a page that never gave an article is recorded as failing; a stored
                    # article keeps its last good version when new rules refuse its page.
                    writer.record_failure(None, kind, "", article_id, str(payload))
            if progress is not None:
                progress(1)
    counts.new = tally["new"]
    counts.versions = tally["updated"]
    counts.metadata = tally["metadata"]
    counts.unchanged = tally["unchanged"]
    counts.refused = tally["refused"]
    counts.crashed = tally["crashed"]
    return counts


def default_outlet_name() -> str:
    """The project's CRAWLER_OUTLET setting (the outlet the crawls that filled the store used)."""
    from scrapy.utils.project import get_project_settings

    from crawler.crawl import settings as defaults

    return str(get_project_settings().get("CRAWLER_OUTLET") or defaults.CRAWLER_OUTLET)
