"""Web archives as sources of pages: Wayback CDX queries and replays, and WARC files in and out."""
