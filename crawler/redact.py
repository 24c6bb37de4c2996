"""Passwords out of sight: URLs with their password masked (`postgresql://user:***@host/db`), in text and in logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

MASK = "***"

# scheme://user:password@ (the user may be empty, as in redis://:password@host). The password runs to the last
# '@' before the host: clients such as redis-py split the authority there, so an unencoded '@' or ':' in a
# password is still a password. It holds no '/' or whitespace (the authority would end there); the user no ':'.
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?P<secret>[^/\s]+)@")
# libpq also takes the password as a URL parameter (?password=... or &password=...).
_PARAMETER = re.compile(r"(?P<head>[?&]password=)(?P<secret>[^&\s#]+)", re.IGNORECASE)
# A client's repr names it as a keyword (redis-py: `Connection(password=secret,host=...)`): up to the next
# `,name=`, `)` or space.
_KEYWORD = re.compile(r"(?P<head>(?<![?&\w])password=)(?P<secret>.+?)(?=,\s*\w+=|\)|\s|$)", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with the password of every URL in it masked; text without one comes back unchanged."""
    if "://" not in text and "password=" not in text.lower():
        return text
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _PARAMETER.sub(lambda m: f"{m['head']}{MASK}", text)
    return _KEYWORD.sub(lambda m: f"{m['head']}{MASK}", text)


def mask_url(url: str) -> str:
    """A store or frontier URL as it may be shown, logged or stored: its password masked."""
    return redact(url)


class _RedactingRecordFactory:
    """Wraps the logging record factory: a record whose message names a URL with a password gets it masked,
    whoever logged it (our code, Scrapy, a library echoing its settings)."""

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
            # The traceback text is made later from the exception: mask what it will print.
            exc = record.exc_info[1]
            shown = str(exc)
            if redact(shown) != shown:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record


def install_log_redaction() -> None:
    """Mask passwords in every log record of this process from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(current))


__all__ = ["MASK", "install_log_redaction", "mask_url", "redact"]
