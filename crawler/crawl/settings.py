"""Scrapy settings for the crawler: politeness, components and their order, exports."""

from __future__ import annotations

from os import environ as _environ

from crawler import __version__
from crawler.core.items import ARTICLE_FIELDS as _ARTICLE_FIELDS
from crawler.store import DEFAULT_STORE as _default_store
from crawler.store.sql import COMMIT_ITEMS as _commit_items
from crawler.store.sql import COMMIT_SECONDS as _commit_seconds

BOT_NAME = "crawler"
SPIDER_MODULES = ["crawler.crawl.spiders"]
NEWSPIDER_MODULE = "crawler.crawl.spiders"

# Politeness: a clear User-Agent naming the project, robots.txt obeyed, AutoThrottle on.
USER_AGENT = f"crawler/{__version__} (Press TV article archive crawler, built on Scrapy)"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Items of one response processed in parallel. An article response yields one item, and Scrapy starts this
# many asyncio tasks per response whatever it yields: its default of 100 cost ~10% of the reactor thread
# (bench/crawl.py, docs/performance.md).
CONCURRENT_ITEMS = 8
DOWNLOAD_DELAY = 0.5
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Pages over this are refused by the downloader before extraction sees them (Press TV pages are <200 KB).
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

TELNETCONSOLE_ENABLED = False
# Scrapy's RemoteControl runs any Python code sent to a localhost port with the token from a job file: never in an
# unattended crawl. Turn it on for one crawl you are debugging live (`-s REMOTE_CONTROL_ENABLED=True`).
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# The outlet profile (crawler/outlet/profiles/<name>.toml) the spiders crawl.
CRAWLER_OUTLET = "presstv"

# ---- Store, incremental runs, run records, exports (crawler/store, crawl/storing, crawl/extensions.py) ----
# The store: a SQLite file (or sqlite:///path), or a shared postgresql://user@host:port/dbname; "" switches
# storing and incremental skipping off. The environment variable CRAWLER_STORE gives it without a command line
# that `ps` shows (a PostgreSQL password may also come from PGPASSWORD or ~/.pgpass).
CRAWLER_STORE = _environ.get("CRAWLER_STORE", _default_store)
# Store writes are batched: a transaction commits after this many writes or seconds (and at close).
CRAWLER_STORE_COMMIT_ITEMS = _commit_items
CRAWLER_STORE_COMMIT_SECONDS = _commit_seconds
# Cap on the store's size in MB (0: none); a write past it fails like a full disk (crawl stops, exit 5).
CRAWLER_STORE_MAX_MB = 0
# Incremental by default: stored articles are not requested again, except those published or modified
# within CRAWLER_REFRESH (e.g. "2d"; spider argument refresh=), or all of them with CRAWLER_FULL (full=1).
CRAWLER_REFRESH = ""
CRAWLER_FULL = False
ITEM_PIPELINES = {
    "crawler.crawl.pipelines.ExtractPipeline": 300,
    "crawler.crawl.storing.pipeline.StorePipeline": 500,
    "crawler.crawl.pipelines.StripPrivateFieldsPipeline": 900,
}
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100) and mirror failover: a stored article costs no request at all.
    "crawler.crawl.storing.incremental.IncrementalMiddleware": 50,
    # Redirects and requests queued for a mirror set aside are put back on a trusted mirror before robots.txt.
    "crawler.crawl.middlewares.MirrorRoutingMiddleware": 90,
    # robots.txt and web-archive requests: redirects stay on their own host; robots.txt is read up to a size.
    "crawler.crawl.middlewares.OwnHostGuardMiddleware": 95,
    # Just inside Scrapy's RetryMiddleware (550): mirror requests are retried here (RETRY_* settings), then
    # sent to the next mirror; other requests go on to RetryMiddleware as in any Scrapy project.
    "crawler.crawl.middlewares.MirrorFailoverMiddleware": 555,
    # Web archives' 429/503 answers slow their whole slot down before Scrapy's RetryMiddleware (550) sees them.
    "crawler.crawl.middlewares.ArchivePolitenessMiddleware": 560,
}
# Scrapy's HTTP/1.1 handler that sends each request at its turn: web archives after their 429 pause (and, on the
# frontier, at their rate for all workers together), other hosts at CRAWLER_HOST_RATE on the frontier.
DOWNLOAD_HANDLERS = {
    "http": "crawler.crawl.handlers.HostRateHTTPHandler",
    "https": "crawler.crawl.handlers.HostRateHTTPHandler",
}
# Mirror failover, seizure/challenge handling and 404/410 recording (off: plain Scrapy retries only).
CRAWLER_FAILOVER_ENABLED = True
EXTENSIONS = {
    # The crawl's store, found by the others with crawler.get_extension(); absent when CRAWLER_STORE is "".
    "crawler.crawl.storing.extension.StoreExtension": 400,
    "crawler.crawl.extensions.RunRecorder": 500,
}
# One timestamped JSON Lines file per run in this folder (only when the run brought items), added by the
# DefaultFeed add-on unless feeds are given: -o/-O or FEEDS replace it; "" (or -s FEEDS={}) switches it off.
CRAWLER_EXPORT_DIR = "exports"
ADDONS = {
    "crawler.crawl.exports.DefaultFeed": 0,
    "crawler.crawl.frontier.Frontier": 10,
}

# ---- Several workers on one shared frontier (crawler/crawl/frontier; docs/08-scale-out.md) ----
# redis://host:port/db of the shared queue; "" crawls with Scrapy's local scheduler in this process alone. The
# environment variable CRAWLER_FRONTIER gives it (and its password) without a command line that `ps` shows.
CRAWLER_FRONTIER = _environ.get("CRAWLER_FRONTIER", "")
# A worker ends when the whole crawl (queue empty, no worker with requests in flight) was idle this long.
CRAWLER_FRONTIER_IDLE_SECONDS = 30.0
# This process seeds discovery (feeds, sitemaps, listings) and starts a run; False joins the current run.
CRAWLER_FRONTIER_SEED = True
# The run's name (its Redis key prefix); "" a new one when seeding, the current one when joining.
CRAWLER_FRONTIER_RUN = ""
# Requests per second per host for the whole crawl, all workers together (frontier only; 0: no shared limit).
CRAWLER_HOST_RATE = 2.0

# ---- Crawl: mirrors, dedupe, extraction, exit status (crawler/crawl/middlewares.py, pipelines.py, spiders/) ----
# One request (and so one item) per article id per run, whatever mirror or URL variant.
DUPEFILTER_CLASS = "crawler.crawl.dupefilters.ArticleIdDupeFilter"
# A mirror failing this many requests in a row is set aside for CRAWLER_MIRROR_COOLDOWN seconds.
CRAWLER_MIRROR_FAIL_THRESHOLD = 2
CRAWLER_MIRROR_COOLDOWN = 300.0
# Longest wait honoured from a 429's Retry-After header (seconds).
CRAWLER_RETRY_AFTER_MAX = 120.0
# ---- Web archives (spider arguments sources=wayback,commoncrawl and archive_fallback=1) ----
CRAWLER_WAYBACK_URL = "https://web.archive.org"
# Requests per second to the Wayback CDX server (0.4 = 24 a minute, what the Internet Archive asks), and to
# its capture replay, across the whole crawl.
CRAWLER_WAYBACK_CDX_RATE = 0.4
CRAWLER_WAYBACK_FETCH_RATE = 2.0
CRAWLER_CC_INDEX_URL = "https://index.commoncrawl.org"
CRAWLER_CC_DATA_URL = "https://data.commoncrawl.org"
CRAWLER_CC_INDEX_RATE = 1.0
CRAWLER_CC_DATA_RATE = 2.0
# Wait after a 429/503 from an archive that sends no Retry-After (seconds); after this many in a row the
# archive source stops for the run (exit status 6).
CRAWLER_ARCHIVE_BACKOFF = 60.0
CRAWLER_ARCHIVE_MAX_THROTTLES = 5
# Largest (decompressed) sitemap or feed read.
CRAWLER_SITEMAP_MAX_BYTES = 50 * 1024 * 1024
# Bounds on sitemap work per run (each counted under limits/ and logged once when it bites): how deep sitemap
# indexes may nest, how many sitemap files are requested, how many links one file and all of them may give.
CRAWLER_SITEMAP_MAX_DEPTH = 3
CRAWLER_SITEMAP_MAX_FILES = 2000
CRAWLER_SITEMAP_MAX_LINKS_PER_FILE = 50_000
CRAWLER_SITEMAP_MAX_LINKS = 1_000_000
# Pages of one Wayback CDX query followed by resume key (a repeated resume key ends the query at once).
CRAWLER_CDX_MAX_PAGES = 1000
# Largest robots.txt read (bytes); a larger one is cut there, as Google does at 500 KiB.
CRAWLER_ROBOTSTXT_MAX_BYTES = 512 * 1024
# Extraction worker processes; 0 = one per core.
CRAWLER_EXTRACT_WORKERS = 0
# Worker entry point (html, url, mirror, outlet name) -> ExtractOutcome (or a dict of its fields); see
# crawler.pool.extraction.extract_page.
CRAWLER_EXTRACT_FUNCTION = "crawler.pool.extraction.extract_page"
# Exports hold exactly the Article fields, in schema order.
FEED_EXPORT_FIELDS = list(_ARTICLE_FIELDS)
# `scrapy crawl` exits non-zero when the run sets stats key crawler/exit_status (crawler/crawl/commands).
COMMANDS_MODULE = "crawler.crawl.commands"
# Dropped pages are logged by URL, not with their raw HTML.
LOG_FORMATTER = "crawler.crawl.pipelines.PageLogFormatter"
