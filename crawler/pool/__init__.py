"""Process pools below the crawl and the services: a bounded, ordered map over worker processes, and the one
extraction worker the crawl, `crawler reextract` and `crawler import-warc` share (no Scrapy import)."""
