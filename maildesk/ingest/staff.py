"""A staff member's mail in a ticket's thread: commands, then the answer relayed to the client.

Only the new text counts (quotes and signature removed), so a ``#time`` line
quoted from an earlier mail never books again. Command lines are removed
before relaying. A mail with a command maildesk does not understand is not
relayed at all: the staff member gets a mail saying what was wrong, since a
mistyped ``#interal`` must never send an internal note to a client.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.quotes import create_quote
from maildesk.billing.work import record_work
from maildesk.core.config import Settings
from maildesk.ingest.commands import Command, ParsedReply, parse_commands
from maildesk.ingest.context import PipelineContext, store_inbound
from maildesk.ingest.parse import InboundMail
from maildesk.ingest.reply import extract_new_text
from maildesk.notify.outbox import Draft, enqueue
from maildesk.sla.clock import (
    calendar_for,
    mark_resolved,
    mark_responded,
    pause_clock,
    reprioritise,
    resume_clock,
)
from maildesk.sla.paging import acknowledge, is_page_reply
from maildesk.store.models import Client, Event, Message, Ticket

_REPLY_PREFIX = re.compile(r"^\s*((re|aw|antw|réf|tr|fwd?)\s*:\s*)+", re.I)


def _staff_name(settings: Settings, address: str) -> str:
    return next((s.name for s in settings.staff if s.email == address), address)


def _staff_by_name(settings: Settings, name: str) -> str | None:
    wanted = name.strip().lower()
    for member in settings.staff:
        if wanted in (member.name.lower(), member.email, member.email.split("@")[0]):
            return member.email
    return None


def _client_recipients(session: Session, ticket: Ticket) -> tuple[str, ...]:
    """The client's people on the ticket: everyone who wrote in from the client side."""
    senders = session.scalars(
        select(Message.sender).where(
            Message.ticket_id == ticket.id,
            Message.direction == "in",
            Message.disposition.in_(("report", "follow_up")),
        )
    ).all()
    ordered = dict.fromkeys([ticket.requester, *senders])
    return tuple(ordered)


def change_ticket(
    session: Session,
    settings: Settings,
    ticket: Ticket,
    command: Command,
    actor: str,
    now: datetime,
) -> dict[str, object]:
    """Apply ``#priority``, ``#status`` or ``#assign``: by mail, or ``maildesk tickets``.

    Moves the SLA clock as the change requires and returns what changed, for
    the event the caller records.
    """
    _, policy = settings.policy_for(_client_key(session, ticket))
    cal = calendar_for(policy)
    detail: dict[str, object] = {}
    if command.name == "priority" and command.value:
        old = ticket.priority
        ticket.priority = command.value
        ticket.priority_rule = f"changed by {actor}"
        reprioritise(ticket, cal, policy, old, now)
        detail.update(old=old, new=command.value)
    elif command.name == "status" and command.value:
        new = "waiting" if command.value == "waiting" else command.value
        old = ticket.status
        if new == "waiting":
            pause_clock(ticket, cal, now)
        elif new in ("resolved", "closed"):
            mark_resolved(ticket, cal, now)
            if new == "closed":
                ticket.closed_at = now
        elif new == "open" and old in ("waiting", "awaiting_info", "resolved", "closed"):
            resume_clock(ticket, cal, now)
            ticket.closed_at = None
        ticket.status = new
        detail.update(old=old, new=new)
    elif command.name == "assign" and command.value:
        email = _staff_by_name(settings, command.value) or command.value.lower()
        ticket.assignee = email
        detail.update(assignee=email)
    ticket.updated_at = now
    return detail


def _apply(
    session: Session,
    ticket: Ticket,
    command: Command,
    mail: InboundMail,
    ctx: PipelineContext,
    now: datetime,
    *,
    last_time_line: int,
) -> None:
    actor = mail.sender
    detail: dict[str, object] = {"line": command.raw}
    if command.name in ("priority", "status", "assign") and command.value:
        detail.update(change_ticket(session, ctx.settings, ticket, command, actor, now))
    if command.name in ("billable", "included"):
        ticket.billable = command.name == "billable"
    elif command.name == "time" and command.minutes is not None:
        booking = record_work(
            session,
            ctx,
            ticket,
            command.minutes,
            actor,
            f"time:{mail.message_id}:{command.line_no}",
            source=command.raw,
            timesheet=command.line_no == last_time_line,
        )
        detail.update(minutes=command.minutes, booking=booking.status, billed=booking.billed)
    elif command.name == "quote" and command.minutes is not None and command.text:
        quote = create_quote(session, ctx, ticket, command.minutes, command.text, actor)
        detail.update(minutes=command.minutes, quote_id=quote.id)
    session.add(
        Event(
            ticket_id=ticket.id, at=now, kind=f"command_{command.name}", actor=actor, detail=detail
        )
    )


def _client_key(session: Session, ticket: Ticket) -> str | None:
    client = session.get(Client, ticket.client_id) if ticket.client_id else None
    return client.key if client else None


def _problems_mail(
    session: Session,
    mail: InboundMail,
    ticket: Ticket,
    parsed: ParsedReply,
    ctx: PipelineContext,
    now: datetime,
) -> None:
    rendered = ctx.renderer.render(
        "command_problems",
        ctx.settings.service.language,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        support_name=ctx.identity.name,
        problems=[
            {"line_no": p.line_no, "raw": p.raw, "message": p.message} for p in parsed.problems
        ],
    )
    enqueue(
        session,
        Draft(
            kind="command_problems",
            to=(mail.sender,),
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id,
            in_reply_to=mail.message_id,
            ticket_number=ticket.number,
        ),
        ctx.identity,
        now,
    )


def staff_mail(
    session: Session,
    mail: InboundMail,
    ticket: Ticket,
    source_key: str,
    raw_sha256: str,
    ctx: PipelineContext,
) -> None:
    """Apply a staff reply: commands, relay to the client, first response, assignee."""
    now = ctx.clock.now()
    store_inbound(session, mail, ticket.id, source_key, raw_sha256, "staff", now)
    parsed = parse_commands(extract_new_text(mail.text))
    ticket.updated_at = now
    # Any mail from a paged person in the thread, or a #ack line, acknowledges the page.
    explicit_ack = any(c.name == "ack" for c in parsed.commands)
    acknowledge(
        session, ctx, ticket, mail.sender, now, explicit=explicit_ack, message_id=mail.message_id
    )
    if parsed.problems:
        session.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind="staff_mail_refused",
                actor=mail.sender,
                detail={"problems": [p.message for p in parsed.problems]},
            )
        )
        _problems_mail(session, mail, ticket, parsed, ctx, now)
        return
    # The scope of the work (#billable, #included) first, so that #time books under it.
    ordered = sorted(parsed.commands, key=lambda c: c.name not in ("billable", "included"))
    time_lines = [c.line_no for c in parsed.commands if c.name == "time"]
    for command in ordered:
        _apply(session, ticket, command, mail, ctx, now, last_time_line=max(time_lines, default=0))
    # A reply to the [PAGE] mail itself is an internal ack, never relayed to the client.
    internal = any(c.name == "internal" for c in parsed.commands) or is_page_reply(
        session, mail.in_reply_to
    )
    if internal or not parsed.text.strip():
        session.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind="internal_note" if internal else "staff_commands",
                actor=mail.sender,
                detail={"message_id": mail.message_id},
            )
        )
        return
    recipients = _client_recipients(session, ticket)
    rendered = ctx.renderer.render(
        "relay",
        ticket.language,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=_REPLY_PREFIX.sub("", ticket.subject),
        text=parsed.text.strip(),
        staff_name=_staff_name(ctx.settings, mail.sender),
        support_name=ctx.identity.name,
    )
    last_client = session.scalars(
        select(Message.message_id)
        .where(
            Message.ticket_id == ticket.id,
            Message.direction == "in",
            Message.sender.in_(recipients),
        )
        .order_by(Message.id.desc())
        .limit(1)
    ).first()
    enqueue(
        session,
        Draft(
            kind="relay",
            to=recipients,
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id,
            in_reply_to=last_client,
            auto=False,
            ticket_number=ticket.number,
        ),
        ctx.identity,
        now,
    )
    if ticket.assignee is None:
        ticket.assignee = mail.sender
    mark_responded(ticket, now)
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind="staff_reply_relayed",
            actor=mail.sender,
            detail={"to": list(recipients)},
        )
    )
