"""Limits against hostile input, and the bounded defect notes they produce.

Limits against hostile input. A real mail stays far below each of them; a
mail beyond one is still parsed, the excess is skipped and named in
``defects`` (the raw mail is stored before parsing, so nothing is lost).
Only ``MAX_PARAMETER_HEADER`` refuses the mail (see its check).
"""

from __future__ import annotations

from maildesk.mail.text import clean, cut, one_line

#: MIME nesting below this depth is not walked (the stdlib parser recurses per level).
MAX_DEPTH = 40
#: At most this many MIME parts are looked at.
MAX_PARTS = 2000
#: At most this many Message-IDs are kept from References (the first and the last ones).
MAX_REFERENCES = 100
#: At most this many entries in ``defects``, each cut to ``MAX_DEFECT_CHARS``.
MAX_DEFECTS = 50
MAX_DEFECT_CHARS = 200
#: Message-IDs and filenames longer than this are cut (database columns are finite).
MAX_ID_CHARS = 998
MAX_FILENAME_CHARS = 255

#: Address headers (From, To, Cc ...) longer than this are cut after a whole address.
MAX_ADDRESS_HEADER = 64 * 1024
#: Content-Type/Content-Disposition headers longer than this are refused.
#: Real ones stay under a few KB even with long RFC 2231 file names.
MAX_PARAMETER_HEADER = 32 * 1024


class Defects:
    """Short, bounded, de-duplicated notes on what was wrong with the mail."""

    def __init__(self) -> None:
        self._items: dict[str, None] = {}
        self._dropped = 0

    def add(self, note: str) -> None:
        note = clean(cut(one_line(note), MAX_DEFECT_CHARS))
        if note in self._items:
            return
        if len(self._items) >= MAX_DEFECTS:
            self._dropped += 1
            return
        self._items[note] = None

    def extend(self, notes: list[str]) -> None:
        for note in notes:
            self.add(note)

    def as_tuple(self) -> tuple[str, ...]:
        items = tuple(self._items)
        if self._dropped:
            items += (f"{self._dropped} more defects not listed",)
        return items
