"""Re-extraction service: the current extraction rules over the store's raw pages, on every core, versions kept honest.

It uses the store and the extraction core only through their public APIs (`open_store`, `ArticleStore`,
`crawler.extract.extract_full`): the store keeps, this module extracts."""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.core.items import Article
from crawler.services.workpool import default_workers, ordered_map
from crawler.store import ExportFilter, ReextractJob, open_store

Job = ReextractJob
Result = tuple[str, str, int, Any]
"""(kind, article_id, page_id, article dict | reason): kind is "ok", "refused" or "crashed"."""

def extract_stored_page(job: Job, outlet_name: str) -> Result:
    """Worker: inflate one stored page and extract it (runs in a pool process; no Scrapy, no store)."""
    from crawler.extract import NotAnArticle, decode_html, extract_full
    from crawler.extract.outletsigns import outlet_page_refusal
    from crawler.outlet import load_outlet, outlet_for_url

    article_id, page_id, url, encoding, blob = job
    # As in the crawl (crawler.crawl.pipelines.extract_page): a page fetched from a host no profile knows is read
    # with the outlet's rules, or re-extraction would turn every such article into a false new version.
    outlet = outlet_for_url(url) or load_outlet(outlet_name)
    try:
        html = zlib.decompress(blob)
        text = decode_html(html, encoding)
        article = extract_full(text, outlet.extraction_url(url), outlet).article
        not_outlet = outlet_page_refusal(html, outlet)
        if not_outlet:
            raise NotAnArticle(not_outlet)
    except NotAnArticle as exc:
        return ("refused", article_id, page_id, f"not an article: {exc.reason}")
    except Exception as exc:  # a crash on one page is counted, the others go on
        return ("crashed", article_id, page_id, f"extraction crashed: {type(exc).__name__}: {exc}")
    article.source_url = url
    article.mirror = urlsplit(url).netloc
    if article.article_id != article_id:
        # The page's URL names the id; keep the stored key authoritative.
        article.article_id = article_id
    return ("ok", article_id, page_id, article.to_dict())


def extract_stored_pages(jobs: list[Job], outlet_name: str) -> list[Result]:
    """Worker: a chunk of pages (one round trip to the pool per chunk, not per page)."""
    return [extract_stored_page(job, outlet_name) for job in jobs]


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
        return (f"{self.pages} pages re-extracted: {self.versions} new versions, {self.new} new articles, "
                f"{self.metadata} metadata updates, {self.unchanged} unchanged, {self.refused} refused, "
                f"{self.crashed} crashed")


def reextract(path: str, flt: ExportFilter, workers: int | None = None,
              progress: Callable[[int], object] | None = None,
              on_total: Callable[[int], None] | None = None, outlet_name: str = "") -> ReextractCounts:
    """Re-extract every matching stored page with `workers` processes (default: every core) and store the
    results (batched transactions). Takes the store's run lock: not while a crawl writes to a SQLite store
    (a PostgreSQL store has no run lock: its row locks keep crawls and re-extraction apart).

    Stored pages from hosts no profile knows are read with the rules of `outlet_name` (default: the
    project's CRAWLER_OUTLET setting), as the crawl that fetched them did."""
    outlet_name = outlet_name or default_outlet_name()
    workers = default_workers(workers)
    counts = ReextractCounts()
    tally: Counter[str] = Counter()
    with open_store(path, lock=True, create=False, commit_items=200) as writer, \
            open_store(path, readonly=True) as reader:
        if on_total is not None:
            on_total(reader.count_reextract(flt))
        # The reader's snapshot is fixed at its first read: writes below never disturb the scan.
        jobs: Iterator[Job] = reader.iter_reextract(flt)
        for _chunk, results in ordered_map(extract_stored_pages, jobs, workers=workers, args=(outlet_name,)):
            for kind, article_id, page_id, payload in results:
                counts.pages += 1
                if kind == "ok":
                    tally[writer.save_reextracted(Article.from_dict(payload), page_id)] += 1
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

    return str(get_project_settings().get("CRAWLER_OUTLET") or "presstv")
