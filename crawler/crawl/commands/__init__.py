"""Scrapy command overrides for this project (COMMANDS_MODULE): `crawl` with meaningful exit statuses."""
