"""Turn a policy's calendar configuration into a :class:`BusinessCalendar`.

The config file speaks the provider's language (``mon: "08:30-18:00"``, ``holidays = "BE"``,
closure dates); the SLA arithmetic needs a :class:`BusinessCalendar`. This module is the one
translation between the two, so the ingest path, the sweep and the ack template all count
business time over the same calendar.

A calendar keeps per-day caches (its open periods, each year's holiday table), so building a
fresh one for every mail would throw that work away. :class:`CalendarConfig` itself cannot be
a cache key (its ``hours`` is a dict, so the model is not hashable); calendars are cached on
a hashable copy of the config's values instead, which is exact: equal values give an equal
calendar.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache

from maildesk.core.policy import WEEKDAYS, CalendarConfig
from maildesk.sla.calendar import BusinessCalendar, parse_hours

__all__ = ["WEEKDAY_NUMBERS", "calendar_from_config"]

WEEKDAY_NUMBERS: Mapping[str, int] = {name: number for number, name in enumerate(WEEKDAYS)}
"""Config weekday names to ``date.weekday()`` numbers: ``mon`` is 0, ``sun`` is 6."""

_CalendarKey = tuple[
    str,  # time zone
    tuple[tuple[str, str], ...],  # (weekday name, hours text), in week order
    str | None,  # holiday country
    str | None,  # holiday subdivision
    frozenset[date],  # closed dates
    tuple[tuple[date, date], ...],  # closed ranges, inclusive
]


def calendar_from_config(cfg: CalendarConfig) -> BusinessCalendar:
    """The business calendar a policy's ``[calendar]`` section describes.

    Weekdays missing from ``hours`` or given an empty string are closed all day; ``24:00``
    ends an interval at midnight. Raises ``ValueError`` naming the weekday when its hours
    cannot be read, and for an unknown holiday country or subdivision.
    """
    key: _CalendarKey = (
        cfg.timezone,
        tuple((day, cfg.hours[day]) for day in WEEKDAYS if day in cfg.hours),
        cfg.holidays,
        cfg.holiday_subdivision,
        frozenset(cfg.closed_dates),
        tuple((span.start, span.end) for span in cfg.closed_ranges),
    )
    return _build(key)


@lru_cache(maxsize=64)
def _build(key: _CalendarKey) -> BusinessCalendar:
    timezone, hours, country, subdivision, closed_dates, closed_ranges = key
    weekly = {}
    for day, text in hours:
        try:
            weekly[WEEKDAY_NUMBERS[day]] = parse_hours(text)
        except ValueError as exc:
            raise ValueError(f"calendar hours for {day}: {exc}") from None
    return BusinessCalendar(
        timezone=timezone,
        weekly=weekly,
        holiday_country=country,
        holiday_subdivision=subdivision,
        closed_dates=closed_dates,
        closed_ranges=closed_ranges,
    )
