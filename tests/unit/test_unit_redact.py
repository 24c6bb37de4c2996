"""Passwords masked in whatever text may show a store or frontier URL: URLs, libpq parameters, client reprs."""

from __future__ import annotations

import redis

from crawler.redact import redact


def test_every_form_a_password_takes_is_masked_and_the_rest_kept() -> None:
    text = ("store postgresql://crawler:Pg%40Pa55@127.0.0.1:5432/db?password=Param-Pa55&sslmode=disable, "
            "frontier redis://:Redis-Pa55@127.0.0.1:6379/0 and rediss://default:Tls-Pa55@host/1")
    assert redact(text) == (
        "store postgresql://crawler:***@127.0.0.1:5432/db?password=***&sslmode=disable, "
        "frontier redis://:***@127.0.0.1:6379/0 and rediss://default:***@host/1")
    assert redact("no URL here: https://example.com/a?b=c") == "no URL here: https://example.com/a?b=c"


def test_a_redis_client_shown_by_repr_keeps_its_password_masked() -> None:
    client = redis.Redis.from_url("redis://:Redis-Pa55,word@127.0.0.1:6379/3")
    shown = redact(repr(client))
    assert "Redis-Pa55" not in shown and ",word" not in shown
    assert "password=***" in shown and "port=6379" in shown and "db=3" in shown
