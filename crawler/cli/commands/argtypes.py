"""Argument types for the commands' numeric options: whole numbers within bounds, rejected in one line."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type` taking a whole number from `low` to `high`: anything else (a word, 10**21, a negative
    count) is a one-line usage error, never a traceback from deep inside the store."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {low} to {high}")
        return value

    parse.__name__ = "whole number"  # argparse names the type in its message
    return parse


__all__ = ["whole"]
