"""Passwords out of sight: store and frontier URLs, DSNs and passwords masked (`postgresql://user:***@host/db`) in
text, logs and tracebacks, however oddly the URL is written."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote

MASK = "***"

MIN_SECRET = 4
"""A remembered password this long or longer is masked wherever its text shows; a shorter one only where it sits
in a URL or DSN (masking every "ab" in a message would garble it and hide nothing worth hiding)."""

_SCHEME = re.compile(r"\s*[A-Za-z][A-Za-z0-9+.-]*://")
# scheme://user:password@ in free text. The password runs to the last '@' before the host: clients such as
# redis-py split the authority there, so an unencoded '@' or ':' in a password is still a password. In free text it
# holds no '/' or whitespace (where it would end is unknown); remembered passwords cover those (see `remember`).
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?P<secret>[^/\s]+)@")
# libpq also takes the password as a URL parameter (?password=... or &password=...).
_PARAMETER = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&\s#]+)", re.IGNORECASE)
# A keyword DSN (`host=db password='a b' dbname=x`) or a client's repr (redis-py: `Connection(password=secret,
# host=...)`): a quoted value to its closing quote, else up to the next `,name=`, `)` or space.
_KEYWORD = re.compile(
    r"(?P<head>(?<![?&\w])password\s*=\s*)(?P<secret>'(?:[^'\\]|\\.)*'?|.+?(?=,\s*\w+=|\)|\s|$))", re.IGNORECASE
)

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()  # longest first, so a password is masked before any part of it


@dataclass(frozen=True)
class SplitURL:
    """A URL cut around its password: `head` (scheme://user), `password` (as written, maybe percent-encoded),
    `tail` (host, port, path, query)."""

    head: str
    password: str
    tail: str

    @property
    def without_password(self) -> str:
        """The URL with no password in it (`scheme://user@host...`, or `scheme://host...` with no user)."""
        if self.head.endswith("://"):
            return self.head + self.tail
        return f"{self.head}@{self.tail}"

    @property
    def masked(self) -> str:
        return f"{self.head}:{MASK}@{self.tail}"


def split_url(url: str) -> SplitURL | None:
    """`url` cut around the password of its user part, or None when it names no password there.

    Forgiving where URL parsers are not: the user part ends at the string's last '@', so a password may hold '@',
    ':', '/', '?', '#', spaces or '%'. Unless that '@' is in the value of a query parameter (after a '?', no '/'
    after it, and an '@' in the authority or a `password=` parameter before it): `u:p@host/db?x=a@b`."""
    found = _SCHEME.match(url)
    if found is None:
        return None
    scheme, rest = url[: found.end()], url[found.end() :]
    at = rest.rfind("@")
    if at < 0:
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if (
        "?" in rest[:at]
        and "/" not in rest[at + 1 :]
        and ("@" in authority or re.search(r"[?&]password=[^&#]*$", rest[:at], re.IGNORECASE))
    ):
        at = authority.rfind("@")
        if at < 0:
            return None
    userinfo = rest[:at]
    if ":" not in userinfo:
        return None
    user, password = userinfo.split(":", 1)
    return SplitURL(scheme + user, password, rest[at + 1 :])


def passwords_in(location: str) -> list[str]:
    """Every password `location` gives: in a URL's user part, its `password=` parameters, a keyword DSN's
    `password=` (quoted or not)."""
    found: list[str] = []
    parts = split_url(location)
    if parts is not None:
        found.append(parts.password)
    for match in re.finditer(r"[?&]password=([^&#]*)", location, re.IGNORECASE):
        found.append(match.group(1))
    if _SCHEME.match(location) is None:
        for match in re.finditer(r"(?<![\w.])password\s*=\s*('(?:[^'\\]|\\.)*'?|\S+)", location, re.IGNORECASE):
            value = match.group(1)
            found.append(value)
            if value.startswith("'"):
                found.append(re.sub(r"\\(.)", r"\1", value.strip("'")))
    return [password for password in found if password]


def _forms(secret: str) -> Iterable[str]:
    """The ways a message may spell `secret`: as given, percent-decoded and -encoded, escaped by repr() or JSON."""
    for text in {secret, unquote(secret)}:
        yield text
        yield quote(text, safe="")
        yield repr(text)[1:-1]
        yield json.dumps(text)[1:-1]
        yield json.dumps(text, ensure_ascii=False)[1:-1]


def remember(*secrets: str) -> None:
    """Mask these passwords wherever their text shows, from now on in this process (see MIN_SECRET)."""
    global _secrets
    with _lock:
        known = set(_secrets)
        for secret in secrets:
            known.update(form for form in _forms(secret) if len(form) >= MIN_SECRET and form != MASK)
        _secrets = tuple(sorted(known, key=len, reverse=True))


def remember_location(location: str) -> None:
    """Remember the passwords a store or frontier location (URL or keyword DSN) holds."""
    remember(*passwords_in(location))


def forget_all() -> None:
    """Forget every remembered password (for tests that run many apart in one process)."""
    global _secrets
    with _lock:
        _secrets = ()


def redact(text: str) -> str:
    """`text` with every password masked: those of URLs and DSNs in it, and every remembered one."""
    secrets = _secrets
    if "://" not in text and "password" not in text.lower() and not any(s in text for s in secrets):
        return text
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _PARAMETER.sub(lambda m: f"{m['head']}{MASK}", text)
    text = _KEYWORD.sub(lambda m: f"{m['head']}{MASK}", text)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def redact_value(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, strings, numbers) with every string in it redacted; numbers stay numbers."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_value(key): redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(item) for item in value]
    return value


def redact_json(value: Any, **dumps: Any) -> str:
    """`value` as JSON with every password in it masked. The strings are masked before they are written, so a
    password that looks like a number or like JSON punctuation cannot break the document."""
    return json.dumps(redact_value(value), default=lambda other: redact(str(other)), **dumps)


def mask_url(url: str) -> str:
    """A store or frontier URL as it may be shown, logged or stored: its password masked, however it is written
    (and remembered, so that any message echoing it is masked too)."""
    remember_location(url)
    parts = split_url(url)
    return redact(parts.masked if parts is not None else url)


class _RedactingRecordFactory:
    """Wraps the logging record factory: a record whose message or traceback names a password gets it masked,
    whoever logged it (our code, Scrapy, asyncio, a library echoing its settings)."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: object, **kwargs: object) -> logging.LogRecord:
        record: logging.LogRecord = self.inner(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call is logging's to report, not ours
            return record
        masked = redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            # The traceback text is made later from the exception (and those chained to it): mask what it prints.
            # (Formatters print exc_text when it is set, so it is formatted once.)
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record


def _redacting_excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    import traceback

    sys.stderr.write(redact("".join(traceback.format_exception(kind, exc, tb))))


def _redacting_thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    import traceback

    name = args.thread.name if args.thread is not None else "?"
    shown = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
    sys.stderr.write(redact(f"Exception in thread {name}:\n{shown}"))


def install_log_redaction() -> None:
    """Mask passwords in every log record and uncaught traceback of this process from now on (idempotent)."""
    # Passwords the environment gives libpq or our settings are known before anything can echo them.
    remember(os.environ.get("PGPASSWORD", ""))
    for name in ("CRAWLER_STORE", "CRAWLER_FRONTIER"):
        remember_location(os.environ.get(name, ""))
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(current))
    if sys.excepthook is sys.__excepthook__:
        sys.excepthook = _redacting_excepthook
    if threading.excepthook is threading.__excepthook__:
        threading.excepthook = _redacting_thread_excepthook


__all__ = [
    "MASK",
    "MIN_SECRET",
    "SplitURL",
    "forget_all",
    "install_log_redaction",
    "mask_url",
    "passwords_in",
    "redact",
    "redact_json",
    "redact_value",
    "remember",
    "remember_location",
    "split_url",
]
