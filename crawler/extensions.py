"""Scrapy extension recording each run in the store, printing its summary and raising the layout-drift alarm."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawler.outlet import OutletConfigError, load_outlet
from crawler.store import StoreError
from crawler.store.crawl import EXIT_STATUS_STAT, CrawlStore, set_exit_status

logger = logging.getLogger(__name__)

EXIT_LAYOUT_ALARM = 4
"""Exit status of a crawl whose run summary raised the layout-drift alarm."""

DEFAULT_MIN_ITEMS = 5
"""Coverage floors are judged only on runs with at least this many extracted items (`[health] min_items`):
two articles without an image say nothing about the layout."""

_COVERAGE = (
    ("published", "min_date_coverage", "date", "the date XPaths"),
    ("lead", "min_lead_coverage", "lead", "the lead XPaths"),
    ("section", "min_section_coverage", "section", "the breadcrumb XPaths"),
    ("image", "min_image_coverage", "image", "the image XPaths"),
)


def _spider_args(spider: Spider) -> dict[str, Any]:
    """The spider's arguments as given (`-a name=value` become plain attributes)."""
    return {
        k: v for k, v in vars(spider).items()
        if not k.startswith("_") and isinstance(v, str | int | float | bool) and k != "name"
    }


def _source_active(spider: Spider, source: str) -> bool:
    chosen = getattr(spider, "sources", None)
    if not chosen:
        return True
    names = chosen if isinstance(chosen, list | tuple | set) else str(chosen).split(",")
    return source in {str(n).strip() for n in names}


def health_warnings(stats: dict[str, Any], floors: dict[str, float], previous_sources: dict[str, int],
                    spider: Spider | None = None) -> list[str]:
    """The layout-drift warnings a finished run's stats deserve (empty list: healthy).

    "Nothing new" is healthy: links found to articles already stored count as found. Per source, the
    spider's `discovery/<source>/article_links` (counted before dedupe, so stable from run to run) is
    compared with the last finished run that found any."""
    warnings: list[str] = []
    items = int(stats.get("health/items", 0))
    min_items = int(floors.get("min_items", DEFAULT_MIN_ITEMS))
    if items >= max(1, min_items):
        for stat, floor_key, label, where in _COVERAGE:
            if floor_key not in floors:
                continue
            share = int(stats.get(f"health/with_{stat}", 0)) / items
            if share < floors[floor_key]:
                warnings.append(
                    f"{label} coverage {share:.0%} of {items} items is below the floor {floors[floor_key]:.0%}: "
                    f"the page layout probably changed (check {where} in the outlet profile)"
                )
    removed = int(stats.get("health/guard_removals", 0))
    max_removed = floors.get("max_guard_removals")
    if max_removed is not None and removed > max_removed:
        warnings.append(
            f"the boilerplate guard removed {removed} lines (more than {int(max_removed)}): the pruning rules "
            "no longer match the page layout (new furniture on the pages)"
        )
    discovered = sum(int(v) for k, v in stats.items() if k.startswith("discovery/") and k.endswith("/article_links"))
    found_any = discovered > 0 or int(stats.get("incremental/article_requests", 0)) > 0 or items > 0
    if not found_any:
        warnings.append("no article links found on any source: every mirror is down or the site layout changed")
        return warnings
    for source, before in sorted(previous_sources.items()):
        if before <= 0 or (spider is not None and not _source_active(spider, source)):
            continue
        if int(stats.get(f"discovery/{source}/article_links", 0)) == 0:
            warnings.append(
                f"source '{source}' found no article links (the last run found {before}): its mirror is down "
                f"or the {source} layout changed"
            )
    return warnings


class RunRecorder:
    """On open: a `runs` row (status running). On close: counts, mirrors, stats and status in that row, a
    one-paragraph summary in the log, and the layout-drift alarm (warning lines + exit status 4)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.handle = CrawlStore.of(crawler)
        self.previous_sources: dict[str, int] = {}
        try:
            self.floors = dict(load_outlet(str(crawler.settings.get("CRAWLER_OUTLET", "presstv"))).health)
        except (OutletConfigError, OSError) as exc:
            logger.warning("crawler: no health floors (%s)", exc)
            self.floors = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        return cls(crawler)

    def spider_opened(self, spider: Spider) -> None:
        if self.handle is None:
            return
        store = self.handle.open()
        if store is None:
            return
        try:
            self.previous_sources = store.previous_source_counts(spider.name)
        except StoreError:
            self.previous_sources = {}
        self.handle.begin_run(spider.name, _spider_args(spider))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        assert self.crawler.stats is not None
        stats: dict[str, Any] = dict(self.crawler.stats.get_stats())
        warnings: list[str] = []
        if reason == "finished" and not stats.get(EXIT_STATUS_STAT):
            warnings = health_warnings(stats, self.floors, self.previous_sources, spider)
            for line in warnings:
                logger.warning("LAYOUT DRIFT ALARM: %s", line)
            if warnings:
                set_exit_status(self.crawler, EXIT_LAYOUT_ALARM)
                self.crawler.stats.set_value("health/alarm", len(warnings))
            stats = dict(self.crawler.stats.get_stats())
        summary = self.summary(stats)
        logger.info("Run summary: %s", summary["text"])
        exit_status = int(stats.get(EXIT_STATUS_STAT, 0) or 0)
        if exit_status == EXIT_LAYOUT_ALARM:
            status = "alarm"
        elif reason == "shutdown" and not exit_status:
            status = "stopped"  # Ctrl-C / SIGTERM: a clean early stop, what was done is stored
        elif exit_status or reason != "finished":
            status = "failed"
        else:
            status = "ok"
        if self.handle is None:
            return
        store = self.handle.store
        if store is not None and self.handle.run_id is not None:
            try:
                store.finish_run(
                    self.handle.run_id,
                    status=status,
                    finish_reason=reason,
                    exit_status=exit_status,
                    new=summary["new"],
                    updated=summary["updated"],
                    unchanged=summary["unchanged"],
                    skipped=summary["skipped"],
                    failed=summary["failed"],
                    refused=summary["refused"],
                    mirrors=summary["mirrors"],
                    warnings=warnings,
                    stats={k: v for k, v in stats.items()},
                )
            except StoreError as exc:
                self.handle.fail(str(exc))
        self.handle.close()

    @staticmethod
    def summary(stats: dict[str, Any]) -> dict[str, Any]:
        """Counts for the runs table and the one-paragraph log summary."""

        def n(key: str) -> int:
            return int(stats.get(key, 0) or 0)

        items = n("health/items")
        mirrors = sorted(k.split("/", 2)[2] for k in stats if k.startswith("store/mirror/"))
        out: dict[str, Any] = {
            "new": n("store/new"),
            "updated": n("store/updated"),
            "unchanged": n("store/unchanged"),
            "skipped": n("incremental/skipped"),
            "failed": n("store/fetch_failed") + n("store/crashed"),
            "refused": n("store/refused"),
            "mirrors": mirrors,
        }
        coverage = ", ".join(
            f"{label} {n(f'health/with_{stat}') / items:.0%}" for stat, _, label, _ in _COVERAGE
        ) if items else "no items extracted"
        out["text"] = (
            f"{items} articles extracted ({out['new']} new, {out['updated']} updated, {out['unchanged']} unchanged), "
            f"{out['skipped']} skipped as already stored, {out['refused']} refused as non-articles, "
            f"{out['failed']} failed; field coverage: {coverage}; boilerplate guard removed "
            f"{n('health/guard_removals')} lines; mirrors used: {', '.join(mirrors) or 'none'}"
        )
        return out
