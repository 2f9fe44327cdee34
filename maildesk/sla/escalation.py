"""The SLA sweep: warn before a target is missed, escalate when it is, page up the chain.

A scheduled job (every ``service.sweep_interval`` seconds) calls :func:`sweep`. It finds open
tickets whose running targets crossed their warning point (``sla.warn_at_percent`` of the
target, :func:`~maildesk.sla.timers.warning_at`) or their due time (the indexed
``response_due_at`` / ``resolution_due_at`` columns), and mails:

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
- **Cost.** Every running ticket is read each sweep; its warning points are memoised per
  clock state (due instants, targets, calendar), so after the first sweep only tickets whose
  clock changed are recomputed.

Page escalation (:func:`~maildesk.sla.paging.escalate_pages`) runs at the end of each sweep.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from maildesk.core.localtime import format_local
from maildesk.core.policy import Policy
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, enqueue
from maildesk.sla import timers
from maildesk.sla.calendar import BusinessCalendar
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

__all__ = ["Notice", "SweepResult", "notice_key", "pending_notices", "sweep"]

log = logging.getLogger(__name__)

Target = Literal["response", "resolution"]
Level = Literal["warning", "breach"]
CLOSED_STATUSES = ("resolved", "closed")
_CHUNK = 200


@dataclass
class SweepResult:
    """What one sweep did."""

    warnings: int = 0
    breaches: int = 0
    held: int = 0  # non-urgent notices due but held until business hours
    pages: int = 0  # page escalations sent (first pages on breach count too)
    skipped: int = 0  # tickets locked by another sweep
    errors: int = 0  # tickets whose handling failed (logged; retried next sweep)


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


@lru_cache(maxsize=8192)
def _warning_points(
    state: timers.SlaState, cal: BusinessCalendar, targets: timers.Targets, percent: int
) -> timers.Warnings:
    """``timers.warning_at``, memoised: a clock state's warning points never change."""
    return timers.warning_at(state, cal, targets, percent)


def pending_notices(
    ticket: Ticket, policy: Policy, now: datetime, claimed: frozenset[str]
) -> list[Notice]:
    """The warnings and breaches of ``ticket`` that are reached at ``now`` and not yet sent."""
    if ticket.status in CLOSED_STATUSES:
        return []
    state = timers.SlaState.from_record(ticket)
    if not state.running:
        return []
    cal = calendar_for(policy)
    points = _warning_points(
        state, cal, targets_for(policy, ticket.priority), policy.sla.warn_at_percent
    )
    found: list[Notice] = []
    targets: tuple[tuple[Target, datetime | None, datetime | None], ...] = (
        ("response", state.response_due_at, points.response),
        ("resolution", state.resolution_due_at, points.resolution),
    )
    for target, due, point in targets:
        if due is None:
            continue
        if due <= now:
            if notice_key(ticket.id, target, "breach") not in claimed:
                found.append(Notice(target, "breach", due, due))
        elif (
            point is not None
            and point <= now
            and notice_key(ticket.id, target, "warning") not in claimed
        ):
            found.append(Notice(target, "warning", due, point))
    return found


def sweep(db: Database, ctx: MailContext, now: datetime) -> SweepResult:
    """Send every warning and breach due at ``now``, then escalate unacknowledged pages."""
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


def _candidates(db: Database, ctx: MailContext, now: datetime, result: SweepResult) -> list[int]:
    """Ids of running tickets with a notice to send now (read without locks).

    Tickets whose only notices are held until business hours are counted, not returned, so a
    weekend of held warnings costs no write transaction.
    """
    ids: list[int] = []
    with db.session() as session:
        tickets = session.scalars(
            select(Ticket)
            .where(
                Ticket.status.not_in(CLOSED_STATUSES),
                or_(Ticket.response_due_at.is_not(None), Ticket.resolution_due_at.is_not(None)),
            )
            .order_by(Ticket.id)
        ).all()
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
                notices = pending_notices(ticket, policy, now, claimed)
                if notices and _held(ticket, policy, now):
                    result.held += len(notices)
                elif notices:
                    ids.append(ticket.id)
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
    notices = pending_notices(ticket, policy, now, claimed)
    if _held(ticket, policy, now):
        result.held += len(notices)
        return
    for notice in notices:
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
