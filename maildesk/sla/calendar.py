"""Business-time arithmetic: when support is open, and how many open minutes lie between instants.

Support contracts promise response and resolution times in *business* minutes: "respond
within 4 business hours" counts only the provider's office hours, in the provider's time
zone, skipping weekends, public holidays and announced closures. Every SLA due time and
every paused clock in maildesk goes through this module, so it is pure (no I/O, no system
clock) and exact.

Conventions:

- Inputs may be in any time zone but must be timezone-aware (naive input raises
  ``ValueError``). Outputs are aware UTC datetimes.
- Time is counted in whole minutes. Seconds and microseconds of an input are dropped
  (floored), so every result is a whole UTC minute and the arithmetic adds up exactly.
- Opening hours are local wall-clock intervals ``[start, end)`` per weekday
  (0 = Monday ... 6 = Sunday); a weekday may hold several (a lunch break splits the day).
  An interval that runs to midnight is written with ``END_OF_DAY`` (``time.max``) as its
  end; in config strings it is ``24:00``. A whole day is therefore ``(time(0), END_OF_DAY)``
  and ``parse_hours("00:00-24:00")``. No other value may carry seconds.
- Support is open at an instant when that instant's local date is not a closed day and its
  local wall-clock time falls inside one of that weekday's intervals. Daylight saving time
  follows from this definition: hours skipped by a spring-forward change never count, hours
  repeated by an autumn change count twice, so a 24/7 calendar has 23 hours on the
  spring-forward day and 25 on the autumn one. Durations are always real elapsed minutes.
- The arithmetic works day by day over local dates (never minute by minute); each day's open
  periods are computed once and cached, and so is each year's holiday table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from maildesk.core.hours import END_OF_DAY, Interval, check_intervals, parse_hours

__all__ = ["END_OF_DAY", "BusinessCalendar", "Interval", "parse_hours"]

MonthDay = tuple[int, int]  # (month, day), a date that recurs every year
Period = tuple[datetime, datetime]  # an open stretch of real time, [start, end) in UTC

# A calendar with no open minute for this many consecutive days is treated as broken.
_MAX_CLOSED_DAYS = 3 * 366
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class BusinessCalendar:
    """A provider's opening hours in one time zone, minus public holidays and closures."""

    timezone: str
    weekly: Mapping[int, tuple[Interval, ...]] = field(hash=False)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    closed_dates: frozenset[date] = frozenset()
    closed_ranges: tuple[tuple[date, date], ...] = ()
    holiday_categories: tuple[str, ...] = ("public",)
    yearly_closures: tuple[tuple[MonthDay, MonthDay], ...] = ()
    """Closed every year from the first (month, day) to the second, inclusive; a span
    whose end comes before its start runs over the new year (24 December to 1 January)."""

    # Derived state, excluded from comparison and hashing.
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _holidays: dict[int, Any] = field(init=False, repr=False, compare=False)
    _day_periods: Callable[[date], tuple[Period, ...]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc
        weekly: dict[int, tuple[Interval, ...]] = {}
        for weekday, intervals in self.weekly.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday!r}")
            weekly[weekday] = check_intervals(tuple((start, end) for start, end in intervals))
        if not any(weekly.values()):
            raise ValueError("a business calendar needs opening hours on at least one weekday")
        closed_ranges = tuple((first, last) for first, last in self.closed_ranges)
        for first, last in closed_ranges:
            if first > last:
                raise ValueError(f"closed range {first}..{last} ends before it starts")
        if self.holiday_subdivision is not None and self.holiday_country is None:
            raise ValueError("holiday_subdivision needs holiday_country")
        if self.holiday_country is not None:
            try:
                holidays.country_holidays(
                    self.holiday_country,
                    subdiv=self.holiday_subdivision,
                    categories=self.holiday_categories,
                )
            except NotImplementedError as exc:
                raise ValueError(f"no holiday table: {exc}") from exc
            except ValueError as exc:  # a category the country's table does not have
                categories = list(self.holiday_categories)
                raise ValueError(f"holiday categories {categories}: {exc}") from None
        for span in self.yearly_closures:
            for month, day in span:
                _month_day_ok(month, day)
        object.__setattr__(self, "weekly", MappingProxyType(weekly))
        object.__setattr__(self, "closed_dates", frozenset(self.closed_dates))
        object.__setattr__(self, "closed_ranges", closed_ranges)
        object.__setattr__(self, "_zone", zone)
        object.__setattr__(self, "_holidays", {})
        object.__setattr__(self, "_day_periods", lru_cache(maxsize=4096)(self._compute_periods))

    @classmethod
    def always_open(cls, tz: str = "UTC") -> BusinessCalendar:
        """A 24/7 calendar: every minute is a business minute."""
        return cls(timezone=tz, weekly={day: ((time(0), END_OF_DAY),) for day in range(7)})

    # -- days ---------------------------------------------------------------------------------

    def is_closed_day(self, day: date) -> bool:
        """Whether ``day`` is a public holiday or a closure (weekly hours aside)."""
        return self.describe_closed_day(day) is not None

    def describe_closed_day(self, day: date) -> str | None:
        """Why ``day`` is closed: the holiday's English name, ``"closure"``, or None if not."""
        name = self._holiday_name(day)
        if name is not None:
            return name
        if day in self.closed_dates or any(a <= day <= b for a, b in self.closed_ranges):
            return "closure"
        if any(_in_yearly(day, first, last) for first, last in self.yearly_closures):
            return "yearly closure"
        return None

    # -- instants -----------------------------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` is a business minute."""
        t = _utc_minute(at)
        return any(start <= t < end for start, end in self._day_periods(self._local_date(t)))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself (to the minute, in UTC) if open, else the next opening instant."""
        t = _utc_minute(at)
        for start, end in self._periods_from(t):
            if end > t:
                return max(start, t)
        raise AssertionError("unreachable: _periods_from never ends")  # pragma: no cover

    def add_business(self, start: datetime, minutes: int) -> datetime:
        """The instant (UTC) when ``minutes`` business minutes have elapsed after ``start``.

        With ``minutes == 0`` the clock starts at the next opening: the result is
        ``next_open(start)``. A deadline that uses up an open period exactly is that period's
        closing instant (Friday 18:00), not the next opening.
        """
        if minutes < 0:
            raise ValueError(f"minutes must not be negative, got {minutes}")
        t = _utc_minute(start)
        if minutes == 0:
            return self.next_open(t)
        remaining = timedelta(minutes=minutes)
        for period_start, period_end in self._periods_from(t):
            if period_end <= t:
                continue
            begin = max(period_start, t)
            available = period_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: _periods_from never ends")  # pragma: no cover

    def business_between(self, a: datetime, b: datetime) -> int:
        """Business minutes in ``[a, b)``; 0 if ``b <= a``."""
        ta, tb = _utc_minute(a), _utc_minute(b)
        if tb <= ta:
            return 0
        total = timedelta()
        day, last = self._local_date(ta), self._local_date(tb)
        while day <= last:
            for start, end in self._day_periods(day):
                lo, hi = max(start, ta), min(end, tb)
                if lo < hi:
                    total += hi - lo
            day += timedelta(days=1)
        return total // _MINUTE

    # -- internals ----------------------------------------------------------------------------

    def _local_date(self, t: datetime) -> date:
        return t.astimezone(self._zone).date()

    def _holiday_name(self, day: date) -> str | None:
        country = self.holiday_country
        if country is None:
            return None
        table = self._holidays.get(day.year)
        if table is None:
            table = holidays.country_holidays(
                country,
                subdiv=self.holiday_subdivision,
                years=day.year,
                language="en_US",
                categories=self.holiday_categories,
            )
            self._holidays[day.year] = table
        name: str | None = table.get(day)
        return name or None

    def _periods_from(self, t: datetime) -> Iterator[Period]:
        """Open periods of the local date of ``t`` and every later day, in order."""
        day = self._local_date(t)
        closed_run = 0
        while True:
            periods = self._day_periods(day)
            if periods:
                closed_run = 0
                yield from periods
            else:
                closed_run += 1
                if closed_run > _MAX_CLOSED_DAYS:
                    raise ValueError(
                        f"no business time in the {_MAX_CLOSED_DAYS} days before {day}; "
                        "check the calendar's closures"
                    )
            day += timedelta(days=1)

    def _compute_periods(self, day: date) -> tuple[Period, ...]:
        """The open periods of one local date as UTC instants, sorted and merged."""
        intervals = self.weekly.get(day.weekday(), ())
        if not intervals or self.is_closed_day(day):
            return ()
        walls = [
            (
                datetime.combine(day, start),
                datetime.combine(day + timedelta(days=1), time(0))
                if end == END_OF_DAY
                else datetime.combine(day, end),
            )
            for start, end in intervals
        ]
        # Within a segment of constant UTC offset, wall time = UTC + offset; intersecting each
        # segment's wall-clock range with each interval gives the real instants, DST included.
        pieces: list[Period] = []
        for seg_start, seg_end, offset in self._segments(day):
            seg_wall_start = seg_start.replace(tzinfo=None) + offset
            seg_wall_end = seg_end.replace(tzinfo=None) + offset
            for wall_start, wall_end in walls:
                lo, hi = max(wall_start, seg_wall_start), min(wall_end, seg_wall_end)
                if lo < hi:
                    start = _floor_minute((lo - offset).replace(tzinfo=UTC))
                    end = _floor_minute((hi - offset).replace(tzinfo=UTC))
                    pieces.append((start, end))
        pieces.sort()
        merged: list[Period] = []
        for start, end in pieces:
            if start >= end:
                continue
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return tuple(merged)

    def _segments(self, day: date) -> list[tuple[datetime, datetime, timedelta]]:
        """Split the real time of a local date into stretches of constant UTC offset.

        A day of exactly 24 hours with the same offset at both ends is taken as one stretch
        (the common case). Otherwise offset changes are found by probing every hour and
        bisecting to the second; no zone changes its offset twice within an hour.
        """
        first = self._wall_to_utc(datetime.combine(day, time(0)))
        after = self._wall_to_utc(datetime.combine(day + timedelta(days=1), time(0)))
        lo_ts, hi_ts = int(first.timestamp()), int(after.timestamp())
        if lo_ts >= hi_ts:  # a date skipped entirely by a zone change
            return []
        if hi_ts - lo_ts == 86400 and self._offset(lo_ts) == self._offset(hi_ts - 1):
            return [(first, after, self._offset(lo_ts))]
        probes = [*range(lo_ts, hi_ts, 3600), hi_ts - 1]
        cuts = [lo_ts]
        for p, q in pairwise(probes):
            if self._offset(p) != self._offset(q):
                cuts.append(self._bisect_change(p, q))
        cuts.append(hi_ts)
        return [
            (datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC), self._offset(a))
            for a, b in pairwise(cuts)
            if a < b
        ]

    def _wall_to_utc(self, wall: datetime) -> datetime:
        """The first instant at which the local wall clock reads ``wall`` or later.

        A repeated wall time (autumn) gives its first occurrence; a skipped one (spring)
        gives the instant of the change, when the clock jumps past it.
        """
        early = wall.replace(tzinfo=self._zone, fold=0).astimezone(UTC)
        late = wall.replace(tzinfo=self._zone, fold=1).astimezone(UTC)
        if early == late:
            return early
        if early.astimezone(self._zone).replace(tzinfo=None) == wall:
            return min(early, late)
        lo, hi = min(early, late), max(early, late)
        return datetime.fromtimestamp(
            self._bisect_change(int(lo.timestamp()), int(hi.timestamp())), UTC
        )

    def _offset(self, ts: int) -> timedelta:
        offset = datetime.fromtimestamp(ts, self._zone).utcoffset()
        assert offset is not None
        return offset

    def _bisect_change(self, lo: int, hi: int) -> int:
        """The first second in ``(lo, hi]`` that has ``hi``'s UTC offset."""
        target = self._offset(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._offset(mid) == target:
                hi = mid
            else:
                lo = mid
        return hi


def _utc_minute(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"business calendar needs a timezone-aware datetime, got {at!r}")
    return _floor_minute(at.astimezone(UTC))


def _floor_minute(t: datetime) -> datetime:
    return t.replace(second=0, microsecond=0)


def _month_day_ok(month: int, day: int) -> None:
    """Raise ValueError unless (month, day) is a day of some year (29 February included)."""
    try:
        date(2028, month, day)  # a leap year
    except ValueError:
        raise ValueError(f"{month:02d}-{day:02d} is not a day of the year") from None


def _in_yearly(day: date, first: MonthDay, last: MonthDay) -> bool:
    """Whether ``day`` falls in the yearly span ``first``..``last`` (inclusive)."""
    here = (day.month, day.day)
    if first <= last:
        return first <= here <= last
    return here >= first or here <= last  # over the new year
