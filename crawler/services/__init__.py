"""Application services over the store and the crawl: re-extraction, WARC import, coverage, browsing, launches."""
