"""Text normalisation and the content hash: a body read twice hashes alike, whichever path normalised it.

normalise_text passes text made of normal lines joined by blank lines (an item's body) without splitting it into
words; the result must be the plain definition's for every text: NFC, control characters dropped, whitespace runs
collapsed to one space, stripped.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.core.items import content_hash, normalise_text

CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def _plain(text: str) -> str:
    """The definition, the long way."""
    words = unicodedata.normalize("NFC", text).split()
    return " ".join(CONTROLS.sub("", " ".join(words)).split())


# Letters, spaces, breaks, other whitespace, controls, a combining accent (NFC composes "e" with it), a soft
# hyphen (not printable, no control).
PIECES = st.sampled_from(["a", "e", "Z", " ", "\n", "\n\n", "\t", "\xa0", "\u2003", "\x1b", "\x85", "\u0301", "\xad"])


@settings(max_examples=500, deadline=None)
@given(text=st.lists(PIECES, max_size=14).map("".join))
def test_any_text_normalises_as_the_definition_says(text: str) -> None:
    assert normalise_text(text) == _plain(text)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.lists(PIECES, min_size=1, max_size=8).map("".join), min_size=1, max_size=5))
def test_a_body_of_lines_normalises_and_hashes_as_the_definition_says(lines: list[str]) -> None:
    # Lines normalised first, then joined by blank lines: the shape of an item's body.
    body = "\n\n".join(normalise_text(line) for line in lines)
    assert normalise_text(body) == _plain(body)
    assert content_hash(body) == hashlib.sha256(_plain(body).encode("utf-8")).hexdigest()


def test_no_whitespace_but_the_space_is_printable() -> None:
    # What lets a printable text's words be found by its spaces alone.
    assert [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() and c.isprintable()] == [" "]
