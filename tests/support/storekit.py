"""Shared test code for stores on both backends: a SQLite file or a schema of its own on the real PostgreSQL
server `.ci/run` starts (its URL in CRAWLER_TEST_POSTGRES_URL). Test modules import from here.

- `postgres_url()`: the server's URL, or a skip saying PostgreSQL is absent.
- `fresh_schema(url)`: a context giving the URL of a new empty schema (search_path), dropped afterwards, so
  tests running in any order or in parallel never see each other's rows.
- `new_store_location(backend, tmp_path)`: the same for either backend (the `store_location` fixture).
- `rows(store, sql, params)`: a read-only query on any backend (`?` placeholders).
- `dump_rows(location)`: every row of every table as text, for tests that look for what must not be stored.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from crawler.store import ArticleStore
from crawler.store.sql import SQLStore

POSTGRES_URL_VAR = "CRAWLER_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")
TABLES = ("articles", "versions", "pages", "failures", "runs")


def postgres_url() -> str:
    """The test server's URL (with its password); skips the test when no server was started."""
    url = os.environ.get(POSTGRES_URL_VAR, "")
    if not url:
        pytest.skip(f"PostgreSQL is absent: {POSTGRES_URL_VAR} is not set (bash .ci/run starts a server)")
    return url


def with_options(url: str, options: str) -> str:
    """`url` with libpq `options` added (e.g. `-csearch_path=x`)."""
    return f"{url}{'&' if '?' in url else '?'}options={quote(options, safe='')}"


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new schema on the server, as the URL of a store living in it; dropped (with its tables) afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {name}")
    try:
        yield with_options(url, f"-csearch_path={name}")
    finally:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


@contextlib.contextmanager
def new_store_location(backend: str, tmp_path: Path) -> Iterator[str]:
    """Where a new, empty store of `backend` goes: a file in tmp_path, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        yield str(tmp_path / "store.sqlite")
        return
    with fresh_schema(postgres_url()) as url:
        yield url


def rows(store: ArticleStore, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """A read-only query on a store of either backend (`?` placeholders), for checks the protocol has no
    method for."""
    assert isinstance(store, SQLStore), f"not a SQL store: {store!r}"
    return store.execute(sql, params)


def dump_rows(location: str) -> list[str]:
    """Every stored row of every table (raw pages inflated), one text line each."""
    import zlib

    from crawler.store import open_store

    lines = []
    with open_store(location, readonly=True) as store:
        for table in TABLES:
            for row in rows(store, f"SELECT * FROM {table}"):
                cells = [
                    zlib.decompress(bytes(c)).decode("utf-8", "replace")
                    if isinstance(c, bytes | memoryview)
                    else str(c)
                    for c in row
                ]
                lines.append(f"{table}: " + " | ".join(cells))
    return lines
