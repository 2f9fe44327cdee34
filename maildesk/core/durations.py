"""Durations as staff write them, and as maildesk shows them back.

Work time is billed from what a staff member types after ``#time`` in a reply,
so reading it must never guess. Every duration becomes an integer number of
minutes (the unit of the whole ledger); anything that cannot be read exactly is
refused with a :class:`DurationError` whose message is mailed back to the
person who wrote it.

Accepted forms (case-insensitive, spaces between parts allowed):

* hours and minutes: ``1h30``, ``1h 30m``, ``1h30m``, ``1 h 30 min``,
  ``1 hour 30 minutes``; the Dutch ``1u30`` and French ``1 heure 30`` too;
* minutes only: ``45m``, ``45 min``, ``90 minutes``;
* hours only, whole or decimal: ``2h``, ``0.5h``, ``1,5h`` (decimal comma),
  ``1.25h``; decimal hours are computed exactly and must come to a whole
  number of minutes (``0.01h`` is refused);
* clock form: ``1:30`` (minutes are two digits, below 60).

Refused, each with a message saying why:

* a bare number such as ``90`` or ``1.5``: minutes or hours? In billing a wrong
  guess costs money, so the writer is asked to add a unit;
* empty text, zero, negative durations, garbage;
* minutes with a decimal separator (``0.3m``, ``1.000m``): minutes are whole,
  and refusing them also avoids reading a European thousands separator;
* decimal hours followed by minutes (``1.5h30``), or minutes of 60 and more
  after hours (``1h90``): almost certainly a typo;
* more than ``max_minutes`` (24 hours by default) in one entry, a typo guard.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Final

__all__ = [
    "MAX_ENTRY_MINUTES",
    "DurationError",
    "format_compact",
    "format_minutes",
    "parse_duration",
]

MAX_ENTRY_MINUTES: Final = 24 * 60
"""The longest duration one entry may hold unless the caller says otherwise."""

_EXAMPLES: Final = "1h30, 45m, 1:30 or 1.5h"
_MAX_TEXT: Final = 40
"""Longer text is refused before it is read (no duration needs more)."""

_NUM: Final = r"[0-9]+(?:[.,][0-9]+)?"
_HOUR_UNIT: Final = r"(?:hours|hour|hrs|hr|h|uren|uur|u|heures|heure)"
_MIN_UNIT: Final = r"(?:minutes|minute|minuten|mins|min|mn|m)"

_CLOCK_RE: Final = re.compile(r"(?P<h>[0-9]+):(?P<m>[0-9]{2})")
_HOURS_RE: Final = re.compile(
    rf"(?P<h>{_NUM})\s*{_HOUR_UNIT}(?:\s*(?P<m>{_NUM})\s*(?:{_MIN_UNIT})?)?"
)
_MINUTES_RE: Final = re.compile(rf"(?P<m>{_NUM})\s*{_MIN_UNIT}")
_BARE_RE: Final = re.compile(_NUM)


class DurationError(ValueError):
    """A duration that cannot be read; ``str(error)`` is meant for the writer."""


def _decimal(number: str) -> Decimal:
    """A decimal from digits written with a point or a comma."""
    return Decimal(number.replace(",", "."))


def _whole_minutes(number: str, original: str) -> int:
    """Minutes written after a duration, which must be a whole number."""
    if not number.isdigit():
        raise DurationError(f"{original!r}: minutes must be a whole number, such as 45m")
    return int(number)


def _hours_to_minutes(number: str, original: str) -> int:
    """Hours (possibly decimal) converted exactly to whole minutes."""
    minutes = _decimal(number) * 60
    if minutes != minutes.to_integral_value():
        raise DurationError(
            f"{original!r} is {minutes.normalize():f} minutes, not a whole number of minutes"
        )
    return int(minutes)


def _read(text: str, original: str) -> int:
    """Minutes for lower-cased, stripped ``text``, before range checks."""
    if match := _CLOCK_RE.fullmatch(text):
        past = int(match["m"])
        if past >= 60:
            raise DurationError(f"{original!r}: the minutes after ':' must be below 60")
        return int(match["h"]) * 60 + past

    if match := _HOURS_RE.fullmatch(text):
        hours, minutes = match["h"], match["m"]
        if minutes is None:
            return _hours_to_minutes(hours, original)
        if not hours.isdigit():
            raise DurationError(
                f"{original!r} mixes decimal hours with minutes; write it as 1h30 or 1.5h"
            )
        extra = _whole_minutes(minutes, original)
        if extra >= 60:
            raise DurationError(f"{original!r}: the minutes after the hours must be below 60")
        return int(hours) * 60 + extra

    if match := _MINUTES_RE.fullmatch(text):
        return _whole_minutes(match["m"], original)

    if _BARE_RE.fullmatch(text):
        if text.isdigit():
            hint = f"write {text}m for minutes or {text}h for hours"
        else:
            hint = f"write {text}h if you mean hours"
        raise DurationError(f"{original!r} has no unit: {hint}")
    raise DurationError(f"{original!r} is not a duration; write it as {_EXAMPLES}")


def parse_duration(text: str, *, max_minutes: int | None = MAX_ENTRY_MINUTES) -> int:
    """Minutes in ``text`` (see the module docstring for the accepted forms).

    ``max_minutes`` is the typo guard: larger values are refused. ``None``
    removes it (a quote for a long project may exceed a day).
    """
    original = text.strip()
    if not original:
        raise DurationError(f"no duration given; write it as {_EXAMPLES}")
    if len(original) > _MAX_TEXT:
        raise DurationError(
            f"{len(original)} characters is too long for a duration; write it as {_EXAMPLES}"
        )
    lowered = original.lower()
    if lowered[0] in "-−–":
        raise DurationError(f"{original!r}: a duration cannot be negative")
    minutes = _read(lowered, original)
    if minutes == 0:
        raise DurationError(f"{original!r} is zero; there is nothing to record")
    if max_minutes is not None and minutes > max_minutes:
        raise DurationError(
            f"{original!r} is more than {format_minutes(max_minutes)} in one entry;"
            " check for a typo or split it into several entries"
        )
    return minutes


def _split(minutes: int) -> tuple[str, int, int]:
    """Sign, hours and remaining minutes of a signed number of minutes."""
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise TypeError(f"minutes must be an int, not {type(minutes).__name__}")
    hours, rest = divmod(abs(minutes), 60)
    return ("-" if minutes < 0 else ""), hours, rest


def format_minutes(minutes: int) -> str:
    """Minutes for people: ``1 h 30 min``, ``45 min``, ``2 h``, ``-1 h 15 min``."""
    sign, hours, rest = _split(minutes)
    if hours and rest:
        return f"{sign}{hours} h {rest} min"
    if hours:
        return f"{sign}{hours} h"
    return f"{sign}{rest} min"


def format_compact(minutes: int) -> str:
    """Minutes in the short form staff type: ``1h30``, ``1h05``, ``45m``, ``2h``.

    Every positive value up to the entry limit reads back through
    :func:`parse_duration` unchanged.
    """
    sign, hours, rest = _split(minutes)
    if hours and rest:
        return f"{sign}{hours}h{rest:02d}"
    if hours:
        return f"{sign}{hours}h"
    return f"{sign}{rest}m"
