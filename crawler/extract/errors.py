"""The exception extraction raises for pages that are not articles."""

from __future__ import annotations


class NotAnArticle(Exception):
    """The page is not an article (listing, seizure notice, challenge, error page, empty or binary body).

    `reason` is one short line a user can read, e.g. "seizure notice" or "section listing".
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
