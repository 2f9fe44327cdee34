"""What happens to mail that a machine wrote: loops, bounces, feedback, auto-replies.

None of it is ever answered. It is kept (on its ticket where it has one) and
recorded as an event, so staff can see it; it never reopens a ticket and never
restarts a paused SLA clock. A bounce also marks the outgoing mail it reports
on as failed and tells staff which address bounced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.ingest.classify import Kind, Verdict
from maildesk.ingest.context import PipelineContext, store_inbound
from maildesk.mail.dsn import bounce_details
from maildesk.mail.parse import InboundMail
from maildesk.notify.outbox import Draft, enqueue
from maildesk.store.models import Event, OutboxMail, Ticket

log = logging.getLogger(__name__)


_QUOTED_ID = re.compile(r"<([^<>\s@]{1,200}@[^<>\s@]{1,200})>")
_MAX_QUOTED = 100


def _sent(session: Session, ids: Sequence[str]) -> OutboxMail | None:
    """The outgoing mail with one of ``ids`` as its Message-ID, if we sent one."""
    if not ids:
        return None
    return session.scalars(
        select(OutboxMail).where(OutboxMail.message_id.in_(list(ids))).limit(1)
    ).first()


def _mark_bounced(
    session: Session, mail: InboundMail, raw: bytes, ctx: PipelineContext, now: datetime
) -> int | None:
    """Mark the outgoing mail a bounce reports on as failed; tell staff. Returns its ticket."""
    details = bounce_details(raw)
    ids = [*(details.original_message_ids if details else ()), *filter(None, [mail.in_reply_to])]
    # A plain-text bounce may only quote our Message-ID in its words ("your
    # message <...> could not be delivered"): any bracketed id we really sent.
    original = _sent(session, ids) or _sent(session, _QUOTED_ID.findall(mail.text)[:_MAX_QUOTED])
    failed = details.failed_recipients if details else ()
    if original is None or not failed:
        return original.ticket_id if original is not None else None
    original.status = "failed"
    first = failed[0]
    original.last_error = f"bounced: {first.address} {first.status} {first.diagnostic}"[:2000]
    ticket = session.get(Ticket, original.ticket_id) if original.ticket_id else None
    session.add(
        Event(
            ticket_id=original.ticket_id,
            at=now,
            kind="bounced",
            actor=mail.sender,
            detail={
                "message_id": original.message_id,
                "recipients": [r.address for r in failed],
                "status": first.status,
            },
        )
    )
    staff = sorted(ctx.settings.staff_addresses)
    if staff:
        subject = ""
        if ticket is not None:
            subject = ticket.subject
        rendered = ctx.renderer.render(
            "bounce_staff",
            ctx.settings.service.language,
            tag=ctx.numbers.tag(ticket.number) if ticket else None,
            number=ticket.number if ticket else None,
            bounced_address=first.address,
            status=first.status or "",
            original_subject=subject,
            diagnostic=first.diagnostic,
        )
        enqueue(
            session,
            Draft(
                kind="bounce_notice",
                to=tuple(staff),
                subject=rendered.subject,
                body=rendered.body,
                ticket_id=original.ticket_id,
                ticket_number=ticket.number if ticket else None,
            ),
            ctx.identity,
            now,
        )
    log.warning("mail %s to %s bounced (%s)", original.message_id, first.address, first.status)
    return original.ticket_id


def handle_automatic(
    session: Session,
    mail: InboundMail,
    raw: bytes,
    verdict: Verdict,
    ticket: Ticket | None,
    source_key: str,
    raw_sha256: str,
    ctx: PipelineContext,
) -> int | None:
    """Keep a machine-written mail without answering it; returns the ticket id it was filed on."""
    now = ctx.clock.now()
    ticket_id = ticket.id if ticket is not None else None
    if verdict.kind is Kind.BOUNCE:
        ticket_id = _mark_bounced(session, mail, raw, ctx, now) or ticket_id
    store_inbound(session, mail, ticket_id, source_key, raw_sha256, verdict.kind.value, now)
    session.add(
        Event(
            ticket_id=ticket_id,
            at=now,
            kind=f"{verdict.kind.value}_received",
            actor=mail.sender,
            detail={"message_id": mail.message_id, "rule": verdict.rule, "reason": verdict.reason},
        )
    )
    return ticket_id


AUTOMATIC = frozenset({Kind.LOOP, Kind.BOUNCE, Kind.FEEDBACK, Kind.AUTO_REPLY})
