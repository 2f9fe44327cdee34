"""The SLA sweep: warn before a target is missed, escalate when it is, page up the chain.

A scheduled job (every ``service.sweep_interval`` seconds) calls :func:`sweep`. It finds open
tickets whose running targets crossed their warning point (``sla.warn_at_percent`` of the
target, :func:`~maildesk.sla.timers.warning_at`; stored in the indexed ``response_warn_at`` /
``resolution_warn_at`` columns) or their due time (the indexed ``response_due_at`` /
``resolution_due_at`` columns), and mails:

- a **warning** (``sla_warning``) to the ticket's assignee, or to the whole staff list when
  nobody is assigned;
- a **breach** (``sla_breach``) to the *escalation list*: the assignee plus the people of
  the policy's ``oncall.chain`` (the secondary, the manager) when a chain is configured,
  otherwise the assignee plus the whole staff list. Each breach raises the ticket's
  ``escalation_level`` by one; a breach of a paging priority out of business hours also
  pages the on-call person (:func:`~maildesk.sla.paging.page_if_due`), if the ticket was
  never paged.

Rules:

- **Exactly once.** Each warning and breach happens once per ticket, target (``response``,
  ``resolution``) and level (``warning``, ``breach``): its ``Once`` key
  (``sla:{ticket_id}:{target}:{level}``) is claimed in the same transaction as the outbox row
  and the event, so a restart or a second daemon never sends it twice. A missed target that
  is paused and resumed (its due instant reset to the resume instant, see ``timers``) is
  therefore not a second breach, and a priority change does not re-arm a warning or breach
  already sent. A breach also claims the target's warning, unsent: a warning after the fact
  is noise.
- **Non-urgent notices wait for business hours.** For a priority that does not page
  (``oncall.pages``), warnings and breaches are sent only while the policy's calendar is
  open: they stay unclaimed and go out at the next opening, never at 3 a.m. on a Sunday.
  (A breach falling on the closing minute, 18:00 on Friday, goes out on Monday morning;
  no business minute is lost meanwhile.) Urgent ones go out at once, day or night.
- **Two daemons split the work.** Candidates are read first without locks; each ticket that
  has something to send is then handled in its own short transaction that locks its row with
  ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL (a row another sweep holds is skipped:
  that sweep is sending it) and re-checks under the lock. SQLite serialises writers, and
  the ``Once`` keys make the outcome the same.
- **Cost: only what is due is read.** The sweep selects, through the four indexes, the open
  tickets with a warn time or a due time at or before ``now``; a ticket whose warning lies
  ahead is never loaded. The warn time says from when to look, not what to send: while a
  target runs and its warning is unsent, its warn column is set and no later than
  ``max(warning point, the instant it was written)``. ``sla.clock`` writes the exact point
  where it knows it (start, priority change) and the transition instant where it does not
  (resume, reopening), as the 0003 migration writes the clock start for the tickets it
  finds running. So a warn time at or before ``now`` means "look": the sweep computes the
  point (``timers.warning_at``, current policy) and decides as it always did; a warn time
  after ``now`` is the exact point, not reached yet. Whenever the sweep reads a ticket it
  stores what the columns should hold (:func:`warn_times`): the exact point, or None once
  the warning is sent or superseded by a breach, or while the due time itself selects the
  ticket. Those writes are guarded by the values read, so a clock change committed
  meanwhile is never overwritten. A policy's ``warn_at_percent`` or targets changed in the
  config apply to warn times written afterwards, as they do to due times.

Page escalation (:func:`~maildesk.sla.paging.escalate_pages`) runs at the end of each sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import ColumnElement, Table, bindparam, or_, select, union, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from maildesk.core.clock import ensure_utc
from maildesk.core.localtime import format_local
from maildesk.core.policy import Policy
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, enqueue
from maildesk.sla import timers
from maildesk.sla.clock import calendar_for, targets_for
from maildesk.sla.paging import (
    escalate_pages,
    lock_ticket,
    page_if_due,
    resolve_people,
    ticket_policy,
)
from maildesk.store.db import Database
from maildesk.store.models import Client, Event, Once, Ticket
from maildesk.store.once import claim

__all__ = [
    "Notice",
    "SweepResult",
    "WarnTimes",
    "notice_key",
    "pending_notices",
    "sweep",
    "sweep_selection",
    "warn_times",
]

log = logging.getLogger(__name__)

Target = Literal["response", "resolution"]
Level = Literal["warning", "breach"]
TARGETS: tuple[Target, Target] = ("response", "resolution")
CLOSED_STATUSES = ("resolved", "closed")
_CHUNK = 200
_WRITE_CHUNK = 1000  # warn-time corrections per write transaction


@dataclass
class SweepResult:
    """What one sweep did."""

    warnings: int = 0
    breaches: int = 0
    held: int = 0  # non-urgent notices due but held until business hours
    pages: int = 0  # page escalations sent (first pages on breach count too)
    skipped: int = 0  # tickets locked by another sweep
    errors: int = 0  # tickets whose handling failed (logged; retried next sweep)
    read: int = 0  # tickets the sweep loaded (a warn or due time reached)
    warn_times_stored: int = 0  # warn columns corrected (exact point, or cleared)


@dataclass(frozen=True)
class Notice:
    """A warning or breach that is due for one target of a ticket."""

    target: Target
    level: Level
    due: datetime
    reached_at: datetime  # the warning point, or the due instant for a breach


def notice_key(ticket_id: int, target: str, level: str) -> str:
    """The ``Once`` key of a ticket's warning or breach for one target."""
    return f"sla:{ticket_id}:{target}:{level}"


WarnTimes = dict[Target, datetime | None]
"""What a ticket's ``response_warn_at`` / ``resolution_warn_at`` should hold, by target."""


def sweep_selection(now: datetime, dialect: str) -> ColumnElement[bool]:
    """The rows a sweep at ``now`` reads: a warn or a due time reached (each one indexed).

    Written per database so that each uses the four indexes: PostgreSQL turns the ``OR``
    into a ``BitmapOr`` of index scans, but SQLite (left without statistics) plans an
    ``OR`` of four ranges as a full scan; a union of one index search per column, looked
    up by primary key, it plans as written.
    """
    reached = [
        column <= now
        for column in (
            Ticket.response_warn_at,
            Ticket.resolution_warn_at,
            Ticket.response_due_at,
            Ticket.resolution_due_at,
        )
    ]
    if dialect == "sqlite":
        return Ticket.id.in_(union(*(select(Ticket.id).where(term) for term in reached)))
    return or_(*reached)


def pending_notices(
    ticket: Ticket, policy: Policy, now: datetime, claimed: frozenset[str]
) -> list[Notice]:
    """The warnings and breaches of ``ticket`` that are reached at ``now`` and not yet sent.

    A warning whose stored warn time lies after ``now`` is not reached (module notes, Cost).
    """
    return _assess(ticket, policy, now, claimed)[0]


def warn_times(ticket: Ticket, policy: Policy, now: datetime, claimed: frozenset[str]) -> WarnTimes:
    """What the warn columns of ``ticket`` should hold, seen from a sweep at ``now``.

    The warning point of each running target whose warning is neither sent nor superseded
    (``claimed``), or its stored warn time when that lies after ``now`` (already exact);
    None for the rest, and for a target already due, which its due time selects until the
    breach is sent.
    """
    return _assess(ticket, policy, now, claimed)[1]


def sweep(db: Database, ctx: MailContext, now: datetime) -> SweepResult:
    """Send every warning and breach due at ``now``, then escalate unacknowledged pages.

    Only tickets with a warn or due time at or before ``now`` are read (see the module notes).
    """
    result = SweepResult()
    for ticket_id in _candidates(db, ctx, now, result):
        try:
            with db.transaction() as session:
                ticket = lock_ticket(session, ticket_id)
                if ticket is None:
                    result.skipped += 1
                    continue
                _handle(session, ctx, ticket, now, result)
        except OperationalError:
            raise  # the database is away: the next sweep tries again
        except Exception:
            # One ticket that cannot be handled must not stop the others' notices; its
            # transaction rolled back, so it is tried again at the next sweep.
            result.errors += 1
            log.exception("SLA sweep: ticket id %d failed", ticket_id)
    result.pages += escalate_pages(db, ctx, now)
    if result.warnings or result.breaches or result.pages:
        log.info(
            "SLA sweep: %d warning(s), %d breach(es), %d page(s), %d held",
            result.warnings,
            result.breaches,
            result.pages,
            result.held,
        )
    return result


# -- internals ----------------------------------------------------------------------------------


def _assess(
    ticket: Ticket, policy: Policy, now: datetime, claimed: frozenset[str]
) -> tuple[list[Notice], WarnTimes]:
    """The notices reached at ``now`` and the warn columns ``ticket`` should hold.

    Warning points are computed only for targets not yet due whose warning is unsent and
    whose warn time is not ahead: a stored warn time after ``now`` is never later than the
    real point (see the module notes), so that warning is not reached yet.
    """
    found: list[Notice] = []
    warn: WarnTimes = {"response": None, "resolution": None}
    if ticket.status in CLOSED_STATUSES:
        return found, warn
    state = timers.SlaState.from_record(ticket)
    if not state.running:
        return found, warn
    points: timers.Warnings | None = None
    dues: tuple[tuple[Target, datetime | None], ...] = (
        ("response", state.response_due_at),
        ("resolution", state.resolution_due_at),
    )
    for target, due in dues:
        if due is None:
            continue
        if due <= now:
            if notice_key(ticket.id, target, "breach") not in claimed:
                found.append(Notice(target, "breach", due, due))
            continue
        if notice_key(ticket.id, target, "warning") in claimed:
            continue
        stored = _stored_warn(ticket)[target]
        if stored is not None and ensure_utc(stored) > now:
            warn[target] = stored
            continue
        if points is None:
            points = timers.warning_at(
                state,
                calendar_for(policy),
                targets_for(policy, ticket.priority),
                policy.sla.warn_at_percent,
            )
        point = points.response if target == "response" else points.resolution
        warn[target] = point
        if point is not None and point <= now:
            found.append(Notice(target, "warning", due, point))
    return found, warn


def _stored_warn(ticket: Ticket) -> WarnTimes:
    return {"response": ticket.response_warn_at, "resolution": ticket.resolution_warn_at}


def _set_warn(ticket: Ticket, warn: WarnTimes) -> None:
    ticket.response_warn_at = warn["response"]
    ticket.resolution_warn_at = warn["resolution"]


@dataclass(frozen=True)
class _WarnFix:
    """A warn column to correct, guarded by what the unlocked read saw."""

    ticket_id: int
    target: Target
    seen_warn: datetime | None
    seen_due: datetime | None
    value: datetime | None


def _store_warn_times(db: Database, fixes: list[_WarnFix]) -> int:
    """Write the corrected warn columns; a row whose clock changed since the read is left be.

    The guard (warn and due time as read) makes this safe without row locks: a transition
    committed meanwhile changed one of them, and its own warn time stands.
    """
    table = cast(Table, Ticket.__table__)
    stored = 0
    for start in range(0, len(fixes), _WRITE_CHUNK):
        # One statement per shape of guard (NULL or a value), sent as an executemany.
        shapes: dict[tuple[Target, bool, bool], list[dict[str, object]]] = {}
        for fix in fixes[start : start + _WRITE_CHUNK]:
            shape = (fix.target, fix.seen_warn is None, fix.seen_due is None)
            shapes.setdefault(shape, []).append(
                {
                    "fix_id": fix.ticket_id,
                    "fix_warn": fix.seen_warn,
                    "fix_due": fix.seen_due,
                    "fix_value": fix.value,
                }
            )
        with db.transaction() as session:
            conn = session.connection()
            for (target, no_warn, no_due), params in shapes.items():
                warn = table.c[f"{target}_warn_at"]
                due = table.c[f"{target}_due_at"]
                statement = (
                    update(table)
                    .where(
                        table.c.id == bindparam("fix_id"),
                        warn.is_(None) if no_warn else warn == bindparam("fix_warn"),
                        due.is_(None) if no_due else due == bindparam("fix_due"),
                    )
                    .values({warn: bindparam("fix_value", type_=warn.type)})
                )
                stored += conn.execute(statement, params).rowcount
    return stored


def _candidates(db: Database, ctx: MailContext, now: datetime, result: SweepResult) -> list[int]:
    """Ids of open tickets with a notice to send now (read without locks).

    Only tickets with a warn or due time reached are read. Tickets whose only notices are
    held until business hours are counted, not returned, so a weekend of held warnings costs
    no write transaction. The warn columns of the tickets read and not returned are set to
    what they should hold (``_handle`` does it for the others, under the lock).
    """
    ids: list[int] = []
    fixes: list[_WarnFix] = []
    with db.session() as session:
        tickets = session.scalars(
            select(Ticket)
            .where(Ticket.status.not_in(CLOSED_STATUSES), sweep_selection(now, db.dialect))
            .order_by(Ticket.id)
        ).all()
        result.read += len(tickets)
        for start in range(0, len(tickets), _CHUNK):
            chunk = tickets[start : start + _CHUNK]
            keys = [
                notice_key(t.id, target, level)
                for t in chunk
                for target in ("response", "resolution")
                for level in ("warning", "breach")
            ]
            claimed = frozenset(session.scalars(select(Once.key).where(Once.key.in_(keys))))
            for ticket in chunk:
                policy = ticket_policy(ctx.settings, ticket)
                notices, warn = _assess(ticket, policy, now, claimed)
                if notices and not _held(ticket, policy, now):
                    ids.append(ticket.id)
                    continue
                result.held += len(notices)
                stored = _stored_warn(ticket)
                fixes.extend(
                    _WarnFix(
                        ticket.id,
                        target,
                        stored[target],
                        getattr(ticket, f"{target}_due_at"),
                        warn[target],
                    )
                    for target in TARGETS
                    if stored[target] != warn[target]
                )
    if fixes:
        result.warn_times_stored += _store_warn_times(db, fixes)
    return ids


def _handle(
    session: Session, ctx: MailContext, ticket: Ticket, now: datetime, result: SweepResult
) -> None:
    """Send what is due for one locked ticket, re-checked inside the transaction."""
    policy = ticket_policy(ctx.settings, ticket)
    keys = [
        notice_key(ticket.id, target, level)
        for target in ("response", "resolution")
        for level in ("warning", "breach")
    ]
    claimed = frozenset(session.scalars(select(Once.key).where(Once.key.in_(keys))))
    notices, warn = _assess(ticket, policy, now, claimed)
    if _held(ticket, policy, now):
        result.held += len(notices)
        _set_warn(ticket, warn)
        return
    for notice in notices:
        # Sent here, or by another process that claimed it first: either way, done.
        warn[notice.target] = None
        if not claim(session, notice_key(ticket.id, notice.target, notice.level), now):
            continue
        if notice.level == "breach":
            claim(session, notice_key(ticket.id, notice.target, "warning"), now)
            ticket.escalation_level += 1
            _mail(session, ctx, ticket, policy, notice, _escalation_list(ctx, ticket, policy), now)
            result.breaches += 1
            if page_if_due(session, ctx, ticket, now, reason="breach") is not None:
                result.pages += 1
        else:
            recipients = (
                (ticket.assignee,)
                if ticket.assignee
                else tuple(sorted(ctx.settings.staff_addresses))
            )
            _mail(session, ctx, ticket, policy, notice, recipients, now)
            result.warnings += 1
    _set_warn(ticket, warn)


def _held(ticket: Ticket, policy: Policy, now: datetime) -> bool:
    """Whether ``ticket``'s notices wait for business hours: not urgent, office closed."""
    return ticket.priority not in policy.oncall.pages and not calendar_for(policy).is_open(now)


def _escalation_list(ctx: MailContext, ticket: Ticket, policy: Policy) -> tuple[str, ...]:
    """Who hears of a breach: the assignee, then the on-call chain's staff, else all staff."""
    people, _ = resolve_people(ctx.settings, policy.oncall.chain)
    others = [p.email for p in people] or sorted(ctx.settings.staff_addresses)
    return tuple(dict.fromkeys([*([ticket.assignee] if ticket.assignee else []), *others]))


def _mail(
    session: Session,
    ctx: MailContext,
    ticket: Ticket,
    policy: Policy,
    notice: Notice,
    recipients: tuple[str, ...],
    now: datetime,
) -> None:
    """Queue the notice (if anyone is there to read it) and record it as an event."""
    template = "sla_warning" if notice.level == "warning" else "sla_breach"
    if recipients:
        client = session.get(Client, ticket.client_id) if ticket.client_id else None
        lang = ctx.settings.service.language
        rendered = ctx.renderer.render(
            template,
            lang,
            tag=ctx.numbers.tag(ticket.number),
            number=ticket.number,
            subject=ticket.subject,
            target=notice.target,
            due=format_local(notice.due, policy.calendar.timezone, lang),
            priority=ticket.priority,
            client_name=client.name if client else None,
        )
        enqueue(
            session,
            Draft(
                kind=template,
                to=recipients,
                subject=rendered.subject,
                body=rendered.body,
                ticket_id=ticket.id,
                ticket_number=ticket.number,
            ),
            ctx.identity,
            now,
        )
    else:
        log.warning("ticket %s: SLA %s with nobody to tell", ticket.number, notice.level)
    detail: dict[str, object] = {
        "target": notice.target,
        "due": notice.due.isoformat(),
        "reached_at": notice.reached_at.isoformat(),
        "to": list(recipients),
    }
    if notice.level == "breach":
        detail["escalation_level"] = ticket.escalation_level
    session.add(Event(ticket_id=ticket.id, at=now, kind=f"sla_{notice.level}", detail=detail))
