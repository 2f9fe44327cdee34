"""A staff member's mail in a ticket's thread: commands, then the answer relayed to the client.

Only the new text counts (quotes and signature removed), so a ``#time`` line
quoted from an earlier mail never books again. Command lines are removed
before relaying. A mail with a command maildesk does not understand is not
relayed at all: the staff member gets a mail saying what was wrong, since a
mistyped ``#interal`` must never send an internal note to a client.

A staff address in From proves nothing: ``staff_gate`` decides first whether
the mail may act at all (see ``refuse_staff_mail``).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.contracts import Scope
from maildesk.billing.groups import begin_intervention
from maildesk.billing.quotes import create_quote
from maildesk.billing.timesheet import send_task_timesheet
from maildesk.billing.work import record_work, release
from maildesk.core.config import Settings
from maildesk.ingest.commands import Command, CommandProblem, ParsedReply, parse_commands
from maildesk.ingest.context import PipelineContext, hold, store_inbound
from maildesk.ingest.roles import Sender
from maildesk.mail.parse import InboundMail
from maildesk.mail.reply import extract_new_text
from maildesk.notify.audience import cc_recipients, screen, thread_people
from maildesk.notify.outbox import Draft, enqueue, enqueue_auto
from maildesk.report.satisfaction import ask_on_resolution
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

ENDED = ("resolved", "closed")
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|antw|réf|tr|fwd?)\s*:\s*)+", re.I)


def staff_gate(sender: Sender, settings: Settings) -> str | None:
    """Why a staff mail may not be obeyed or relayed, or None when it may.

    Its From must be vouched for by our receiving server when
    ``service.staff_authentication`` is on, and never be flagged: anyone can
    write a staff member's address into From.
    """
    if sender.from_flags:
        return "; ".join(sender.from_flags)
    if settings.service.staff_authentication and not sender.verified:
        return sender.verdict or "not authenticated"
    return None


def refuse_staff_mail(
    session: Session,
    mail: InboundMail,
    ticket: Ticket | None,
    source_key: str,
    raw_sha256: str,
    why: str,
    ctx: PipelineContext,
) -> None:
    """Hold a staff mail that failed ``staff_gate``; tell the staff member at their own address.

    Nothing of it is obeyed or relayed. The notice goes to the address in the
    config (never to a Reply-To), rate-limited like every automatic mail.
    """
    now = ctx.clock.now()
    hold(session, raw_sha256, source_key, "staff_unauthenticated", why, mail, now)
    session.add(
        Event(
            ticket_id=ticket.id if ticket else None,
            at=now,
            kind="staff_mail_unauthenticated",
            actor=mail.sender,
            detail={"message_id": mail.message_id, "reason": why},
        )
    )
    member = next((s.email for s in ctx.settings.staff if s.email == mail.sender), mail.sender)
    rendered = ctx.renderer.render(
        "staff_unauthenticated",
        ctx.settings.service.language,
        subject=mail.subject or "(no subject)",
        reason=why,
        support_name=ctx.identity.name,
    )
    enqueue_auto(
        session,
        Draft(
            kind="staff_unauthenticated",
            to=(member,),
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id if ticket else None,
        ),
        ctx.identity,
        now,
        ctx.settings.service.auto_mails_per_hour,
    )


def _staff_name(settings: Settings, address: str) -> str:
    return next((s.name for s in settings.staff if s.email == address), address)


def _staff_by_name(settings: Settings, name: str) -> str | None:
    wanted = name.strip().lower()
    for member in settings.staff:
        if wanted in (member.name.lower(), member.email, member.email.split("@")[0]):
            return member.email
    return None


def _check_assignees(settings: Settings, parsed: ParsedReply) -> ParsedReply:
    """An ``#assign`` that names nobody on the staff is a problem, not an assignee.

    The assignee receives the staff notices and SLA mail about the ticket, with
    the client's text: it must be one of the staff.
    """
    unknown = [
        c
        for c in parsed.commands
        if c.name == "assign" and _staff_by_name(settings, c.value or "") is None
    ]
    if not unknown:
        return parsed
    names = ", ".join(s.name for s in settings.staff) or "none configured"
    return ParsedReply(
        parsed.text,
        tuple(c for c in parsed.commands if c not in unknown),
        (
            *parsed.problems,
            *(
                CommandProblem(c.line_no, c.raw, f"#assign {c.value}: not a staff member ({names})")
                for c in unknown
            ),
        ),
    )


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
            if old in ("resolved", "closed"):
                begin_intervention(ticket)
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
    reply_text: str,
) -> None:
    actor = mail.sender
    detail: dict[str, object] = {"line": command.raw}
    if command.name in ("priority", "status", "assign") and command.value:
        detail.update(change_ticket(session, ctx.settings, ticket, command, actor, now))
        ended = ("resolved", "closed")
        if (
            command.name == "status"
            and detail.get("new") in ended
            and detail.get("old") not in ended
        ):
            detail.update(satisfaction_asked=ask_on_resolution(session, ctx, ticket, now))
    elif command.name == "cc" and command.value:
        detail.update(address=command.value)
    elif command.name in ("billable", "included"):
        ticket.scope = command.name
        if command.name == "billable":  # bills held work that waited for this mark
            detail.update(released=release(session, ctx, ticket, actor, "marked #billable"))
    elif command.name == "time" and command.minutes is not None:
        booking = record_work(
            session,
            ctx,
            ticket,
            command.minutes,
            actor,
            f"time:{mail.message_id}:{command.line_no}",
            source=command.raw,
            description=command.text or _first_line(reply_text),
            scope=_line_scope(command.value),
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


def _first_line(text: str) -> str:
    """The first line of the reply's text: what the work was when ``#time`` does not say."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _line_scope(value: str | None) -> Scope | None:
    if value == "included":
        return "included"
    return "billable" if value == "billable" else None


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
    parsed = _check_assignees(ctx.settings, parse_commands(extract_new_text(mail.text)))
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
    ended = ticket.status in ENDED
    for command in ordered:
        _apply(session, ticket, command, mail, ctx, now, reply_text=parsed.text)
    if not ended and ticket.status in ENDED:  # the task is done: its timesheet, if due
        send_task_timesheet(session, ctx, ticket, now)
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
    recipients = screen(
        session, ctx.settings, ticket, thread_people(session, ctx.settings, ticket), "relay", now
    )
    added = cc_recipients(session, ticket.id)
    rendered = ctx.renderer.render(
        "relay",
        ticket.language,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=_REPLY_PREFIX.sub("", ticket.subject),
        text=parsed.text.strip(),
        staff_name=_staff_name(ctx.settings, mail.sender),
        support_name=ctx.identity.name,
        also_to=", ".join(a for a in added if a in recipients),
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
