"""Booking a staff member's ``#time`` entry under the client's contract.

:func:`record_work` is the one call the staff-reply path makes per ``#time``
line, inside the mail's transaction. Rules (the ledger's own are in
:mod:`maildesk.billing.ledger`, the billing rules in
:mod:`maildesk.billing.contracts`, the notices in :mod:`maildesk.billing.notices`):

- **Once per key.** The caller's ``key`` (e.g. ``time:<Message-ID>:<line>``)
  is the booking's idempotency key: the same key again books nothing and
  returns ``status="duplicate"``.
- **Held until approved.** On a ticket whose ``approval`` is ``"pending"``
  (opened by a contact who may not draw on the hours) nothing is written to
  the ledger: the entry is kept as a ``time_held`` event (its key claimed as
  ``held:KEY``) and booked, under the same key, when an authorised contact
  approves (:func:`release_held`), dated at the approval. Held time is never
  billed before that; if approval never comes, it stays held for staff to
  decide.
- **No client, no booking.** Work on a ticket with no client is recorded as a
  ``time_unbooked`` event only (there is no ledger to book it on).
- The starter grant is given on the client's first booking if start-up did
  not give it already; due expiries are written off before drawing.
- **Billed by group.** How much a line bills is decided by
  :mod:`maildesk.billing.contracts` over the ticket's current group
  (:mod:`maildesk.billing.groups`): the difference between the group's billed
  total with the line and without it. :func:`release` bills what a group's
  held lines owe once they may be billed (a quote accepted, ``#billable``).
- Under ``quote_required``, the staff member who books time on a ticket
  without an accepted quote is told once per ticket (``unquoted_time``).
- Then the notices (low balance, used up). The task's timesheet goes out when
  the ticket is resolved (:mod:`maildesk.billing.timesheet`); the line's
  ``description`` (the text after ``#time``'s duration) is kept for it in the
  ``time_booked`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing import contracts, groups, ledger
from maildesk.billing.mailing import queue
from maildesk.billing.notices import balance_notices
from maildesk.notify.context import MailContext
from maildesk.store.models import Client, Event, LedgerEntry, Ticket
from maildesk.store.once import claim, claimed

__all__ = ["WorkBooking", "record_work", "release", "release_held"]

Status = Literal["booked", "held", "duplicate", "no_client", "nothing"]


@dataclass(frozen=True)
class WorkBooking:
    """What became of one ``#time`` entry (all durations in minutes)."""

    status: Status
    raw: int
    billed: int = 0
    drawn: int = 0
    at_rate: int = 0
    category: str = ""
    remaining: int | None = None
    """Prepaid minutes left after the booking (None: not a prepaid contract)."""
    notices: tuple[str, ...] = ()
    """Mails queued: ``low_balance``, ``balance_zero``, ``unquoted_time``."""
    owed: int = 0
    """Minutes beyond a prepaid contract without a rate: owed, paid by the next purchase."""


def record_work(
    session: Session,
    ctx: MailContext,
    ticket: Ticket,
    raw_minutes: int,
    actor: str,
    key: str,
    *,
    source: str = "",
    description: str = "",
    scope: contracts.Scope | None = None,
) -> WorkBooking:
    """Book ``raw_minutes`` of work by ``actor`` on ``ticket`` (see the module's rules).

    ``source`` says where the entry came from for people (e.g. the mail's
    Message-ID and line); ``description`` what the work was, for the task's
    timesheet. ``scope`` is the line's own mark (``#time 30m #included``),
    which wins over the ticket's.
    """
    if raw_minutes <= 0:
        raise ValueError(f"work time must be positive, not {raw_minutes} minutes")
    now = ctx.clock.now()
    stored = ledger.entry_key(key)
    client = ledger.lock_client(session, ticket.client_id) if ticket.client_id else None
    if client is None:
        session.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind="time_unbooked",
                actor=actor,
                detail={"minutes": raw_minutes, "reason": "ticket has no client"},
            )
        )
        return WorkBooking("no_client", raw_minutes)
    if ledger.is_booked(session, stored) or claimed(session, f"held:{stored}"):
        return WorkBooking("duplicate", raw_minutes)
    if ticket.approval == "pending":
        claim(session, f"held:{stored}", now)
        session.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind="time_held",
                actor=actor,
                detail={
                    "key": stored,
                    "minutes": raw_minutes,
                    "source": source,
                    "description": description,
                    "scope": scope,
                },
            )
        )
        return WorkBooking("held", raw_minutes)
    return _book(
        session, ctx, ticket, client, raw_minutes, actor, stored, source, now, description, scope
    )


def release_held(session: Session, ctx: MailContext, ticket: Ticket) -> list[WorkBooking]:
    """Book the ticket's held entries (after approval); each key books once."""
    client = ledger.lock_client(session, ticket.client_id) if ticket.client_id else None
    if client is None:
        return []
    now = ctx.clock.now()
    held = session.scalars(
        select(Event)
        .where(Event.ticket_id == ticket.id, Event.kind == "time_held")
        .order_by(Event.id)
    ).all()
    pending = [e for e in held if not ledger.is_booked(session, str(e.detail["key"]))]
    return [
        _book(
            session,
            ctx,
            ticket,
            client,
            int(event.detail["minutes"]),
            event.actor,
            str(event.detail["key"]),
            str(event.detail.get("source", "")),
            now,
            description=str(event.detail.get("description") or ""),
            scope=_scope(event.detail.get("scope")),
        )
        for event in pending
    ]


def release(session: Session, ctx: MailContext, ticket: Ticket, actor: str, why: str) -> int:
    """Bill the ticket's current group up to what it now owes (a quote accepted, ``#billable``).

    Held lines counted in the group's total are billed by one new entry (no
    worked minutes of its own, dated now); returns the minutes it billed.
    """
    client = ledger.lock_client(session, ticket.client_id) if ticket.client_id else None
    if client is None or ticket.approval == "pending":  # approval releases its own
        return 0
    group = groups.current_group(session, ticket)
    key = ledger.entry_key(f"release:{ticket.id}:{group.name}:{group.billed}")
    if ledger.is_booked(session, key):
        return 0
    booking = _book(session, ctx, ticket, client, 0, actor, key, why, ctx.clock.now())
    return booking.billed


def _book(
    session: Session,
    ctx: MailContext,
    ticket: Ticket,
    client: Client,
    raw: int,
    actor: str,
    key: str,
    source: str,
    now: datetime,
    description: str = "",
    scope: contracts.Scope | None = None,
) -> WorkBooking:
    _, policy = ctx.settings.policy_for(client.key)
    billing = policy.billing
    ledger.grant_starter(session, client, ledger.hours_to_minutes(billing.starter_grant_hours), now)
    on = now.astimezone(ZoneInfo(policy.calendar.timezone)).date()
    group = groups.current_group(session, ticket)
    decision = contracts.decide(
        billing,
        line_scope=scope,
        ticket_scope=_scope(ticket.scope),
        quote=group.quote,
        quoted=group.quoted,
        on=on,
    )
    terms = decision.terms
    billed = 0
    if decision.bills:
        total = contracts.group_total(terms.rounding, group.worked + raw, decision.quoted)
        billed = max(0, total - group.billed)
    if raw == 0 and billed == 0:  # a release with nothing to bill writes nothing
        return WorkBooking("nothing", 0)
    draws: list[tuple[int, int]] = []
    at_rate = billed if terms.mode == "rate" else 0
    owed = 0
    category: str = decision.category
    bundles: list[ledger.Bundle] = []
    if terms.mode == "prepaid" and decision.bills:
        # Read once: an expired bundle is not live, so writing it off changes
        # nothing below (``last_bundle`` reads only its id, date and size).
        bundles = ledger.bundles(session, client.id)
        ledger.expire_bundles(session, client.id, now, bundles)
        live = [(b.id, b.remaining) for b in bundles if b.live(now)]
        draws, short = contracts.allocate(live, billed)
        # Beyond the bundles: billed at the rate, or owed without one.
        if billing.hourly_rate > 0:
            at_rate = short
        else:
            owed = short
        if short and not draws:
            category = "overage" if at_rate else "debt"

    # One row per bundle drawn, one for what is billed at the rate, one for what
    # is owed (or one for nothing billed at all); the first row carries the key
    # and the worked time.
    parts: list[tuple[int, int | None, str]] = [(m, b, "prepaid") for b, m in draws]
    if at_rate:
        parts.append((at_rate, None, "overage" if terms.mode == "prepaid" else terms.category))
    if owed:
        parts.append((owed, None, ledger.DEBT_REFERENCE))
    if not parts:
        parts.append((0, None, decision.category))
    for i, (minutes, bundle_id, reference) in enumerate(parts):
        session.add(
            LedgerEntry(
                client_id=client.id,
                at=now,
                kind="work",
                minutes=-minutes,
                raw_minutes=raw if i == 0 else 0,
                bundle_id=bundle_id,
                ticket_id=ticket.id,
                actor=actor,
                reference=reference,
                note=source,
                idempotency_key=key if i == 0 else f"{key}#part{i + 1}",
                billing_group=group.name,
            )
        )
    if at_rate:
        session.add(
            LedgerEntry(
                client_id=client.id,
                at=now,
                kind="adjustment",
                minutes=at_rate,
                ticket_id=ticket.id,
                actor=actor,
                reference=ledger.RATE_REFERENCE,
                note=f"{at_rate} min billed at the hourly rate ({parts[-1][2]})",
                idempotency_key=key + "#rate",
            )
        )
    session.flush()
    drawn = billed - at_rate - owed
    remaining: int | None = None
    notices: tuple[str, ...] = ()
    if billing.kind == "prepaid":
        # The balance as the client sees it: hours left, or below zero hours owed.
        remaining = ledger.balance(session, client.id, now).minutes
    if terms.mode == "prepaid" and decision.bills:
        notices = balance_notices(
            session,
            ctx,
            client,
            billing,
            now,
            remaining=remaining if remaining is not None else 0,
            last_bundle=max(bundles, key=lambda b: (b.at, b.id), default=None),
            drawn=drawn,
            overage=at_rate + owed,
        )
    if decision.category == "unquoted" and _tell_unquoted(session, ctx, ticket, actor, now):
        notices = (*notices, "unquoted_time")
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind="time_booked",
            actor=actor,
            detail={
                "key": key,
                "raw": raw,
                "billed": billed,
                "drawn": drawn,
                "at_rate": at_rate,
                "owed": owed,
                "category": category,
                "group": group.name,
                "description": description,
            },
        )
    )
    return WorkBooking("booked", raw, billed, drawn, at_rate, category, remaining, notices, owed)


def _scope(value: str | None) -> contracts.Scope | None:
    if value == "included":
        return "included"
    return "billable" if value == "billable" else None


def _tell_unquoted(
    session: Session, ctx: MailContext, ticket: Ticket, actor: str, now: datetime
) -> bool:
    """Tell the staff member, once per ticket, that its time waits for a quote or #billable."""
    if not claim(session, f"unquoted:{ticket.id}", now):
        return False
    to = actor if any(s.email == actor for s in ctx.settings.staff) else None
    if to is None:
        return False
    return queue(
        session,
        ctx,
        "unquoted_time",
        ctx.settings.service.language,
        (to,),
        now,
        ticket=ticket,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
    )
