"""How deep a JSON text nests, measured without parsing it: Python's parser, and everything
that walks a parsed value, recurses once per level and fails past about a thousand. Request
bodies (server/inputs.py) and the forms a designer saves (definitions/form_drafts.py) are
held to the same limit."""

from __future__ import annotations

import re
from array import array
from itertools import accumulate

#: Arrays and objects inside each other, at most; the product's own bodies need fewer than ten.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")  # +1 and -1 as signed bytes


def too_deep(text: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests arrays and objects more than `limit` levels deep, found
    without parsing it: the deepest running count of brackets outside strings, in loops that
    run in C. A malformed text is judged by the levels it opens: a parser recurses into those."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    steps = array("b", _JSON_STRING.sub(b"", raw).translate(_STEPS, _NOT_BRACKETS))
    return max(accumulate(steps), default=0) > limit
