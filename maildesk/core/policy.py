"""A support contract's rules, as configuration (pure pydantic models).

A policy says when support is open (calendar), what a report must carry
(required information), how urgent it is (priority rules), how fast it must be
answered (SLA targets), who is paged out of hours (on-call) and how time is
billed. Each client follows one policy; the four real contracts in
``config/examples/`` are four policies. No provider needs code of its own.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from maildesk.core.durations import DurationError, parse_duration

Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _hours_ok(value: str) -> str:
    for part in filter(None, (p.strip() for p in value.split(","))):
        start, sep, end = part.partition("-")
        if not sep:
            raise ValueError(
                f"{value!r}: write opening hours as '08:30-18:00' (several separated by commas)"
            )
        for t in (start.strip(), end.strip()):
            if t != "24:00":
                time.fromisoformat(t)
    return value


class DateRange(_Model):
    """An inclusive range of closed dates (a holiday closure)."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end < self.start:
            raise ValueError(f"closure ends ({self.end}) before it starts ({self.start})")
        return self


class CalendarConfig(_Model):
    """Business hours: weekly opening hours in a zone, public holidays, closures."""

    timezone: str = "UTC"
    hours: dict[Weekday, str] = Field(
        default_factory=lambda: {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}
    )
    holidays: str | None = None
    holiday_subdivision: str | None = None
    closed_dates: tuple[date, ...] = ()
    closed_ranges: tuple[DateRange, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[Weekday, str]) -> dict[Weekday, str]:
        for text in value.values():
            _hours_ok(text)
        return value


class RequiredInfo(_Model):
    """What a new report must carry before the clock runs (checked on the whole ticket)."""

    url: bool = False
    screenshot: bool = False
    steps: bool = False
    login: bool = False
    url_domains: tuple[str, ...] = ()
    steps_min_words: Annotated[int, Field(ge=1)] = 40
    steps_min_items: Annotated[int, Field(ge=2)] = 2

    @property
    def items(self) -> tuple[str, ...]:
        """The required items, in the order they are asked for."""
        return tuple(
            name for name in ("url", "screenshot", "steps", "login") if getattr(self, name)
        )


class PriorityRules(_Model):
    """How a new report's priority is chosen: markers, then keywords, then the default."""

    default: Priority = "normal"
    keywords: dict[Priority, tuple[str, ...]] = Field(default_factory=dict)
    markers: dict[Priority, tuple[str, ...]] = Field(default_factory=dict)


def _minutes(value: str | int, what: str) -> int:
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"{what} must be positive")
        return value
    return parse_duration(value, max_minutes=None)


class Target(_Model):
    """First-response and resolution targets, in business minutes.

    Written as durations ("1h", "4h", "30m") or in business days ("2d"), a
    business day being the policy's ``business_day`` length.
    """

    response: str
    resolution: str


class SlaConfig(_Model):
    """Response and resolution targets per priority, and when to warn."""

    high: Target = Target(response="1h", resolution="4h")
    normal: Target = Target(response="4h", resolution="2d")
    low: Target = Target(response="8h", resolution="5d")
    business_day: str = "8h"
    warn_at_percent: Annotated[int, Field(gt=0, lt=100)] = 75
    clock_starts: Literal["complete", "receipt"] = "complete"

    @model_validator(mode="after")
    def _parse(self) -> SlaConfig:
        for priority in PRIORITIES:
            self.minutes(priority)
        return self

    def _business_minutes(self, value: str) -> int:
        text = value.strip().lower()
        if text.endswith("d") and text[:-1].strip().replace(".", "", 1).isdigit():
            day = _minutes(self.business_day, "business_day")
            days = float(text[:-1])
            return round(days * day)
        try:
            return _minutes(text, "target")
        except DurationError as exc:
            raise ValueError(f"{value!r}: {exc}") from None

    def minutes(self, priority: Priority) -> tuple[int, int]:
        """(response, resolution) business minutes for ``priority``."""
        target: Target = getattr(self, priority)
        return self._business_minutes(target.response), self._business_minutes(target.resolution)


class RotaOverride(_Model):
    """Someone else on call for a date range (holidays, swaps)."""

    start: date = Field(alias="from")
    end: date = Field(alias="to")
    person: str


class OnCallConfig(_Model):
    """Out-of-hours paging: which priorities page, the rota, and the escalation chain."""

    pages: tuple[Priority, ...] = ("high",)
    ack_minutes: Annotated[int, Field(gt=0)] = 15
    rota: tuple[str, ...] = ()
    rota_start: date = date(2026, 1, 5)
    handover_weekday: Weekday = "mon"
    handover_time: str = "09:00"
    chain: tuple[str, ...] = ()
    overrides: tuple[RotaOverride, ...] = ()


class BillingConfig(_Model):
    """How recorded time becomes billed time under this contract.

    ``kind``: *prepaid* draws billed time from bundles of hours (overage beyond
    them is billed at ``hourly_rate``); *subscription* records time without
    deducting it (``#billable`` work is billed at the rate); *hourly* bills all
    work at the rate. ``unit_minutes``/``minimum_minutes`` round each time entry
    (every started unit is due). The low-balance notice goes out when the hours
    left drop below ``low_balance_hours`` or ``low_balance_percent`` of the
    last bundle bought or granted, whichever is larger. From ``cancelled_on``
    every entry is billed at the rate with the ``after_cancellation_*`` rounding
    (unit ``None``: the contract's own unit).
    """

    kind: Literal["prepaid", "subscription", "hourly"] = "prepaid"
    unit_minutes: Annotated[int, Field(ge=1)] = 1
    minimum_minutes: Annotated[int, Field(ge=0)] = 0
    hourly_rate: Annotated[float, Field(ge=0)] = 0.0
    currency: str = "EUR"
    starter_grant_hours: Annotated[float, Field(ge=0)] = 0.0
    low_balance_hours: Annotated[float, Field(ge=0)] = 0.0
    low_balance_percent: Annotated[float, Field(ge=0, le=100)] = 0.0
    timesheet_after_task: bool = False
    cancelled_on: date | None = None
    after_cancellation_unit_minutes: Annotated[int, Field(ge=1)] | None = None
    after_cancellation_minimum_minutes: Annotated[int, Field(ge=0)] = 60

    @model_validator(mode="after")
    def _roundings(self) -> BillingConfig:
        for unit, minimum, what in (
            (self.unit_minutes, self.minimum_minutes, "minimum_minutes"),
            (
                self.after_cancellation_unit_minutes or self.unit_minutes,
                self.after_cancellation_minimum_minutes,
                "after_cancellation_minimum_minutes",
            ),
        ):
            if minimum % unit:
                raise ValueError(
                    f"{what} ({minimum}) must be a multiple of the billing unit ({unit} min)"
                )
        return self


class Policy(_Model):
    """One support contract's rules."""

    calendar: CalendarConfig = CalendarConfig()
    required: RequiredInfo = RequiredInfo()
    priority: PriorityRules = PriorityRules()
    sla: SlaConfig = SlaConfig()
    oncall: OnCallConfig = OnCallConfig()
    billing: BillingConfig = BillingConfig()
    reopen_days: Annotated[int, Field(ge=0)] = 14
    erase_months_after_contract: Annotated[int, Field(ge=1)] | None = None
    """Erase a client's personal data this many months after its contract ended
    (``maildesk clients edit C --contract-ended DAY``); unset: only by hand."""
