"""Text every sink accepts.

Every text field of an ``InboundMail`` goes through ``clean`` (no NUL, no lone
surrogate, so that every database and JSON sink accepts it); ``cut`` and
``one_line`` bound and flatten notes and header values.
"""

from __future__ import annotations

import re

_UNSAFE_CHARS = re.compile("[\x00\ud800-\udfff]")
_FOLDING = re.compile(r"[ \t\r\n\f\v]+")


def clean(text: str) -> str:
    """Drop NUL and replace lone surrogates, which PostgreSQL and UTF-8 sinks refuse."""
    if _UNSAFE_CHARS.search(text) is None:
        return text
    return _UNSAFE_CHARS.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(value: str) -> str:
    """Every run of whitespace (line breaks included) as one space, trimmed."""
    return _FOLDING.sub(" ", value).strip()
