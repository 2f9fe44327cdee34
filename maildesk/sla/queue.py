"""The staff queue: tickets with their next due time and SLA state, filtered and ordered.

``maildesk tickets list`` and the daily queue digest read tickets through
:func:`queue`, so both say the same about what is late. The SLA state is the
one the sweep acts on: ``breached`` once a running target is past its due
time, ``warning`` once it has used the policy's ``warn_at_percent``, else
``running``, ``paused`` (waiting on the client), ``not started`` (the report
is incomplete) or ``stopped`` (resolved or closed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from maildesk.core.config import Settings
from maildesk.sla import timers
from maildesk.sla.clock import calendar_for, targets_for
from maildesk.store.models import Client, Ticket

ENDED = ("resolved", "closed")
SlaName = Literal["breached", "warning", "running", "paused", "not started", "stopped"]
# Breaches first, then warnings, then the rest: the order the digest and --sort due use.
URGENCY: dict[str, int] = {"breached": 0, "warning": 1, "running": 2, "not started": 3}
Sort = Literal["due", "newest", "oldest"]


@dataclass(frozen=True)
class QueueFilter:
    """Which tickets: every field left empty means "any"."""

    statuses: tuple[str, ...] = ()
    client: str | None = None
    priorities: tuple[str, ...] = ()
    assignee: str | None = None
    """A staff address, or ``none`` for unassigned tickets."""
    overdue: bool = False
    due_before: datetime | None = None
    limit: int | None = None


@dataclass(frozen=True)
class QueueRow:
    """One ticket as the queue shows it."""

    number: str
    client: str
    priority: str
    status: str
    assignee: str | None
    next_due: datetime | None
    created_at: datetime
    subject: str
    requester: str
    sla: SlaName
    response_due: datetime | None
    resolution_due: datetime | None


def next_due(state: timers.SlaState) -> datetime | None:
    """The earliest due instant of a running target (None while paused or done)."""
    if not state.running:
        return None
    dues = [
        due
        for due, is_open in (
            (state.response_due_at, state.response_open),
            (state.resolution_due_at, state.resolution_open),
        )
        if is_open and due is not None
    ]
    return min(dues, default=None)


def sla_state(ticket: Ticket, settings: Settings, now: datetime) -> SlaName:
    """What the SLA clock says about ``ticket`` at ``now``."""
    if ticket.status in ENDED:
        return "stopped"
    state = timers.SlaState.from_record(ticket)
    if not state.started:
        return "not started"
    if state.paused:
        return "paused"
    due = next_due(state)
    if due is None:
        return "stopped"
    if due <= now:
        return "breached"
    policy = settings.policies.get(ticket.policy) or settings.policies["default"]
    cal = calendar_for(policy)
    warnings = timers.warning_at(
        state, cal, targets_for(policy, ticket.priority), policy.sla.warn_at_percent
    )
    if any(w is not None and w <= now for w in warnings):
        return "warning"
    return "running"


def _query(wanted: QueueFilter, now: datetime) -> Select[Ticket, str]:
    query = select(Ticket, Client.key).outerjoin(Client, Client.id == Ticket.client_id)
    if wanted.statuses:
        query = query.where(Ticket.status.in_(wanted.statuses))
    if wanted.client:
        query = query.where(Client.key == wanted.client)
    if wanted.priorities:
        query = query.where(Ticket.priority.in_(wanted.priorities))
    if wanted.assignee == "none":
        query = query.where(Ticket.assignee.is_(None))
    elif wanted.assignee:
        query = query.where(Ticket.assignee == wanted.assignee)
    due_limit = now if wanted.overdue else wanted.due_before
    if wanted.overdue and wanted.due_before is not None:
        due_limit = min(now, wanted.due_before)
    if due_limit is not None:
        query = query.where(
            Ticket.status.not_in(ENDED),
            Ticket.paused_at.is_(None),
            or_(
                (Ticket.response_due_at < due_limit) & Ticket.responded_at.is_(None),
                Ticket.resolution_due_at < due_limit,
            ),
        )
    return query


def queue(
    session: Session,
    settings: Settings,
    now: datetime,
    wanted: QueueFilter,
    sort: Sort = "newest",
) -> list[QueueRow]:
    """The tickets ``wanted`` selects, ordered by ``sort``.

    ``due`` puts breaches first, then warnings, then by next due time (tickets
    with none last, newest first); ``newest`` and ``oldest`` order by number.
    """
    query = _query(wanted, now)
    if sort != "due":
        query = query.order_by(Ticket.id.desc() if sort == "newest" else Ticket.id)
        if wanted.limit:
            query = query.limit(wanted.limit)
    rows = []
    for ticket, key in session.execute(query).all():
        state = timers.SlaState.from_record(ticket)
        rows.append(
            QueueRow(
                number=ticket.number,
                client=key or "",
                priority=ticket.priority,
                status=ticket.status,
                assignee=ticket.assignee,
                next_due=next_due(state),
                created_at=ticket.created_at,
                subject=ticket.subject,
                requester=ticket.requester,
                sla=sla_state(ticket, settings, now),
                response_due=state.response_due_at if state.response_open else None,
                resolution_due=state.resolution_due_at if state.resolution_open else None,
            )
        )
    if sort == "due":
        rows.sort(key=due_order)
        if wanted.limit:
            rows = rows[: wanted.limit]
    return rows


def due_order(row: QueueRow) -> tuple[int, float, int]:
    """Breaches, then warnings, then by next due time; tickets with no due time last."""
    urgency = URGENCY.get(row.sla, 4)
    due = row.next_due.timestamp() if row.next_due else float("inf")
    return (urgency, due, -int(row.created_at.timestamp()))
