"""URLs from what a page or feed says: a malformed link ("http://[2020/...", an unclosed IPv6 bracket) is no URL,
never an exception that loses the rest of the page."""

from __future__ import annotations

from urllib.parse import SplitResult, urljoin, urlsplit


def split_url(url: str) -> SplitResult | None:
    """urlsplit(url), or None for a URL urlsplit refuses (it raises ValueError on a bad IPv6 bracket)."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def join_url(base: str, link: str) -> str | None:
    """urljoin(base, link), or None when the link (or the base) is no URL urlsplit can read."""
    try:
        joined = urljoin(base, link)
        urlsplit(joined)  # urljoin passes some malformed links through unread (one with a scheme of its own)
    except ValueError:
        return None
    return joined


__all__ = ["join_url", "split_url"]
