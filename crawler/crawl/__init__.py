"""The Scrapy crawl: settings, spiders, downloader and spider middlewares, pipelines, extensions, the frontier."""
