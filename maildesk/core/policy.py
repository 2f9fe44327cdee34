"""A support contract's rules, as configuration (pure pydantic models).

A policy says when support is open (calendar), what a report must carry
(required information), how urgent it is (priority rules), how fast it must be
answered (SLA targets), who is paged out of hours (on-call) and how time is
billed. Each client follows one policy; the four real contracts in
``config/examples/`` are four policies. No provider needs code of its own.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from maildesk.core.durations import DurationError, parse_duration
from maildesk.core.hours import parse_hours
from maildesk.core.notices import NoticesConfig
from maildesk.core.words import LANGUAGES, LISTS, WordListError, load

Priority = Literal["high", "normal", "low"]
PRIORITIES: tuple[Priority, ...] = ("high", "normal", "low")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


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
    holiday_categories: tuple[str, ...] = ("public",)
    """Which of the ``holidays`` package's tables close support: ``public`` (legal
    holidays), ``bank`` (days banks are closed), ... as the country's table has them."""
    closed_dates: tuple[date, ...] = ()
    closed_ranges: tuple[DateRange, ...] = ()
    yearly_closures: tuple[str, ...] = ()
    """Closures that come back every year: ``"12-24..01-01"`` (over the new year), ``"08-15"``."""
    provider_closures: bool = True
    """Whether the provider's own closures (the top-level ``[closures]``) apply too."""

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
        # The calendar's own parser: hours that run backwards or overlap are refused
        # when the file is read, not by the first mail that needs a due time.
        for day, text in value.items():
            try:
                parse_hours(text)
            except ValueError as exc:
                raise ValueError(
                    f"{day}: {exc} (write '08:00-12:00,13:00-17:00'; hours past midnight "
                    "go on the next day, e.g. 'mon = \"18:00-24:00\"', 'tue = \"00:00-08:00\"')"
                ) from None
        return value

    @field_validator("yearly_closures")
    @classmethod
    def _yearly(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            yearly_span(text)
        return value

    @model_validator(mode="after")
    def _holiday_table(self) -> CalendarConfig:
        """The holiday table exists with these categories: checked at start, not at a mail."""
        if self.holidays is None:
            if self.holiday_subdivision is not None:
                raise ValueError("holiday_subdivision needs holidays (the country code)")
            return self
        import holidays  # heavy; only a config that names a holiday table needs it

        try:
            table = holidays.country_holidays(self.holidays, subdiv=self.holiday_subdivision)
        except NotImplementedError as exc:
            raise ValueError(f"holidays = {self.holidays!r}: no holiday table ({exc})") from None
        known = tuple(getattr(table, "supported_categories", ("public",)))
        unknown = [c for c in self.holiday_categories if c not in known]
        if unknown:
            raise ValueError(
                f"holiday_categories: {', '.join(unknown)} not in the {self.holidays} table "
                f"(it has: {', '.join(known)})"
            )
        return self

    @property
    def yearly_spans(self) -> tuple[tuple[tuple[int, int], tuple[int, int]], ...]:
        """The yearly closures as ((month, day), (month, day)) spans, inclusive."""
        return tuple(yearly_span(text) for text in self.yearly_closures)


def yearly_span(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """``"12-24..01-01"`` as ((12, 24), (1, 1)); ``"08-15"`` as ((8, 15), (8, 15))."""
    first, sep, last = text.partition("..")
    try:
        spans = tuple(
            (int(month), int(day))
            for month, day in (part.strip().split("-") for part in (first, last if sep else first))
        )
        for month, day in spans:
            date(2028, month, day)  # any day of a leap year
    except ValueError:
        raise ValueError(
            f"{text!r}: write a yearly closure as 'MM-DD' or 'MM-DD..MM-DD', e.g. '12-24..01-01'"
        ) from None
    return spans[0], spans[1]


class ProviderClosures(_Model):
    """The provider's own closures (top-level ``[closures]``), shared by every policy.

    A policy's calendar has them too unless it says ``provider_closures = false``,
    so a policy added later (a cancelled client's) cannot forget the Christmas week.
    """

    dates: tuple[date, ...] = ()
    ranges: tuple[DateRange, ...] = ()
    yearly: tuple[str, ...] = ()

    @field_validator("yearly")
    @classmethod
    def _yearly(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for text in value:
            yearly_span(text)
        return value

    def applied_to(self, calendar: CalendarConfig) -> CalendarConfig:
        """``calendar`` with these closures added (once), unless it opts out."""
        if not calendar.provider_closures or not (self.dates or self.ranges or self.yearly):
            return calendar

        def merged(own: tuple[Any, ...], extra: tuple[Any, ...]) -> tuple[Any, ...]:
            return own + tuple(item for item in extra if item not in own)

        return calendar.model_copy(
            update={
                "closed_dates": merged(calendar.closed_dates, self.dates),
                "closed_ranges": merged(calendar.closed_ranges, self.ranges),
                "yearly_closures": merged(calendar.yearly_closures, self.yearly),
            }
        )


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


Cell = Literal["high", "normal", "low", "none"]


class ScopeImpact(_Model):
    """Priority read as the contract defines it: who is affected (scope) × how (impact).

    Each cell names the priority a sentence of the report gets when it says that
    much ("none": this cell decides nothing). ``ask_when_unsure``: out of hours,
    a report that names an impact without a scope (or the reverse) sends the
    on-call person a short "possible outage, not paged" notice. ``words`` adds
    the operator's own words to the built-in lists, per language:
    ``words.nl.scope_all = ["alle stagiairs"]``. See :mod:`maildesk.ingest.severity`.
    """

    all_unusable: Cell = "high"
    service_down: Cell = "high"
    all_degraded: Cell = "normal"
    few_users: Cell = "low"
    small_part: Cell = "low"
    ask_when_unsure: bool = False
    words: dict[str, dict[str, tuple[str, ...]]] = Field(default_factory=dict)

    @field_validator("words")
    @classmethod
    def _known_lists(
        cls, value: dict[str, dict[str, tuple[str, ...]]]
    ) -> dict[str, dict[str, tuple[str, ...]]]:
        for language, lists in value.items():
            if language not in LANGUAGES:
                raise ValueError(
                    f"words.{language}: no word lists for language {language!r}"
                    f" (known: {', '.join(LANGUAGES)})"
                )
            for name, entries in lists.items():
                if name not in LISTS["priority"]:
                    raise ValueError(
                        f"words.{language}.{name}: unknown list"
                        f" (known: {', '.join(LISTS['priority'])})"
                    )
                if not all(entry.strip() for entry in entries):
                    raise ValueError(f"words.{language}.{name}: holds an empty entry")
        return value

    @model_validator(mode="after")
    def _built_in_lists(self) -> ScopeImpact:
        """The built-in word files must load: a broken install fails at start, not per mail."""
        for language in LANGUAGES:
            try:
                load(language)
            except WordListError as exc:
                raise ValueError(str(exc)) from None
        return self


class PriorityRules(_Model):
    """How a new report's priority is chosen: markers, scope × impact, keywords, defaults."""

    default: Priority = "normal"
    keywords: dict[Priority, tuple[str, ...]] = Field(default_factory=dict)
    markers: dict[Priority, tuple[str, ...]] = Field(default_factory=dict)
    scope_impact: ScopeImpact | None = None


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
    promise_response: bool = True
    """Whether acknowledgements name the response time. Off for a contract that sets
    no response time: staff still see the targets, the client is promised nothing."""

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

    ``kind``: how billable work is paid — *prepaid* draws it from bundles of
    hours (beyond them it is billed at ``hourly_rate``, or, without a rate,
    owed and paid first by the next purchase); *subscription* and *hourly*
    bill it at the rate. ``default_scope`` says whether work is ``included``
    (recorded, free) or ``billable`` unless staff say otherwise with
    ``#included``/``#billable`` (unset: ``included`` for a subscription,
    ``billable`` otherwise). With ``quote_required`` work on a ticket without
    an accepted quote is billed only when staff mark it ``#billable``.
    ``unit_minutes``/``minimum_minutes`` round each intervention's running
    total (every started unit is due). The low-balance notice goes out when the
    hours left drop below ``low_balance_hours`` or ``low_balance_percent`` of
    the last bundle bought or granted, whichever is larger. From
    ``cancelled_on`` all work is billable at the rate with the
    ``after_cancellation_*`` rounding (unit ``None``: the contract's own unit).
    """

    kind: Literal["prepaid", "subscription", "hourly"] = "prepaid"
    default_scope: Literal["included", "billable"] | None = None
    quote_required: bool = False
    unit_minutes: Annotated[int, Field(ge=1)] = 1
    minimum_minutes: Annotated[int, Field(ge=0)] = 0
    hourly_rate: Annotated[float, Field(ge=0)] = 0.0
    currency: str = "EUR"
    vat_percent: Annotated[Decimal, Field(ge=0, le=100)] | None = None
    """VAT added to the rate's amounts (``hourly_rate`` is excluding VAT); unset: none shown."""
    starter_grant_hours: Annotated[float, Field(ge=0)] = 0.0
    low_balance_hours: Annotated[float, Field(ge=0)] = 0.0
    low_balance_percent: Annotated[float, Field(ge=0, le=100)] = 0.0
    timesheet_after_task: bool = False
    cancelled_on: date | None = None
    after_cancellation_unit_minutes: Annotated[int, Field(ge=1)] | None = None
    after_cancellation_minimum_minutes: Annotated[int, Field(ge=0)] = 60

    @property
    def scope(self) -> Literal["included", "billable"]:
        """The scope of work nobody marked: the policy's, else by the kind of contract."""
        if self.default_scope is not None:
            return self.default_scope
        return "included" if self.kind == "subscription" else "billable"

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


class ServiceReportConfig(_Model):
    """The monthly service report each client of the policy is mailed (``report/monthly.py``)."""

    enabled: bool = False
    recipients: Literal["authorised", "contacts"] = "authorised"
    """``authorised``: the authorised contacts (and the account manager); ``contacts``: every
    contact of the client."""


class Policy(_Model):
    """One support contract's rules."""

    calendar: CalendarConfig = CalendarConfig()
    required: RequiredInfo = RequiredInfo()
    priority: PriorityRules = PriorityRules()
    sla: SlaConfig = SlaConfig()
    oncall: OnCallConfig = OnCallConfig()
    notices: NoticesConfig = NoticesConfig()
    billing: BillingConfig = BillingConfig()
    service_report: ServiceReportConfig = ServiceReportConfig()
    reopen_days: Annotated[int, Field(ge=0)] = 14
    erase_months_after_contract: Annotated[int, Field(ge=1)] | None = None
    """Erase a client's personal data this many months after its contract ended
    (``maildesk clients edit C --contract-ended DAY``); unset: only by hand."""
