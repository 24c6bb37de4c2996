"""Store and frontier URLs are shown with their password masked, whatever form the URL takes, in text and logs."""

from __future__ import annotations

import functools
import io
import json
import logging
import string
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from crawler.core.redact import (
    MASK,
    MIN_SECRET,
    SplitURL,
    forget_all,
    install_log_redaction,
    mask_url,
    redact,
    redact_json,
    remember_location,
    split_url,
)
from crawler.crawl.frontier import FrontierError, connect
from crawler.store import StoreError, open_store
from crawler.store.postgres import connection_arguments

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
def test_every_form_of_store_and_frontier_url_is_shown_without_its_password(url: str, password: str, kept: str) -> None:
    for shown in (
        mask_url(url),
        redact(f"cannot connect to {url}: connection refused"),
        redact(f'{{"CRAWLER_FRONTIER": "{url}", "CRAWLER_STORE": "{url}"}}'),
    ):
        assert password not in shown and MASK in shown and kept in shown, shown


def test_urls_without_a_password_are_left_as_they_are() -> None:
    for text in (
        "redis://127.0.0.1:6379/0",
        "rediss://cache:6380",
        "postgresql://crawler@db/crawl",
        "data/crawler.sqlite",
        "https://www.presstv.ir/Detail/2026/08/15/774416/Iran-urges-UN",
    ):
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

    import crawler.crawl.settings as project_settings

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


# Passwords of unusual shape: what the user meant is the whole text between the user's ':' and the host's '@'.
ODD = [
    ("postgresql://crawler:pa ss word@127.0.0.1:5432/crawl", "pa ss word"),  # spaces
    ("postgresql://crawler:pa@ssword@127.0.0.1:5432/crawl", "pa@ssword"),  # an unencoded '@'
    ("postgresql://crawler:p/ass?w#rd@127.0.0.1:5432/crawl", "p/ass?w#rd"),  # '/', '?', '#'
    ("redis://:pa/ss@127.0.0.1:5432/0", "pa/ss"),
    ("redis://:100%zz:@127.0.0.1:5432/0", "100%zz:"),  # a '%' that encodes nothing, a ':'
]


@pytest.mark.parametrize(("url", "password"), ODD)
def test_a_password_of_odd_shape_is_cut_out_whole_and_masked(url: str, password: str) -> None:
    parts = split_url(url)
    assert parts is not None and parts.password == password
    assert MASK + "@127.0.0.1:5432/" in mask_url(url) and password not in mask_url(url)
    # libpq is given the URL without it: its parser sees the host and port the user meant.
    if url.startswith("postgresql"):
        libpq_url, extra = connection_arguments(url)
        assert conninfo_to_dict(libpq_url) == {
            "user": "crawler",
            "host": "127.0.0.1",
            "port": "5432",
            "dbname": "crawl",
        }
        assert extra == {"password": unquote(password)}
    # Once shown, it is masked wherever a message echoes it, even cut loose from its URL.
    assert redact(f"failed to resolve host {password!r}") == f"failed to resolve host '{MASK}'"


def test_a_redis_url_with_an_odd_password_gives_redis_the_password_and_the_right_port() -> None:
    client = connect("redis://:pa/ss word@127.0.0.1:6390/2")
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == ("127.0.0.1", 6390, 2, "pa/ss word")
    assert "pa/ss" not in redact(repr(client))


def test_a_percent_encoded_password_reaches_the_server_decoded() -> None:
    _, extra = connection_arguments("postgresql://crawler:pa%40ss%20w@db/crawl")
    assert extra == {"password": "pa@ss w"}
    assert connect("redis://:pa%2Fss@127.0.0.1:6390/0").connection_pool.connection_kwargs["password"] == "pa/ss"


def test_a_keyword_dsn_is_refused_with_its_password_masked() -> None:
    # Taken as a file name, it would have made a SQLite store named after the password.
    with pytest.raises(StoreError) as caught:
        open_store("host=127.0.0.1 port=5432 user=crawler password='kw s3cret' dbname=crawler")
    message = str(caught.value)
    assert "kw s3cret" not in message and "s3cret" not in message
    assert "password=***" in message and "postgresql://user@host:port/dbname" in message
    assert redact("dsn host=db password=kw-s3cret dbname=x") == "dsn host=db password=*** dbname=x"


def test_pgpassword_is_masked_wherever_it_shows(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    forget_all()
    monkeypatch.setenv("PGPASSWORD", "pg env s3cret")
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("crawler.test").error("libpq said: %s", "password 'pg env s3cret' rejected")
    assert "s3cret" not in caplog.text and "password '***' rejected" in caplog.text
    forget_all()


def test_a_frontier_url_that_is_no_redis_url_is_one_line_without_its_password() -> None:
    with pytest.raises(FrontierError) as caught:
        connect("redis://:pa/ss@127.0.0.1:port/0")
    assert "pa/ss" not in str(caught.value) and "redis://:***@127.0.0.1:port/0" in str(caught.value)


PROPERTY_PORT = 55999
TEMPLATES = (
    f"postgresql://crawler:{MASK}@127.0.0.1:{PROPERTY_PORT}/crawler",
    f"redis://:{MASK}@127.0.0.1:{PROPERTY_PORT}/0",
)


def _dsn_quoted(password: str) -> str:
    return "'" + password.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _printed(password: str) -> list[str]:
    """Everything a failing connection given `password` may print, with a store, a frontier and a DSN: our
    one-line errors, and a traceback (logged, as Scrapy and asyncio do) whose message echoes the URLs, the DSN,
    the frontier client's repr and the settings as JSON."""
    forget_all()
    pg = f"postgresql://crawler:{password}@127.0.0.1:{PROPERTY_PORT}/crawler"
    frontier = f"redis://:{password}@127.0.0.1:{PROPERTY_PORT}/0"
    dsn = f"host=127.0.0.1 port={PROPERTY_PORT} password={_dsn_quoted(password)} dbname=crawler"
    # The clients are given the password apart and the rest of the URL, which their parsers read as meant.
    libpq_url, extra = connection_arguments(pg)
    assert conninfo_to_dict(libpq_url) == {
        "user": "crawler",
        "host": "127.0.0.1",
        "port": str(PROPERTY_PORT),
        "dbname": "crawler",
    }
    assert extra == {"password": unquote(password)}
    client = connect(frontier)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["password"]) == ("127.0.0.1", PROPERTY_PORT, unquote(password))
    printed = [mask_url(pg), mask_url(frontier)]
    with pytest.raises(StoreError) as refused:
        open_store(dsn)
    printed.append(str(refused.value))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("crawler.test.property")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ConnectionError(
                f"connecting to {pg} ({dsn}) for {client!r}: "
                + json.dumps({"CRAWLER_STORE": pg, "CRAWLER_FRONTIER": frontier})
            )
        except ConnectionError as exc:
            logger.error("store %s and frontier %s failed: %r", pg, frontier, exc, exc_info=True)
    finally:
        logger.removeHandler(handler)
    printed.append(stream.getvalue())
    assert "Traceback" in printed[-1]
    return printed


@functools.cache
def _fixed_text() -> str:
    """What the same failures print around a plain password: a password that is part of it cannot be hidden."""
    return "\n".join(_printed("Plain-Pa55word"))


@settings(max_examples=10_000, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(password=st.text(alphabet=string.printable, min_size=1, max_size=40))
def test_no_generated_password_shows_in_what_a_failing_connection_prints(password: str) -> None:
    install_log_redaction()
    printed = _printed(password)
    if not any(password in template for template in TEMPLATES):
        assert printed[:2] == list(TEMPLATES)  # the URLs shown: masked whole, host and port as written
    if len(password) < MIN_SECRET or password in _fixed_text():
        return  # masked in its URL (above); as bare text too short or too common to be told from the rest
    for text in printed:
        assert password not in text, text


def test_an_at_sign_in_a_query_value_leaves_the_user_part_as_written() -> None:
    assert split_url("postgresql://crawler:pw@db/crawl?application_name=a@b") == SplitURL(
        "postgresql://crawler", "pw", "db/crawl?application_name=a@b"
    )
    assert split_url("postgresql://crawler@db/crawl?password=a@b") is None
    assert mask_url("postgresql://crawler@db/crawl?password=a@b&sslmode=require") == (
        "postgresql://crawler@db/crawl?password=***&sslmode=require"
    )


def test_an_uncaught_traceback_in_a_thread_or_the_main_program_is_masked() -> None:
    import subprocess
    import sys

    program = (
        "import threading\nfrom crawler.core.redact import install_log_redaction, remember_location\n"
        "install_log_redaction()\nremember_location('redis://:pa ss/w0rd@127.0.0.1:6379/0')\n"
        "def fail():\n    raise ConnectionError('AUTH pa ss/w0rd refused')\n"
        "t = threading.Thread(target=fail)\nt.start()\nt.join()\nfail()\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and done.stderr.count("Traceback") == 2, done.stderr
    assert "pa ss/w0rd" not in done.stderr and "w0rd" not in done.stderr
    assert done.stderr.count("ConnectionError: AUTH *** refused") == 2, done.stderr


def test_a_password_that_looks_like_a_number_leaves_stored_stats_valid_json() -> None:
    forget_all()
    remember_location("postgresql://crawler:2026@db/crawl")
    stats = {"item_scraped_count": 2026, "start_time": "2026-03-01", "store": "postgresql://crawler:2026@db/crawl"}
    shown = json.loads(redact_json(stats))
    assert shown == {
        "item_scraped_count": 2026,
        "start_time": "***-03-01",
        "store": "postgresql://crawler:***@db/crawl",
    }
    forget_all()
