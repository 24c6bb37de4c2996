"""The optional features and the pip extra that installs each: a feature whose extra is missing says so in one line.

A plain `pip install crawler` is the crawler, the store on SQLite and the exports. The rest is opt-in:
`serve` (Datasette and uvicorn for `crawler serve`), `charts` (matplotlib for `crawler coverage --html`),
`postgres` (psycopg for a PostgreSQL store), `frontier` (redis and scrapy-redis for CRAWLER_FRONTIER), `all`.
"""

from __future__ import annotations

import importlib

MODULES: dict[str, tuple[str, ...]] = {
    "serve": ("datasette", "uvicorn"),
    "charts": ("matplotlib",),
    "postgres": ("psycopg",),
    "frontier": ("redis", "scrapy_redis"),
}
"""The modules each extra brings (the import names; pyproject.toml's optional-dependencies list the packages)."""


def missing(extra: str, what: str) -> str | None:
    """None when the extra's modules import; else the one line saying what `what` needs and how to install it."""
    for module in MODULES[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            return f"{what}: needs the {extra!r} extra: pip install 'crawler[{extra}]'"
    return None


def frontier_missing(url: str | None) -> str | None:
    """For a crawl on the shared frontier at `url` (the CRAWLER_FRONTIER setting; none when blank): the one line
    saying the 'frontier' extra is missing, else None."""
    return missing("frontier", "CRAWLER_FRONTIER") if (url or "").strip() else None
