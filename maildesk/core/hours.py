"""Opening hours as written in the config (``"08:30-12:00,13:00-18:00"``), read and checked.

Pure code shared by the config model (which refuses bad hours when the file is read)
and the business calendar (which computes with them), so both apply the same rule:
intervals are whole minutes, each starts before it ends, in order, without overlap.
``24:00`` ends an interval at midnight; hours that run past midnight are written as two
days' intervals.
"""

from __future__ import annotations

import re
from datetime import time

END_OF_DAY = time.max
"""The end of an interval that runs to midnight (``24:00`` in config strings)."""

Interval = tuple[time, time]

_HOURS_ITEM = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


def parse_hours(text: str) -> tuple[Interval, ...]:
    """Parse one weekday's opening hours, e.g. ``"08:30-12:00,13:00-18:00"``.

    ``24:00`` ends an interval at midnight (it becomes ``END_OF_DAY``); an empty string means
    closed all day. Intervals must be in order and must not overlap.
    """
    if not text.strip():
        return ()
    intervals: list[Interval] = []
    for item in text.split(","):
        match = _HOURS_ITEM.fullmatch(item.strip())
        if match is None:
            raise ValueError(f"bad opening hours {text!r}: {item.strip()!r} is not HH:MM-HH:MM")
        sh, sm, eh, em = (int(g) for g in match.groups())
        if sh >= 24 or sm >= 60:
            raise ValueError(f"bad opening hours {text!r}: {sh:02}:{sm:02} is not a time of day")
        if (eh, em) == (24, 0):
            end = END_OF_DAY
        elif eh < 24 and em < 60:
            end = time(eh, em)
        else:
            raise ValueError(f"bad opening hours {text!r}: {eh:02}:{em:02} is not a time of day")
        intervals.append((time(sh, sm), end))
    try:
        return check_intervals(tuple(intervals))
    except ValueError as exc:
        raise ValueError(f"bad opening hours {text!r}: {exc}") from None


def check_intervals(intervals: tuple[Interval, ...]) -> tuple[Interval, ...]:
    """Validate one weekday's intervals: whole minutes, start < end, in order, no overlap."""
    previous_end: time | None = None
    for start, end in intervals:
        for value in (start, end):
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"opening hours are naive local times, not {value!r}")
            if value != END_OF_DAY and (value.second or value.microsecond):
                raise ValueError(f"opening hours are whole minutes, not {value.isoformat()}")
        if start == END_OF_DAY or start >= end:
            raise ValueError(f"interval {_fmt(start)}-{_fmt(end)} must start before it ends")
        if previous_end is not None and start < previous_end:
            raise ValueError(
                f"interval {_fmt(start)}-{_fmt(end)} overlaps or precedes the one before it"
            )
        previous_end = end
    return intervals


def _fmt(value: time) -> str:
    return "24:00" if value == END_OF_DAY else value.strftime("%H:%M")
