"""A ticket's SLA clock: the pure transitions of ``sla.timers`` applied to its row.

The ingest steps call these when a report becomes complete, when support
waits on the client, when staff first answer, resolve or reprioritise. Each
transition that changes something is recorded as an event, so
``maildesk sla explain`` can replay how a deadline was reached.

Each transition also keeps the warning columns (``response_warn_at``,
``resolution_warn_at``) beside the due times, so that the sweep reads only tickets
with something due (see :mod:`maildesk.sla.escalation`). The rule: a target that does
not run has no warn time; a target whose due time did not change keeps its warn time
(None once its warning was sent); a target with a new due time gets its warning point
when the transition knows the policy (start, priority change), otherwise the
transition instant, which makes the next sweep compute the point and store it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import inspect as sa_inspect

from maildesk.core.clock import ensure_utc
from maildesk.core.policy import Policy
from maildesk.sla import timers
from maildesk.sla.calendar import BusinessCalendar
from maildesk.sla.policy import calendar_from_config
from maildesk.store.models import Event, Ticket


def calendar_for(policy: Policy) -> BusinessCalendar:
    """The business calendar of ``policy`` (cached per calendar config)."""
    return calendar_from_config(policy.calendar)


def targets_for(policy: Policy, priority: str) -> timers.Targets:
    """(response, resolution) business minutes for ``priority`` under ``policy``."""
    return policy.sla.minutes(priority)  # type: ignore[arg-type]


def warn_columns(
    ticket: Ticket,
    before: timers.SlaState,
    after: timers.SlaState,
    at: datetime,
    policy: Policy | None,
) -> dict[str, datetime | None]:
    """The warn columns after a transition from ``before`` to ``after`` (see the module notes).

    ``policy`` is None when the caller does not know it (pause, resume, reply, resolve).
    """
    points: timers.Warnings | None = None
    if policy is not None:
        points = timers.warning_at(
            after,
            calendar_for(policy),
            targets_for(policy, ticket.priority),
            policy.sla.warn_at_percent,
        )
    columns: dict[str, datetime | None] = {}
    for target, old_due, new_due, point in (
        (
            "response",
            before.response_due_at,
            after.response_due_at,
            points.response if points else None,
        ),
        (
            "resolution",
            before.resolution_due_at,
            after.resolution_due_at,
            points.resolution if points else None,
        ),
    ):
        name = f"{target}_warn_at"
        if new_due is None or not after.running:
            columns[name] = None
        elif new_due == old_due and before.running:
            columns[name] = getattr(ticket, name)
        elif points is not None:
            columns[name] = point
        else:
            columns[name] = ensure_utc(at)
    return columns


def _apply(
    ticket: Ticket,
    before: timers.SlaState,
    after: timers.SlaState,
    kind: str,
    at: datetime,
    policy: Policy | None = None,
) -> None:
    if after is before:
        return
    for name, value in (after.columns() | warn_columns(ticket, before, after, at, policy)).items():
        setattr(ticket, name, value)
    session = sa_inspect(ticket).session
    detail: dict[str, object] = {
        "response_due": after.response_due_at.isoformat() if after.response_due_at else None,
        "resolution_due": (
            after.resolution_due_at.isoformat() if after.resolution_due_at else None
        ),
        "response_left": after.response_left_minutes,
        "resolution_left": after.resolution_left_minutes,
    }
    if session is not None:
        session.add(Event(ticket_id=ticket.id, at=at, kind=f"sla_{kind}", detail=detail))


def start_clock(ticket: Ticket, cal: BusinessCalendar, policy: Policy, at: datetime) -> None:
    before = timers.SlaState.from_record(ticket)
    after = timers.start(cal, targets_for(policy, ticket.priority), at)
    if ticket.responded_at is not None:
        after = timers.responded(after, ticket.responded_at)
    _apply(ticket, before, after, "started", at, policy)


def pause_clock(ticket: Ticket, cal: BusinessCalendar, at: datetime) -> None:
    state = timers.SlaState.from_record(ticket)
    _apply(ticket, state, timers.pause(state, cal, at), "paused", at)


def resume_clock(ticket: Ticket, cal: BusinessCalendar, at: datetime) -> None:
    state = timers.SlaState.from_record(ticket)
    after = timers.reopened(state, cal, at) if state.resolved_at else timers.resume(state, cal, at)
    _apply(ticket, state, after, "resumed", at)


def mark_responded(ticket: Ticket, at: datetime) -> None:
    state = timers.SlaState.from_record(ticket)
    if not state.started:
        ticket.responded_at = at
        return
    _apply(ticket, state, timers.responded(state, at), "responded", at)


def mark_resolved(ticket: Ticket, cal: BusinessCalendar, at: datetime) -> None:
    state = timers.SlaState.from_record(ticket)
    _apply(ticket, state, timers.resolved(state, cal, at), "resolved", at)


def reprioritise(
    ticket: Ticket, cal: BusinessCalendar, policy: Policy, old_priority: str, at: datetime
) -> None:
    """Recompute the due times after ``ticket.priority`` changed from ``old_priority``."""
    state = timers.SlaState.from_record(ticket)
    after = timers.change_priority(
        state,
        cal,
        targets_for(policy, ticket.priority),
        at,
        old_targets=targets_for(policy, old_priority),
    )
    _apply(ticket, state, after, "reprioritised", at, policy)
