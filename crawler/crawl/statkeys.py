"""Names of the Scrapy stats keys one component writes and another reads (the run's shared vocabulary).

Keys written and read by one module only stay in that module. A name with `{}` is a template: fill it with
`.format(...)`. Renaming a key here renames it for every reader at once; the stored runs keep their old keys.
"""

from __future__ import annotations

# ---- run outcome (read by `scrapy crawl` for its exit status, and by the run recorder) ----
EXIT_STATUS = "crawler/exit_status"
"""The crawl's exit status (an ExitStatus); the first component to set it wins."""
NO_MIRROR_REACHABLE = "crawler/no_mirror_reachable"
"""One-line message when no mirror answered at all (printed last by `scrapy crawl`)."""
STORE_ERROR = "store/error"
"""One-line message of the store failure that stopped the crawl."""
FRONTIER_ERROR = "frontier/error"
"""One-line message of the shared frontier's failure that stopped the worker."""
FRONTIER_REQUEUED = "frontier/requeued"
"""Requests this worker handed back to the queue from workers that died with them in flight."""
FRONTIER_ENQUEUE_FAILED = "frontier/enqueue_failed"
"""Requests lost because Redis could not be reached when they were scheduled (the next run finds them)."""

# ---- discovery (spider) -> drift alarm ----
DISCOVERY_ARTICLE_LINKS = "discovery/{}/article_links"
"""Article links one discovery source found (before dedupe): compared with the last run's."""
DISCOVERY_MALFORMED_LINKS = "discovery/{}/malformed_links"
"""Links a discovery source gave that are no URL (an unclosed IPv6 bracket, say): skipped, the rest are read."""
DISCOVERY_PREFIX = "discovery/"
DISCOVERY_LINKS_SUFFIX = "/article_links"

# ---- web archives (spider, extraction pipeline) -> run summary ----
ARCHIVE_ARTICLE_IDS = "archive/{}/article_ids"
"""Article ids an archive source found captures of (per source: "wayback", "commoncrawl")."""
ARCHIVE_CAPTURE_FAILED = "archive/{}/capture_failed/{}"
"""Captures that could not be fetched or read, per source and reason; the next older capture was tried."""
ARCHIVE_CAPTURE_REFUSED = "archive/{}/capture_refused/{}"
"""Captures extraction refused (seizure notice, challenge, error page, listing), per source and reason; the next
older capture was tried."""
ARCHIVE_STOPPED = "archive/{}/stopped"
"""One-line message when an archive source was stopped because the archive kept refusing requests."""

# ---- incremental middleware -> drift alarm, run summary ----
INCREMENTAL_ARTICLE_REQUESTS = "incremental/article_requests"
INCREMENTAL_SKIPPED = "incremental/skipped"
INCREMENTAL_REFRESHED = "incremental/refreshed"

# ---- mirrors (failover middleware) -> demo summary ----
NOT_OUTLET_PAGE_REASON = "not_outlet_page"
"""The failover reason (stat `failover/not_outlet_page`) for an article page a mirror served that was another site's
(a parked or taken-over domain): the next mirror was asked."""
MIRROR_SET_ASIDE = "mirror/set_aside"
MIRROR_RESTORED = "mirror/restored"
MIRROR_RESPONSES = "mirror/responses/{}"
PAGE_FAILED_COUNT = "page_failed/count"
PAGE_FAILED_REASON = "page_failed/{}"

# ---- extraction pipeline -> demo summary, drift alarm ----
EXTRACT_OK = "extract/ok"
EXTRACT_REFUSED = "extract/refused"
EXTRACT_REFUSED_REASON = "extract/refused/{}"
EXTRACT_CRASHED = "extract/crashed"
EXTRACT_OUTSIDE_WINDOW = "extract/outside_window"
"""Articles dropped after extraction because their `published` date is outside since=/until=."""
EXTRACT_POOL_REBUILT = "extract/pool_rebuilt"
EXTRACT_GUARD_REMOVED = "extract/guard_removed"
"""Lines the last-resort boilerplate guard removed."""
EXTRACT_REMOVED = "extract/removed/{}"
"""Lines or blocks the layout-independent cleaning cues removed, by reason ("dateline", "nav-block", ...)."""
EXTRACT_LAYOUT = "extract/layout/{}"

# ---- run health (run recorder) -> drift alarm, run summary ----
HEALTH_ITEMS = "health/items"
HEALTH_WITH = "health/with_{}"
"""Items with a field filled: published, lead, section, image."""
HEALTH_GUARD_REMOVALS = "health/guard_removals"
HEALTH_UNKNOWN_LAYOUT = "health/unknown_layout"
"""Outlet pages no profile layout matched (extracted with the layout-independent rules alone)."""
HEALTH_LAYOUT_MISS = "health/layout_miss/{}"
"""Pages of a known layout on which one of its rules ("date", "breadcrumb", "caption", "prune") missed and the
layout-independent cues stood in."""
HEALTH_ALARM = "health/alarm"
"""How many warning lines the layout-drift alarm gave."""
HEALTH_ALARM_CAUSE = "health/alarm_cause"
"""The layout-drift alarm's warnings on one line (printed last, as a failed run's cause)."""
SOURCE_ITEMS = "source/{}/items"

# ---- store (store pipeline) -> run summary ----
STORE_OUTCOME = "store/{}"
"""store/new, store/updated, store/unchanged, store/refused, store/crashed, store/fetch_failed."""
STORE_MIRROR = "store/mirror/{}"
STORE_MIRROR_PREFIX = "store/mirror/"
