"""Telling staff that a mail could not be delivered, so no client waits on a lost answer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from maildesk.notify.context import MailContext
from maildesk.notify.delivery import FailureHook
from maildesk.notify.outbox import Draft, enqueue
from maildesk.store.models import OutboxMail, Ticket

NOTICE_KIND = "delivery_failed_notice"


def tell_staff(ctx: MailContext) -> FailureHook:
    """A failure hook for ``flush_outbox`` that mails the staff list about a failed mail."""

    def on_failure(session: Session, row: OutboxMail, now: datetime) -> None:
        staff = tuple(sorted(ctx.settings.staff_addresses))
        # A notice about a failed notice would loop; staff addresses are not clients.
        if not staff or row.kind == NOTICE_KIND or set(row.rcpt_to) <= set(staff):
            return
        ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
        subject = ""
        for line in row.data.split(b"\r\n"):
            if line.lower().startswith(b"subject:"):
                subject = line[8:].decode("utf-8", "replace").strip()
                break
            if not line:
                break
        rendered = ctx.renderer.render(
            "bounce_staff",
            ctx.settings.service.language,
            tag=ctx.numbers.tag(ticket.number) if ticket else None,
            number=ticket.number if ticket else None,
            bounced_address=", ".join(row.rcpt_to),
            status="",
            original_subject=subject,
            diagnostic=row.last_error or "",
        )
        enqueue(
            session,
            Draft(
                kind=NOTICE_KIND,
                to=staff,
                subject=rendered.subject,
                body=rendered.body,
                ticket_id=row.ticket_id,
                ticket_number=ticket.number if ticket else None,
            ),
            ctx.identity,
            now,
        )

    return on_failure
