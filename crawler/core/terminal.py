"""Printing text that came from web pages: control characters and escape sequences made visible, never obeyed."""

from __future__ import annotations

import json
import re
from typing import Any

# C0 controls but tab and newline, DEL, and the C1 controls (U+0080-U+009F: a terminal may take U+009B as CSI).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1_AND_DEL = re.compile(r"[\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    # ESC [ 2 J prints as ^[[2J: what `cat -v` shows, readable and inert.
    code = ord(char)
    return f"^{chr(code ^ 0x40)}" if code < 0x20 or code == 0x7F else f"\\x{code:02x}"


def safe(text: object, *, newlines: bool = True) -> str:
    """`text` fit for a terminal: every control character (escape, bell, carriage return, backspace, C1) shown
    as ^X or \\xNN instead of being sent raw; newlines kept, or with `newlines=False` (one-line fields such as
    a title) shown as spaces; tabs kept."""
    out = _CONTROLS.sub(_visible, str(text))
    return out if newlines else out.replace("\n", " ")


def json_line(value: Any, **kwargs: Any) -> str:
    """`json.dumps(value, ensure_ascii=False)`, with DEL and the C1 controls written as \\u escapes too (json
    escapes only U+0000-U+001F): the same JSON to a parser, inert on a terminal."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    return _C1_AND_DEL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


__all__ = ["json_line", "safe"]
