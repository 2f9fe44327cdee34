"""SLA clocks as a small state machine over a frozen value: start, pause, resume, stop, change.

A support contract promises two things per ticket: a first response and a resolution, each
within a number of *business* minutes set by the ticket's priority. The clock stops while
support waits on the client, and a priority may be changed after consultation. Those rules
decide whether a provider kept its word, so they live here as pure functions (no database,
no I/O, no system clock) that the store layer applies to a ticket row and the tests can
replay minute by minute. Every count of time goes through the :class:`BusinessCalendar`.

The state is :class:`SlaState`, whose fields are the ticket's SLA columns one for one, so
the store copies it to and from a row (:meth:`SlaState.from_record`, :meth:`SlaState.columns`).

**Phases.** *Not started* (``clock_started_at`` is None: the report is incomplete, or the
clock starts later by policy), *running*, *paused* (``paused_at`` set) and *resolved*
(``resolved_at`` set). A target is *open* while it can still be met or missed: the response
target until the first staff reply or the resolution, the resolution target until the
resolution.

**Storage rule.** While a target runs its due instant is stored (the sweep finds breaches
with ``due <= now``) and its ``*_left_minutes`` is None. While the clock is paused, and once
the ticket is resolved, the due instants are None and the business minutes still left are
kept instead. Minutes left are *signed*: a negative number is how many business minutes the
target was already overdue.

**A missed target stays missed.** A target is missed once ``due <= now``. Pausing, resuming
and reopening never make a missed target good again: when an overdue target runs again, its
due instant is the instant it runs again, so ``due <= now`` still holds. Only a priority
change that grants more minutes than were used can (see below). The first breach instant is
not carried through a pause: the sweep records a breach (``escalation_level``, events) when
it happens, and must not count such a reset due instant as a second breach.

**Transitions that do not apply return the state unchanged (the same object)**, so the
caller can tell with ``new is state`` (or ``==``) that nothing happened: pausing a clock that
is not running, resuming one that is not paused, a second first-response, a second
resolution, reopening a ticket that is not resolved, a priority change before the clock
starts or to the same targets. The functions do not check that instants arrive in order;
the caller passes "now".

**Reopen rule.** Resolving a ticket stops both clocks like a pause that only a reopening
ends: each target still open keeps its minutes left (signed). Reopening resumes them with
exactly those minutes, counted from the reopening: the time the ticket spent resolved does
not count against support, and nothing is granted afresh. The first-response clock
therefore runs again only for a ticket resolved without any staff reply; once answered, it
stays stopped.

**Priority-change rule.** The new targets count from the clock start, over the business time
the clock actually ran: business minutes spent paused never count, business minutes already
used while running always do. Equivalently, each open target's minutes left change by
``new target - old target``. A running target becomes due ``left`` business minutes after
the change; if the new target is already used up, the target is missed as of the change
(due at the change instant, or at its old due instant if that was earlier): a breach is
never dated before the priority that causes it existed. A paused or resolved target just
has its kept minutes adjusted. The old targets are a required argument: the state does not
record which targets it was started with, and the arithmetic is exact only if the caller
passes the targets the clock was last started or changed with.

All instants are timezone-aware; results are UTC. Due instants are whole minutes (the
calendar's resolution); recorded event instants (started, paused, responded, resolved) are
kept as given, in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from maildesk.core.clock import ensure_utc
from maildesk.sla.calendar import BusinessCalendar

__all__ = [
    "NOT_STARTED",
    "DueNote",
    "SlaState",
    "Targets",
    "Warnings",
    "change_priority",
    "describe_due",
    "minutes_left",
    "pause",
    "reopened",
    "resolved",
    "responded",
    "resume",
    "start",
    "warning_at",
]

Targets = tuple[int, int]
"""(response, resolution) business minutes, as ``SlaConfig.minutes(priority)`` gives them."""

_MINUTE = timedelta(minutes=1)
# The warning search looks back at most this far before a due instant.
_MAX_LOOKBACK = timedelta(days=4 * 366)


@dataclass(frozen=True)
class SlaState:
    """A ticket's SLA clocks: the ``tickets`` columns of the same names."""

    clock_started_at: datetime | None = None
    paused_at: datetime | None = None
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    response_left_minutes: int | None = None
    resolution_left_minutes: int | None = None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None

    @classmethod
    def from_record(cls, record: object) -> SlaState:
        """Read the SLA fields from any object that has them (a ``Ticket`` row).

        Datetimes are made aware UTC (SQLite hands them back naive).
        """

        def instant(name: str) -> datetime | None:
            value: datetime | None = getattr(record, name)
            return None if value is None else ensure_utc(value)

        def minutes(name: str) -> int | None:
            value: int | None = getattr(record, name)
            return None if value is None else int(value)

        return cls(
            clock_started_at=instant("clock_started_at"),
            paused_at=instant("paused_at"),
            response_due_at=instant("response_due_at"),
            resolution_due_at=instant("resolution_due_at"),
            response_left_minutes=minutes("response_left_minutes"),
            resolution_left_minutes=minutes("resolution_left_minutes"),
            responded_at=instant("responded_at"),
            resolved_at=instant("resolved_at"),
        )

    def columns(self) -> dict[str, datetime | int | None]:
        """The fields by column name, to ``setattr`` onto a ticket row."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def started(self) -> bool:
        return self.clock_started_at is not None

    @property
    def paused(self) -> bool:
        return self.paused_at is not None

    @property
    def running(self) -> bool:
        """Started, not paused, not resolved: the open targets' due instants are set."""
        return self.started and not self.paused and self.resolved_at is None

    @property
    def response_open(self) -> bool:
        """The first-response target can still be met or missed."""
        return self.started and self.responded_at is None and self.resolved_at is None

    @property
    def resolution_open(self) -> bool:
        """The resolution target can still be met or missed."""
        return self.started and self.resolved_at is None


NOT_STARTED = SlaState()
"""A ticket whose clock has not started (an incomplete report)."""


class Warnings(NamedTuple):
    """When each open, running target reaches its warning point (None: no warning due)."""

    response: datetime | None
    resolution: datetime | None


@dataclass(frozen=True)
class DueNote:
    """Local-time facts for the client's acknowledgement.

    ``received_local`` and ``due_local`` are in the calendar's zone. ``received_in_hours``
    is False for a report that arrived outside business hours; then ``closed_reason`` is the
    holiday's name or ``"closure"`` when the whole day was closed (None for a weekend or an
    evening), and ``opens_local`` is when business time starts again (the receipt minute
    itself when in hours). ``due_local`` is None when no response is due yet (the clock has
    not started).
    """

    received_local: datetime
    received_in_hours: bool
    closed_reason: str | None
    opens_local: datetime
    due_local: datetime | None


# -- transitions --------------------------------------------------------------------------------


def start(cal: BusinessCalendar, targets: Targets, at: datetime) -> SlaState:
    """Start both clocks at ``at``: each target is due that many business minutes later.

    ``at`` is when the report became complete, or its receipt when the policy starts the
    clock on receipt; out of hours the count begins at the next opening. A first staff reply
    that came before the clock started is recorded with :func:`responded` afterwards.
    """
    response, resolution = _check_targets(targets)
    started = _utc(at)
    return SlaState(
        clock_started_at=started,
        response_due_at=cal.add_business(started, response),
        resolution_due_at=cal.add_business(started, resolution),
    )


def pause(state: SlaState, cal: BusinessCalendar, at: datetime) -> SlaState:
    """Stop the clock while support waits on the client: keep the minutes left, clear the dues.

    Only a running clock pauses; otherwise the state is returned unchanged.
    """
    if not state.running:
        return state
    paused = _utc(at)
    response_left = (
        _left(cal, paused, _due(state.response_due_at, "response")) if state.response_open else None
    )
    return replace(
        state,
        paused_at=paused,
        response_due_at=None,
        resolution_due_at=None,
        response_left_minutes=response_left,
        resolution_left_minutes=_left(cal, paused, _due(state.resolution_due_at, "resolution")),
    )


def resume(state: SlaState, cal: BusinessCalendar, at: datetime) -> SlaState:
    """Run a paused clock again: each open target is due its kept minutes after ``at``.

    A target that was already overdue when paused is due at ``at`` (still missed). Only a
    paused clock resumes; otherwise the state is returned unchanged.
    """
    if not state.paused or not state.resolution_open:
        return state
    resumed = _utc(at)
    response_due = (
        _due_after(cal, resumed, _kept(state.response_left_minutes, "response"))
        if state.response_open
        else None
    )
    return replace(
        state,
        paused_at=None,
        response_due_at=response_due,
        resolution_due_at=_due_after(
            cal, resumed, _kept(state.resolution_left_minutes, "resolution")
        ),
        response_left_minutes=None,
        resolution_left_minutes=None,
    )


def responded(state: SlaState, at: datetime) -> SlaState:
    """Record the first staff reply: the response clock stops, the resolution clock goes on.

    Allowed in any phase (a reply before the clock starts is still the first reply); a
    second reply returns the state unchanged.
    """
    if state.responded_at is not None:
        return state
    return replace(state, responded_at=_utc(at), response_due_at=None, response_left_minutes=None)


def resolved(state: SlaState, cal: BusinessCalendar, at: datetime) -> SlaState:
    """Record the resolution: both clocks stop, each open target keeping its minutes left.

    The kept minutes (signed, see the module notes) are what :func:`reopened` resumes with.
    ``responded_at`` is left as it was: resolving is not recorded as a first reply. A ticket
    already resolved is returned unchanged.
    """
    if state.resolved_at is not None:
        return state
    done = _utc(at)
    if not state.started:
        return replace(state, resolved_at=done)
    stopped = pause(state, cal, done)  # a paused clock keeps what it already kept
    return replace(stopped, resolved_at=done, paused_at=None)


def reopened(state: SlaState, cal: BusinessCalendar, at: datetime) -> SlaState:
    """Reopen a resolved ticket: its clocks run again with the minutes they had left.

    A ticket resolved before its clock started goes back to not started. A ticket that is
    not resolved is returned unchanged.
    """
    if state.resolved_at is None:
        return state
    if not state.started:
        return replace(state, resolved_at=None)
    # Resuming a pause that started now: the kept minutes count from ``at``.
    return resume(replace(state, resolved_at=None, paused_at=_utc(at)), cal, at)


def change_priority(
    state: SlaState,
    cal: BusinessCalendar,
    new_targets: Targets,
    at: datetime,
    *,
    old_targets: Targets,
) -> SlaState:
    """Move to another priority's targets at ``at`` (see the priority-change rule above).

    Each open target's minutes left change by ``new - old``; business time already used
    while running stays used, paused time never counts. Before the clock starts nothing
    changes (:func:`start` will use the new priority's targets).
    """
    old_response, old_resolution = _check_targets(old_targets)
    new_response, new_resolution = _check_targets(new_targets)
    if not state.started or (old_response, old_resolution) == (new_response, new_resolution):
        return state
    when = _utc(at)
    d_response = new_response - old_response
    d_resolution = new_resolution - old_resolution
    if state.paused or state.resolved_at is not None:
        # Minutes are kept, not running: adjust whichever targets keep some.
        response_left = state.response_left_minutes
        resolution_left = state.resolution_left_minutes
        return replace(
            state,
            response_left_minutes=None if response_left is None else response_left + d_response,
            resolution_left_minutes=(
                None if resolution_left is None else resolution_left + d_resolution
            ),
        )
    return replace(
        state,
        response_due_at=(
            _moved_due(cal, when, _due(state.response_due_at, "response"), d_response)
            if state.response_open
            else None
        ),
        resolution_due_at=_moved_due(
            cal, when, _due(state.resolution_due_at, "resolution"), d_resolution
        ),
    )


# -- questions ----------------------------------------------------------------------------------


def minutes_left(
    state: SlaState, cal: BusinessCalendar, at: datetime
) -> tuple[int | None, int | None]:
    """(response, resolution) business minutes left at ``at``; negative when overdue.

    None for a target that is not open. A paused clock reports its kept minutes.
    """
    when = _utc(at)

    def left(due: datetime | None, kept: int | None, is_open: bool, what: str) -> int | None:
        if not is_open:
            return None
        if state.paused:
            return _kept(kept, what)
        return _left(cal, when, _due(due, what))

    return (
        left(state.response_due_at, state.response_left_minutes, state.response_open, "response"),
        left(
            state.resolution_due_at,
            state.resolution_left_minutes,
            state.resolution_open,
            "resolution",
        ),
    )


def warning_at(state: SlaState, cal: BusinessCalendar, targets: Targets, percent: int) -> Warnings:
    """When each running target has used ``percent`` % of its business minutes.

    The warning point of a target of ``T`` minutes is the first instant at which at most
    ``T - ceil(T * percent / 100)`` business minutes are left before its due instant (for a
    clock that never paused, ``cal.add_business(start, ceil(T * percent / 100))``). It may
    lie in the past. ``targets`` are the ticket's current targets. A paused clock, a target
    that is not open and a clock that has not started give None: nothing is reached while
    the clock stands still.
    """
    response, resolution = _check_targets(targets)
    if not 0 < percent <= 100:
        raise ValueError(f"warning percent must be 1 to 100, got {percent}")
    if not state.running:
        return Warnings(None, None)

    def point(due: datetime | None, target: int, what: str) -> datetime:
        used = -(-target * percent // 100)
        return _earliest_with_left(cal, _due(due, what), target - used)

    return Warnings(
        point(state.response_due_at, response, "response") if state.response_open else None,
        point(state.resolution_due_at, resolution, "resolution"),
    )


def describe_due(cal: BusinessCalendar, received: datetime, due: datetime | None) -> DueNote:
    """What the acknowledgement can tell the client about when support will answer.

    For example a report received on a Saturday: ``received_in_hours`` is False,
    ``opens_local`` is Monday's opening and ``due_local`` Monday's response due time.
    """
    zone = ZoneInfo(cal.timezone)
    got = _utc(received)
    local_day = got.astimezone(zone).date()
    in_hours = cal.is_open(got)
    return DueNote(
        received_local=got.astimezone(zone),
        received_in_hours=in_hours,
        closed_reason=None if in_hours else cal.describe_closed_day(local_day),
        opens_local=cal.next_open(got).astimezone(zone),
        due_local=None if due is None else _utc(due).astimezone(zone),
    )


# -- internals ----------------------------------------------------------------------------------


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"SLA clocks need a timezone-aware datetime, got {at!r}")
    return at.astimezone(UTC)


def _floor_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _check_targets(targets: Targets) -> Targets:
    response, resolution = targets
    if response <= 0 or resolution <= 0:
        raise ValueError(f"SLA targets must be positive business minutes, got {targets}")
    return response, resolution


def _due(due: datetime | None, what: str) -> datetime:
    if due is None:
        raise ValueError(f"inconsistent SLA state: the {what} clock runs without a due time")
    return due


def _kept(left: int | None, what: str) -> int:
    if left is None:
        raise ValueError(f"inconsistent SLA state: the {what} clock stands without minutes left")
    return left


def _left(cal: BusinessCalendar, at: datetime, due: datetime) -> int:
    """Signed business minutes from ``at`` to ``due``: negative when ``due`` has passed."""
    return cal.business_between(at, due) - cal.business_between(due, at)


def _due_after(cal: BusinessCalendar, at: datetime, left: int) -> datetime:
    """The due instant of a target with ``left`` minutes that runs from ``at``."""
    if left > 0:
        return cal.add_business(at, left)
    return _floor_minute(at)  # already missed: due now, so it stays missed


def _moved_due(cal: BusinessCalendar, at: datetime, due: datetime, delta: int) -> datetime:
    """A running target's due instant after its target changed by ``delta`` minutes at ``at``."""
    if delta == 0:
        return due
    left = _left(cal, at, due) + delta
    if left > 0:
        return cal.add_business(at, left)
    return min(due, _floor_minute(at))


def _earliest_with_left(cal: BusinessCalendar, due: datetime, left: int) -> datetime:
    """The first whole minute ``x <= due`` with at most ``left`` business minutes to ``due``.

    The calendar only counts forward, so this bisects over ``business_between``, which
    never increases as ``x`` moves later.
    """
    hi = _floor_minute(due)  # business_between(hi, due) == 0 <= left
    step = (left + 1) * _MINUTE
    lo = hi - step
    while cal.business_between(lo, due) <= left:
        step *= 2
        if step > _MAX_LOOKBACK:
            raise ValueError(f"no {left + 1} business minutes in the years before {due}")
        lo = hi - step
    while hi - lo > _MINUTE:
        mid = lo + (hi - lo) // _MINUTE // 2 * _MINUTE
        if cal.business_between(mid, due) <= left:
            hi = mid
        else:
            lo = mid
    return hi
