"""A client's report: a new ticket, or a follow-up on one.

A new report gets a number, a priority (the rule that chose it is recorded)
and an intake check against what the client's contract requires. When
something is missing the ticket waits in ``awaiting_info`` with the SLA clock
stopped, and the client gets one mail naming exactly what is missing. Every
later mail in the thread re-checks the ticket as a whole; once complete, the
ticket opens, the clock runs, and the client is told the priority and when to
expect a response, in local business time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from maildesk.billing.approval import answer_approval, request_approval
from maildesk.billing.groups import begin_intervention
from maildesk.billing.ledger import Balance, balance
from maildesk.billing.quotes import answer_quote
from maildesk.core.config import Settings
from maildesk.core.durations import format_minutes
from maildesk.core.localtime import format_local
from maildesk.core.policy import Policy
from maildesk.ingest.context import PipelineContext, store_inbound
from maildesk.ingest.intake import ReportPart, check_report
from maildesk.ingest.language import choose_language
from maildesk.ingest.notice_audience import notice_recipients
from maildesk.ingest.priority import decide_priority
from maildesk.ingest.roles import Role, Sender
from maildesk.mail.parse import Attachment as MailAttachment
from maildesk.mail.parse import InboundMail
from maildesk.mail.reply import extract_new_text
from maildesk.notify.audience import screen
from maildesk.notify.outbox import Draft, enqueue, enqueue_auto
from maildesk.sla.clock import calendar_for, pause_clock, resume_clock, start_clock
from maildesk.sla.paging import page_if_due
from maildesk.sla.unsure import notify_unsure
from maildesk.store.directory import client_info, contact_by_email
from maildesk.store.models import Attachment, Event, Message, Ticket
from maildesk.store.tickets import allocate_number

REPORT_DISPOSITIONS = ("report", "follow_up")


_PARTS = (
    select(
        Message.id,
        Message.disposition,
        Message.subject,
        Message.text,
        Attachment.id.label("attachment_id"),
        Attachment.filename,
        Attachment.content_type,
        Attachment.size,
        Attachment.sha256,
        Attachment.inline,
    )
    .outerjoin(Attachment, Attachment.message_row_id == Message.id)
    .where(
        Message.ticket_id == bindparam("ticket_id"),
        Message.direction == "in",
        Message.disposition.in_(REPORT_DISPOSITIONS),
    )
    .order_by(Message.id, Attachment.id)
)


def _parts(session: Session, ticket: Ticket) -> list[ReportPart]:
    """The client's mails on ``ticket`` as the intake check reads them (new text only).

    One query: the messages joined to their attachments (a row per attachment,
    one for a message without any), in the order they came in.
    """
    rows = session.execute(_PARTS, {"ticket_id": ticket.id}).all()
    messages: dict[int, tuple[str, str, str, list[MailAttachment]]] = {}
    for row in rows:
        _, _, _, files = messages.setdefault(row.id, (row.disposition, row.subject, row.text, []))
        if row.attachment_id is not None:
            files.append(
                MailAttachment(
                    filename=row.filename,
                    content_type=row.content_type,
                    size=row.size,
                    sha256=row.sha256,
                    inline=row.inline,
                )
            )
    return [
        ReportPart(
            text=text if disposition == "report" else extract_new_text(text),
            subject=subject,
            attachments=tuple(files),
        )
        for disposition, subject, text, files in messages.values()
    ]


def _event(
    session: Session, ticket: Ticket, kind: str, actor: str, now: datetime, **detail: object
) -> None:
    session.add(Event(ticket_id=ticket.id, at=now, kind=kind, actor=actor, detail=detail))


def _contact_language(settings: Settings, address: str) -> str | None:
    """The language a contact asked for (``maildesk contacts edit --language``)."""
    found = settings.contact(address)
    return found[1].language if found is not None else None


def _due_text(ticket: Ticket, policy: Policy, language: str) -> str | None:
    """The response time the client is promised, or None where the contract sets none."""
    if ticket.response_due_at is None or not policy.sla.promise_response:
        return None
    return format_local(ticket.response_due_at, policy.calendar.timezone, language)


def _remaining(
    session: Session, ticket: Ticket, now: datetime, known: Balance | None
) -> str | None:
    """The client's prepaid hours left, for the staff header block.

    ``known`` is the balance the caller read in this transaction for the
    ticket's client, if any (nothing books time in between), to read it once.
    """
    if ticket.client_id is None:
        return None
    if known is None or known.client_id != ticket.client_id:
        known = balance(session, ticket.client_id, now)
    return format_minutes(known.minutes)


def notify_staff(
    session: Session,
    ticket: Ticket,
    mail: InboundMail,
    text: str,
    is_new: bool,
    ctx: PipelineContext,
    now: datetime,
    client_balance: Balance | None = None,
) -> None:
    """Tell the staff the contract's ``notices`` name about a client's mail on ``ticket``.

    ``client_balance``: the client's balance if the caller has read it already.
    """
    client = client_info(session, ticket.client_id) if ticket.client_id else None
    _, policy = ctx.settings.policy_for(client.key if client else None)
    recipients = notice_recipients(ctx.settings, policy, ticket.assignee, is_new, now)
    if not recipients:
        return
    tz = policy.calendar.timezone
    lang = ctx.settings.service.language
    rendered = ctx.renderer.render(
        "staff_new_ticket",
        lang,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        client_name=client.name if client else None,
        requester=mail.sender,
        priority=ticket.priority,
        status=ticket.status,
        response_due=format_local(ticket.response_due_at, tz, lang)
        if ticket.response_due_at
        else None,
        resolution_due=format_local(ticket.resolution_due_at, tz, lang)
        if ticket.resolution_due_at
        else None,
        remaining_hours=_remaining(session, ticket, now, client_balance),
        text=text,
        is_new=is_new,
    )
    enqueue(
        session,
        Draft(
            kind="staff_notice",
            to=recipients,
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id,
            in_reply_to=mail.message_id,
            ticket_number=ticket.number,
        ),
        ctx.identity,
        now,
    )


def _portal_url(session: Session, ticket: Ticket, sender: str, ctx: PipelineContext) -> str | None:
    """A link to the client's page, for a contact of the ticket's client (not any sender)."""
    if ctx.links is None or ticket.client_id is None:
        return None
    contact = contact_by_email(session, sender)
    if contact is None or contact.client_id != ticket.client_id:
        return None
    client = client_info(session, ticket.client_id)
    return ctx.portal_url(client.key if client else None, (contact.email,))


def _client_mail(
    session: Session,
    ticket: Ticket,
    mail: InboundMail,
    template: str,
    ctx: PipelineContext,
    now: datetime,
    **variables: object,
) -> None:
    to = screen(session, ctx.settings, ticket, (mail.sender,), template, now)
    if not to:
        return
    rendered = ctx.renderer.render(
        template,
        ticket.language,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        name=mail.sender_name,
        support_name=ctx.identity.name,
        portal_url=_portal_url(session, ticket, mail.sender, ctx),
        **variables,
    )
    enqueue_auto(
        session,
        Draft(
            kind=template,
            to=to,
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id,
            in_reply_to=mail.message_id,
            references=mail.references,
            ticket_number=ticket.number,
        ),
        ctx.identity,
        now,
        ctx.settings.service.auto_mails_per_hour,
    )


def _complete(ticket: Ticket, policy: Policy, now: datetime) -> None:
    """The report holds what the contract requires: open it and let the clock run."""
    cal = calendar_for(policy)
    ticket.status = "open"
    ticket.missing = []
    if ticket.clock_started_at is None:
        start_clock(ticket, cal, policy, now)
    else:
        resume_clock(ticket, cal, now)


def open_report(
    session: Session,
    mail: InboundMail,
    sender: Sender,
    source_key: str,
    raw_sha256: str,
    ctx: PipelineContext,
    *,
    answer: bool,
    follows: Ticket | None = None,
) -> Ticket:
    """A new ticket for ``mail``, checked, prioritised and acknowledged."""
    settings = ctx.settings
    now = ctx.clock.now()
    policy_name, policy = settings.policy_for(sender.client_key)
    client_cfg = settings.client(sender.client_key) if sender.client_key else None
    decision = decide_priority(
        mail.subject,
        extract_new_text(mail.text),  # an old outage quoted below pages nobody
        policy.priority,
        allow_markers=bool(client_cfg and client_cfg.allow_priority_markers),
        client_default=client_cfg.default_priority if client_cfg else None,
    )
    # Read once: the approval rule below and the staff notice both need it.
    client_balance = (
        balance(session, sender.client_id, now) if sender.client_id is not None else None
    )
    # Only a client with prepaid hours to draw on needs an authorised contact's approval.
    needs_approval = (
        sender.role in (Role.CONTACT, Role.DOMAIN)
        and policy.billing.kind == "prepaid"
        and client_balance is not None
        and client_balance.had_bundles
    )
    ticket = Ticket(
        number=allocate_number(session, ctx.numbers, ctx.local_year(now)),
        subject=mail.subject or "(no subject)",
        client_id=sender.client_id,
        requester=mail.sender,
        requester_role=sender.role.value,
        status="open",
        priority=decision.priority,
        priority_rule=decision.rule,
        language=choose_language(
            _contact_language(settings, mail.sender)
            or (client_cfg.language if client_cfg else None),
            mail.text,
            settings.service.language,
        ),
        policy=policy_name,
        approval="none",
        follows_ticket_id=follows.id if follows else None,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    store_inbound(session, mail, ticket.id, source_key, raw_sha256, "report", now)
    check = check_report(_parts(session, ticket), policy.required)
    _event(
        session,
        ticket,
        "ticket_created",
        mail.sender,
        now,
        number=ticket.number,
        message_id=mail.message_id,
        role=sender.role.value,
        priority=decision.priority,
        priority_rule=decision.rule,
        priority_unsure=decision.unsure,
        missing=list(check.missing),
        follows=follows.number if follows else None,
    )
    cal = calendar_for(policy)
    if policy.sla.clock_starts == "receipt":
        start_clock(ticket, cal, policy, now)
    if check.missing:
        ticket.status = "awaiting_info"
        ticket.missing = list(check.missing)
        if ticket.clock_started_at is not None:
            pause_clock(ticket, cal, now)
        if answer:
            _client_mail(
                session,
                ticket,
                mail,
                "ack_missing",
                ctx,
                now,
                subject=ticket.subject,
                missing=list(check.missing),
                password_warning=check.password_suspected,
            )
    else:
        _complete(ticket, policy, now)
        if answer:
            _client_mail(
                session,
                ticket,
                mail,
                "ack",
                ctx,
                now,
                subject=ticket.subject,
                priority=ticket.priority,
                response_due=_due_text(ticket, policy, ticket.language),
                received_out_of_hours=not cal.is_open(now),
                password_warning=check.password_suspected,
            )
    notify_staff(session, ticket, mail, mail.text, True, ctx, now, client_balance)
    if needs_approval:
        request_approval(session, ctx, ticket)
    page_if_due(session, ctx, ticket, now, reason="new")
    if decision.unsure is not None:
        notify_unsure(session, ctx, ticket, now, decision.unsure)
    return ticket


def follow_up(
    session: Session,
    mail: InboundMail,
    ticket: Ticket,
    sender: Sender,
    source_key: str,
    raw_sha256: str,
    ctx: PipelineContext,
    *,
    answer: bool,
) -> Ticket:
    """A client's later mail on ``ticket``: reopen, re-check, resume the clock as due."""
    now = ctx.clock.now()
    _, policy = ctx.settings.policy_for(sender.client_key)
    if ticket.status in ("resolved", "closed"):
        ended = ticket.closed_at or ticket.resolved_at or ticket.updated_at
        if now - ended > timedelta(days=policy.reopen_days):
            return open_report(
                session, mail, sender, source_key, raw_sha256, ctx, answer=answer, follows=ticket
            )
        resume_clock(ticket, calendar_for(policy), now)
        ticket.status = "open"
        ticket.closed_at = None
        begin_intervention(ticket)
        _event(session, ticket, "reopened", mail.sender, now, message_id=mail.message_id)
    store_inbound(session, mail, ticket.id, source_key, raw_sha256, "follow_up", now)
    ticket.updated_at = now
    _event(session, ticket, "message_added", mail.sender, now, message_id=mail.message_id)
    new_text = extract_new_text(mail.text)
    # A quote or an approval request waiting on the client is answered in words,
    # never by a mail whose From is suspicious (``mail.address``).
    if sender.from_flags:
        _event(session, ticket, "answers_ignored", mail.sender, now, flags=list(sender.from_flags))
    else:
        answer_quote(session, ctx, ticket, new_text, mail.sender)
        answer_approval(session, ctx, ticket, new_text, mail.sender)
    if ticket.status == "awaiting_info":
        check = check_report(_parts(session, ticket), policy.required)
        if check.missing:
            ticket.missing = list(check.missing)
        else:
            _complete(ticket, policy, now)
            _event(session, ticket, "info_complete", mail.sender, now)
            if answer:
                _client_mail(
                    session,
                    ticket,
                    mail,
                    "info_complete",
                    ctx,
                    now,
                    priority=ticket.priority,
                    response_due=_due_text(ticket, policy, ticket.language),
                )
    elif ticket.status == "waiting":
        ticket.status = "open"
        resume_clock(ticket, calendar_for(policy), now)
        _event(session, ticket, "client_answered", mail.sender, now)
    notify_staff(session, ticket, mail, new_text, False, ctx, now)
    page_if_due(session, ctx, ticket, now, reason="follow_up")
    return ticket
