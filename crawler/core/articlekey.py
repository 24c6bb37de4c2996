"""The key that makes two requests the same article, whatever mirror or URL variant: one home for the local and
the shared (Redis) dupe filters and the shared frontier's in-flight and acknowledgement entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scrapy import Request


def article_key(article_id: Any) -> str | None:
    """The key of an article id (None for no id)."""
    return f"a:{article_id}" if article_id not in (None, "") else None


def article_fingerprint(request: Request) -> str | None:
    """The dupe key of a request for an article (`meta["article_id"]`), or None for any other request."""
    return article_key(request.meta.get("article_id"))


def continues_article(request: Request) -> bool:
    """A redirect of an article request continues a request already let in: never a duplicate. A redirect loop
    then ends at REDIRECT_MAX_TIMES with an IgnoreRequest the spider records, instead of vanishing unseen."""
    return bool(request.meta.get("article_id") and request.meta.get("redirect_urls"))
