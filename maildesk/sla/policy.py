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
from datetime import date, timedelta
from functools import lru_cache

from maildesk.core.policy import WEEKDAYS, CalendarConfig, Policy
from maildesk.sla.calendar import BusinessCalendar, MonthDay, parse_hours

__all__ = ["WEEKDAY_NUMBERS", "calendar_from_config", "closures_running_out"]

WEEKDAY_NUMBERS: Mapping[str, int] = {name: number for number, name in enumerate(WEEKDAYS)}
"""Config weekday names to ``date.weekday()`` numbers: ``mon`` is 0, ``sun`` is 6."""

_CalendarKey = tuple[
    str,  # time zone
    tuple[tuple[str, str], ...],  # (weekday name, hours text), in week order
    str | None,  # holiday country
    str | None,  # holiday subdivision
    frozenset[date],  # closed dates
    tuple[tuple[date, date], ...],  # closed ranges, inclusive
    tuple[str, ...],  # holiday categories
    tuple[tuple[MonthDay, MonthDay], ...],  # yearly closures, inclusive
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
        tuple(cfg.holiday_categories),
        cfg.yearly_spans,
    )
    return _build(key)


@lru_cache(maxsize=64)
def _build(key: _CalendarKey) -> BusinessCalendar:
    timezone, hours, country, subdivision, closed_dates, closed_ranges, categories, yearly = key
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
        holiday_categories=categories,
        yearly_closures=yearly,
    )


CLOSURE_HORIZON = timedelta(days=183)
"""How far ahead ``check-config`` wants a policy's one-off closures to reach."""


def closures_running_out(policies: Mapping[str, Policy], today: date) -> list[str]:
    """A warning for each policy whose one-off closures all end within six months.

    A calendar typed for one year silently opens on the next year's closure
    days; yearly closures and holiday tables do not run out, dates do.
    """
    warnings = []
    for name, policy in sorted(policies.items()):
        cal = policy.calendar
        ends = [*cal.closed_dates, *(span.end for span in cal.closed_ranges)]
        if ends and max(ends) < today + CLOSURE_HORIZON:
            warnings.append(
                f"policy {name!r}: its last one-off closure is {max(ends).isoformat()}, "
                "within six months; add the next ones, or write recurring ones as "
                'yearly_closures = ["12-24..01-01"] or in [closures] yearly'
            )
    return warnings
