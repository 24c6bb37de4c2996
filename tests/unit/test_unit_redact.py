"""Store and frontier URLs are shown with their password masked, whatever form the URL takes, in text and logs."""

from __future__ import annotations

import logging

import pytest

from crawler.redact import MASK, install_log_redaction, mask_url, redact

FORMS = [
    # (URL, its password, what must still be shown)
    ("postgresql://crawler:s3cret-pg@db.internal:5432/crawl", "s3cret-pg", "db.internal:5432/crawl"),
    ("redis://:s3cret-redis@127.0.0.1:6379/0", "s3cret-redis", "127.0.0.1:6379/0"),
    ("redis://default:s3cret-redis@cache:6379/2", "s3cret-redis", "cache:6379/2"),
    ("rediss://frontier:s3cret-tls@cache.example:6380/1", "s3cret-tls", "cache.example:6380/1"),
    ("rediss://:s3cret-tls@cache.example:6380", "s3cret-tls", "cache.example:6380"),
    ("redis://:pa:ss@w0rd@cache:6379/0", "pa:ss@w0rd", "cache:6379/0"),  # unencoded ':' and '@' in the password
    ("redis://:pa%40ss@cache:6379/0", "pa%40ss", "cache:6379/0"),
    ("postgresql://crawler@db/crawl?password=s3cret-param&sslmode=require", "s3cret-param", "sslmode=require"),
]


@pytest.mark.parametrize(("url", "password", "kept"), FORMS)
def test_every_form_of_store_and_frontier_url_is_shown_without_its_password(url: str, password: str,
                                                                           kept: str) -> None:
    for shown in (mask_url(url), redact(f"cannot connect to {url}: connection refused"),
                  redact(f'{{"CRAWLER_FRONTIER": "{url}", "CRAWLER_STORE": "{url}"}}')):
        assert password not in shown and MASK in shown and kept in shown, shown


def test_urls_without_a_password_are_left_as_they_are() -> None:
    for text in ("redis://127.0.0.1:6379/0", "rediss://cache:6380", "postgresql://crawler@db/crawl",
                 "data/crawler.sqlite", "https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN"):
        assert redact(text) == text


def test_log_records_naming_a_frontier_url_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    url = "redis://:s3cret-redis@127.0.0.1:6379/0"
    with caplog.at_level(logging.INFO):
        logging.getLogger("crawler.test").info("frontier at %s", url)
        try:
            raise ConnectionError(f"Error connecting to {url}")
        except ConnectionError:
            logging.getLogger("crawler.test").exception("frontier down")
    assert "s3cret-redis" not in caplog.text and "redis://:***@127.0.0.1:6379/0" in caplog.text


def test_store_and_frontier_urls_can_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # So that no password needs to be on a command line, which `ps` shows to every user.
    import importlib

    import crawler.settings as project_settings
    monkeypatch.setenv("CRAWLER_FRONTIER", "redis://:s3cret-redis@127.0.0.1:6379/0")
    monkeypatch.setenv("CRAWLER_STORE", "postgresql://crawler@db.internal/crawl")
    try:
        reloaded = importlib.reload(project_settings)
        assert reloaded.CRAWLER_FRONTIER == "redis://:s3cret-redis@127.0.0.1:6379/0"
        assert reloaded.CRAWLER_STORE == "postgresql://crawler@db.internal/crawl"
    finally:
        monkeypatch.delenv("CRAWLER_FRONTIER")
        monkeypatch.delenv("CRAWLER_STORE")
        importlib.reload(project_settings)


def test_a_redis_client_shown_by_repr_keeps_its_password_masked() -> None:
    # redis-py's repr names the password as a keyword, not in a URL.
    import redis

    client = redis.Redis.from_url("redis://:Redis-Pa55,word@127.0.0.1:6379/3")
    shown = redact(repr(client))
    assert "Redis-Pa55" not in shown and ",word" not in shown
    assert "password=***" in shown and "port=6379" in shown and "db=3" in shown
