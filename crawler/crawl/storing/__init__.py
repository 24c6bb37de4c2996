"""Scrapy components around the store: the store extension, the store pipeline and the incremental middleware."""
