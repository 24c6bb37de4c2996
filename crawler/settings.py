"""Scrapy settings for the crawler: politeness, components and their order, exports."""

from __future__ import annotations

BOT_NAME = "crawler"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

# Politeness: a clear User-Agent naming the project, robots.txt obeyed, AutoThrottle on.
USER_AGENT = "crawler/0.1 (Press TV article archive crawler; +https://pypi.org/project/scrapy/)"
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Pages over this are refused by the downloader before extraction sees them (Press TV pages are <200 KB).
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

TELNETCONSOLE_ENABLED = False
REQUEST_FINGERPRINTER_IMPLEMENTATION = "2.7"
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# The outlet profile (crawler/outlets/<name>.toml) the spiders crawl.
CRAWLER_OUTLET = "presstv"

# ---- Store, incremental runs, run records, exports (crawler/store, crawler/extensions.py) ----
# The embedded SQLite store; "" switches storing and incremental skipping off.
CRAWLER_STORE = "data/crawler.sqlite"
# Store writes are batched: a transaction commits after this many writes or seconds (and at close).
CRAWLER_STORE_COMMIT_ITEMS = 100
CRAWLER_STORE_COMMIT_SECONDS = 2.0
# Incremental by default: stored articles are not requested again, except those published or modified
# within CRAWLER_REFRESH (e.g. "2d"; spider argument refresh=), or all of them with CRAWLER_FULL (full=1).
CRAWLER_REFRESH = ""
CRAWLER_FULL = False
ITEM_PIPELINES = {
    "crawler.store.pipeline.StorePipeline": 500,
}
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt (100) and mirror failover: a stored article costs no request at all.
    "crawler.store.incremental.IncrementalMiddleware": 50,
}
EXTENSIONS = {
    "crawler.extensions.RunRecorder": 500,
}
# One timestamped JSON Lines file per run under exports/ (only when the run brought items). A -o/-O on
# the command line replaces this; -s FEEDS='{}' switches it off.
FEEDS = {
    "exports/%(name)s-%(time)s.jsonl": {"format": "jsonlines", "encoding": "utf8", "store_empty": False},
}
