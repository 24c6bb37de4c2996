"""The run recorder: counts run health, records each run in the store, logs its summary, raises the drift alarm."""

from __future__ import annotations

import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from crawler.core.status import ExitStatus
from crawler.crawl import signals as crawler_signals
from crawler.crawl import statkeys
from crawler.crawl.control import set_exit_status
from crawler.crawl.frontier import frontier_url
from crawler.crawl.handoff import ExtractedItem
from crawler.crawl.storing.extension import StoreExtension
from crawler.outlet import OutletConfigError, load_outlet
from crawler.store import StoreError

if TYPE_CHECKING:
    from crawler.crawl.frontier.health import SharedHealth

logger = logging.getLogger(__name__)

EXIT_LAYOUT_ALARM = ExitStatus.LAYOUT_ALARM
"""Exit status of a crawl whose run summary raised the layout-drift alarm."""

LIMIT_REASONS = frozenset({"closespider_itemcount", "closespider_pagecount", "closespider_timeout"})
"""Close reasons of Scrapy's CloseSpider limits (CLOSESPIDER_ITEMCOUNT, _PAGECOUNT, _TIMEOUT): a run that
stopped where it was told to is recorded as ok, not failed (the drift alarm is not judged on a cut-short run)."""

UNKNOWN_LAYOUT_URLS_SHOWN = 5
"""How many unknown-layout page URLs the alarm names (the count covers them all)."""

DEFAULT_MIN_ITEMS = 5
"""Coverage floors are judged only on runs with at least this many extracted items (`[health] min_items`):
two articles without an image say nothing about the layout."""

_COVERAGE = (
    ("published", "min_date_coverage", "date", "the date XPaths"),
    ("lead", "min_lead_coverage", "lead", "the lead XPaths"),
    ("section", "min_section_coverage", "section", "the breadcrumb XPaths"),
    ("image", "min_image_coverage", "image", "the image XPaths"),
)


_LAYOUT_RULES = (
    ("date", "the date XPaths"),
    ("breadcrumb", "the breadcrumb XPaths"),
    ("caption", "the caption XPaths"),
    ("prune", "the prune XPaths"),
)
"""Layout rules whose misses the alarm watches: a rule missing on half the pages of a run has stopped matching,
even when the cues kept every field right."""


def _spider_args(spider: Spider) -> dict[str, Any]:
    """The spider's arguments as given (`-a name=value` become plain attributes)."""
    return {
        k: v
        for k, v in vars(spider).items()
        if not k.startswith("_") and isinstance(v, str | int | float | bool) and k != "name"
    }


def _source_active(spider: Spider, source: str) -> bool:
    chosen = getattr(spider, "sources", None)
    if not chosen:
        return True
    names = chosen if isinstance(chosen, list | tuple | set) else str(chosen).split(",")
    return source in {str(n).strip() for n in names}


def health_counts(item: ExtractedItem) -> dict[str, int]:
    """The health stats one extracted page adds to its run (field coverage, guard removals, layout, mirror)."""
    article = item.article
    counts: Counter[str] = Counter({statkeys.HEALTH_ITEMS: 1})
    for value, key in (
        (article.published, "published"),
        (article.lead, "lead"),
        (article.section, "section"),
        (article.image_url, "image"),
    ):
        if value:
            counts[statkeys.HEALTH_WITH.format(key)] += 1
    if item.guard_removed:
        counts[statkeys.HEALTH_GUARD_REMOVALS] += len(item.guard_removed)
    if item.unknown_layout:
        counts[statkeys.HEALTH_UNKNOWN_LAYOUT] += 1
    for rule in item.layout_misses:
        counts[statkeys.HEALTH_LAYOUT_MISS.format(rule)] += 1
    if item.source:
        counts[statkeys.SOURCE_ITEMS.format(item.source)] += 1
    mirror = item.page.mirror or article.mirror
    if mirror:
        counts[statkeys.STORE_MIRROR.format(mirror)] += 1
    return dict(counts)


def unknown_layout_warning(count: int, urls: list[str]) -> str | None:
    """The alarm line for pages no profile layout matched (None when there were none)."""
    if count <= 0:
        return None
    listed = urls[:UNKNOWN_LAYOUT_URLS_SHOWN]
    more = f" and {count - len(listed)} more" if count > len(listed) else ""
    return (
        f"{count} page(s) matched no layout of the outlet profile (extracted with the layout-independent "
        f"rules alone): {', '.join(listed)}{more}; add or fix a [[layouts]] entry for them"
    )


def health_warnings(
    stats: dict[str, Any],
    floors: dict[str, float],
    previous_sources: dict[str, int],
    spider: Spider | None = None,
    unknown_layout_urls: list[str] | None = None,
    discovery_checks: bool = True,
) -> list[str]:
    """The layout-drift warnings a finished run's stats deserve (empty list: healthy).

    "Nothing new" is healthy: links found to articles already stored count as found. Per source, the
    spider's `discovery/<source>/article_links` (counted before dedupe, so stable from run to run) is
    compared with the last finished run that found any. Any page that matched no profile layout is named.
    Without `discovery_checks` (one worker of a shared-frontier crawl, which reads only the discovery pages
    it happens to take from the queue) the sources are not judged."""
    warnings: list[str] = []
    unknown = unknown_layout_warning(int(stats.get(statkeys.HEALTH_UNKNOWN_LAYOUT, 0)), unknown_layout_urls or [])
    if unknown:
        warnings.append(unknown)
    items = int(stats.get(statkeys.HEALTH_ITEMS, 0))
    min_items = int(floors.get("min_items", DEFAULT_MIN_ITEMS))
    if items >= max(1, min_items):
        for stat, floor_key, label, where in _COVERAGE:
            if floor_key not in floors:
                continue
            share = int(stats.get(statkeys.HEALTH_WITH.format(stat), 0)) / items
            if share < floors[floor_key]:
                warnings.append(
                    f"{label} coverage {share:.0%} of {items} items is below the floor {floors[floor_key]:.0%}: "
                    f"the page layout probably changed (check {where} in the outlet profile)"
                )
        for rule, where in _LAYOUT_RULES:
            missed = int(stats.get(statkeys.HEALTH_LAYOUT_MISS.format(rule), 0))
            if missed >= max(1, min_items) and missed * 2 >= items:
                warnings.append(
                    f"the layout's {rule} rule missed on {missed} of {items} items (the layout-independent cues "
                    f"stood in): the page layout probably changed (check {where} in the outlet profile)"
                )
    removed = int(stats.get(statkeys.HEALTH_GUARD_REMOVALS, 0))
    max_removed = floors.get("max_guard_removals")
    if max_removed is not None and removed > max_removed:
        warnings.append(
            f"the boilerplate guard removed {removed} lines (more than {int(max_removed)}): the pruning rules "
            "no longer match the page layout (new furniture on the pages)"
        )
    discovered = sum(
        int(v)
        for k, v in stats.items()
        if k.startswith(statkeys.DISCOVERY_PREFIX) and k.endswith(statkeys.DISCOVERY_LINKS_SUFFIX)
    )
    found_any = discovered > 0 or int(stats.get(statkeys.INCREMENTAL_ARTICLE_REQUESTS, 0)) > 0 or items > 0
    if not discovery_checks:
        return warnings
    if not found_any:
        warnings.append("no article links found on any source: every mirror is down or the site layout changed")
        return warnings
    for source, before in sorted(previous_sources.items()):
        if before <= 0 or (spider is not None and not _source_active(spider, source)):
            continue
        if int(stats.get(statkeys.DISCOVERY_ARTICLE_LINKS.format(source), 0)) == 0:
            warnings.append(
                f"source '{source}' found no article links (the last run found {before}): its mirror is down "
                f"or the {source} layout changed"
            )
    return warnings


class RunRecorder:
    """While running: the health counts of every extracted page. On open: a `runs` row (status running). On
    close: counts, mirrors, stats and status in that row, a one-paragraph summary in the log, and the
    layout-drift alarm (warning lines + exit status 4).

    On a shared frontier the alarm judges the whole crawl, not this worker's share of it: every page's counts
    are also added to the run's totals in Redis (`crawler.crawl.frontier.health`), and those are judged."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.previous_sources: dict[str, int] = {}
        self.unknown_layout_urls: list[str] = []
        self.shared: SharedHealth | None = None
        if frontier_url(crawler.settings):
            from crawler.crawl.frontier import FrontierState
            from crawler.crawl.frontier.health import SharedHealth

            self.shared = SharedHealth(FrontierState.of(crawler))
        try:
            self.floors = dict(load_outlet(str(crawler.settings.get("CRAWLER_OUTLET"))).health)
        except (OutletConfigError, OSError) as exc:
            logger.warning("crawler: no health floors (%s)", exc)
            self.floors = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.page_extracted, signal=crawler_signals.page_extracted)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        return cls(crawler)

    @property
    def handle(self) -> StoreExtension | None:
        return StoreExtension.of(self.crawler)

    def page_extracted(self, item: ExtractedItem) -> None:
        assert self.crawler.stats is not None
        counts = health_counts(item)
        for key, value in counts.items():
            self.crawler.stats.inc_value(key, value)
        if item.unknown_layout and len(self.unknown_layout_urls) < UNKNOWN_LAYOUT_URLS_SHOWN:
            self.unknown_layout_urls.append(item.page.url)
        if self.shared is not None:
            self.shared.add(counts, item.page.url if item.unknown_layout else None)

    def judged_health(self) -> tuple[dict[str, Any], list[str], bool]:
        """What the alarm judges: (health stats, unknown-layout URLs, whether they are the whole crawl's).

        Alone: this run's own stats. On a shared frontier: the totals every worker added to the run, read now
        that the whole crawl has been idle; this worker's own share only when Redis cannot be read (said in a
        warning: its figures may raise an alarm the crawl as a whole would not)."""
        assert self.crawler.stats is not None
        own: dict[str, Any] = dict(self.crawler.stats.get_stats())
        if self.shared is None:
            return own, self.unknown_layout_urls, False
        found = self.shared.totals()
        if found is None:
            logger.warning(
                "crawler: the whole crawl's health counts could not be read from the frontier Redis: the "
                "layout-drift alarm judges this worker's own share of the pages"
            )
            return own, self.unknown_layout_urls, False
        totals, urls = found
        logger.info(
            "Layout health judged on the whole crawl (run %s): %d articles extracted by all its workers, %d by "
            "this one",
            self.shared.state.run,
            int(totals.get(statkeys.HEALTH_ITEMS, 0)),
            int(own.get(statkeys.HEALTH_ITEMS, 0) or 0),
        )
        return totals, urls, True

    def spider_opened(self, spider: Spider) -> None:
        handle = self.handle
        if handle is None:
            return
        store = handle.open()
        if store is None:
            return
        try:
            self.previous_sources = store.previous_source_counts(spider.name)
        except StoreError:
            self.previous_sources = {}
        handle.begin_run(spider.name, _spider_args(spider))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        assert self.crawler.stats is not None
        stats: dict[str, Any] = dict(self.crawler.stats.get_stats())
        warnings: list[str] = []
        if reason == "finished" and not stats.get(statkeys.EXIT_STATUS):
            judged, urls, whole_crawl = self.judged_health()
            warnings = health_warnings(
                judged,
                self.floors,
                self.previous_sources,
                spider,
                urls,
                # One worker of a shared-frontier crawl reads only the discovery pages it happens to take.
                discovery_checks=self.shared is None,
            )
            for line in warnings:
                logger.warning("LAYOUT DRIFT ALARM: %s", line)
            if warnings:
                set_exit_status(self.crawler, EXIT_LAYOUT_ALARM)
                self.crawler.stats.set_value(statkeys.HEALTH_ALARM, len(warnings))
                where = " on the whole crawl (every worker's pages)" if whole_crawl else ""
                self.crawler.stats.set_value(
                    statkeys.HEALTH_ALARM_CAUSE, f"layout-drift alarm{where}: {'; '.join(warnings)}"
                )
            stats = dict(self.crawler.stats.get_stats())
        summary = self.summary(stats)
        logger.info("Run summary: %s", summary["text"])
        exit_status = int(stats.get(statkeys.EXIT_STATUS, 0) or 0)
        if exit_status == EXIT_LAYOUT_ALARM:
            status = "alarm"
        elif reason == "shutdown" and not exit_status:
            status = "stopped"  # Ctrl-C / SIGTERM: a clean early stop, what was done is stored
        elif reason in LIMIT_REASONS and not exit_status:
            status = "ok"  # a CLOSESPIDER_* limit the user set was reached: the run did what it was asked
        elif exit_status or reason != "finished":
            status = "failed"
        else:
            status = "ok"
        handle = self.handle
        if handle is None:
            return
        store = handle.store
        if store is not None and handle.run_id is not None:
            try:
                store.finish_run(
                    handle.run_id,
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
                handle.fail(str(exc))
        handle.close()

    @staticmethod
    def summary(stats: dict[str, Any]) -> dict[str, Any]:
        """Counts for the runs table and the one-paragraph log summary."""

        def n(key: str) -> int:
            return int(stats.get(key, 0) or 0)

        def outcome(name: str) -> int:
            return n(statkeys.STORE_OUTCOME.format(name))

        items = n(statkeys.HEALTH_ITEMS)
        mirrors = sorted(
            k.removeprefix(statkeys.STORE_MIRROR_PREFIX) for k in stats if k.startswith(statkeys.STORE_MIRROR_PREFIX)
        )
        out: dict[str, Any] = {
            "new": outcome("new"),
            "updated": outcome("updated"),
            "unchanged": outcome("unchanged"),
            "skipped": n(statkeys.INCREMENTAL_SKIPPED),
            "failed": outcome("fetch_failed") + outcome("crashed"),
            "refused": outcome("refused"),
            "mirrors": mirrors,
        }
        coverage = (
            ", ".join(f"{label} {n(statkeys.HEALTH_WITH.format(stat)) / items:.0%}" for stat, _, label, _ in _COVERAGE)
            if items
            else "no items extracted"
        )
        out["text"] = (
            f"{items} articles extracted ({out['new']} new, {out['updated']} updated, {out['unchanged']} unchanged), "
            f"{out['skipped']} skipped as already stored, {out['refused']} refused as non-articles, "
            f"{out['failed']} failed; field coverage: {coverage}; boilerplate guard removed "
            f"{n(statkeys.HEALTH_GUARD_REMOVALS)} lines; {n(statkeys.HEALTH_UNKNOWN_LAYOUT)} pages of unknown layout; "
            f"mirrors used: {', '.join(mirrors) or 'none'}"
        )
        return out
