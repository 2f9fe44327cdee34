"""Queue outgoing mail inside the caller's transaction.

A mail maildesk sends is composed and given its Message-ID when it is queued,
in the same transaction as the change that causes it. If that transaction
rolls back, the mail was never queued; once it commits, delivery will happen,
and a retry after a crash sends the very same mail (same Message-ID).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from maildesk.store.models import Event, Message, OutboxMail

log = logging.getLogger(__name__)

LOOP_HEADER = "X-Maildesk-Loop"


@dataclass(frozen=True)
class Identity:
    """Who maildesk's mail comes from, and the token that marks it as ours."""

    address: str
    name: str
    domain: str
    loop_token: str


class MailAttachment(NamedTuple):
    """A file attached to an outgoing mail (a statement's timesheet, for instance)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Draft:
    """A mail to queue. ``auto`` mails (acks, notices) carry Auto-Submitted (RFC 3834)."""

    kind: str
    to: tuple[str, ...]
    subject: str
    body: str
    ticket_id: int | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    auto: bool = True
    ticket_number: str | None = None
    attachments: tuple[MailAttachment, ...] = ()


def _bracket(message_id: str) -> str:
    return f"<{message_id}>"


def compose(draft: Draft, identity: Identity, now: datetime) -> tuple[str, bytes]:
    """The Message-ID (without brackets) and the bytes of ``draft``."""
    message_id = make_msgid(domain=identity.domain)[1:-1]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((identity.name, identity.address))
    msg["To"] = ", ".join(draft.to)
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = _bracket(message_id)
    if draft.in_reply_to:
        msg["In-Reply-To"] = _bracket(draft.in_reply_to)
    refs = list(draft.references)
    if draft.in_reply_to and draft.in_reply_to not in refs:
        refs.append(draft.in_reply_to)
    if refs:
        msg["References"] = " ".join(_bracket(r) for r in refs)
    if draft.auto:
        msg["Auto-Submitted"] = "auto-replied" if draft.in_reply_to else "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
    msg[LOOP_HEADER] = identity.loop_token
    if draft.ticket_number:
        msg["X-Maildesk-Ticket"] = draft.ticket_number
    msg.set_content(draft.body)
    for attachment in draft.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        msg.add_attachment(
            attachment.data,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.filename,
        )
    return message_id, msg.as_bytes()


def enqueue(session: Session, draft: Draft, identity: Identity, now: datetime) -> OutboxMail:
    """Queue ``draft`` for delivery and record it as an outgoing message of its ticket."""
    if not draft.to or not all(draft.to):
        raise ValueError(f"{draft.kind} mail has no recipient")
    message_id, data = compose(draft, identity, now)
    row = OutboxMail(
        message_id=message_id,
        ticket_id=draft.ticket_id,
        kind=draft.kind,
        mail_from=identity.address,
        rcpt_to=list(draft.to),
        first_rcpt=draft.to[0].lower(),
        auto=draft.auto,
        data=data,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    session.add(
        Message(
            ticket_id=draft.ticket_id,
            direction="out",
            message_id=message_id,
            in_reply_to=draft.in_reply_to,
            references=" ".join(draft.references),
            sender=identity.address,
            recipients=", ".join(draft.to),
            subject=draft.subject,
            text=draft.body,
            disposition=draft.kind,
            created_at=now,
        )
    )
    return row


def auto_mails_since(session: Session, address: str, since: datetime) -> int:
    """How many automatic mails maildesk queued for ``address`` since ``since``."""
    return int(
        session.scalar(
            select(func.count(OutboxMail.id)).where(
                OutboxMail.first_rcpt == address.lower(),
                OutboxMail.auto.is_(True),
                OutboxMail.created_at > since,
            )
        )
        or 0
    )


def enqueue_auto(
    session: Session, draft: Draft, identity: Identity, now: datetime, per_hour: int
) -> OutboxMail | None:
    """Queue an automatic mail unless its recipient already had ``per_hour`` in the last hour.

    This is the last line of defence against mail loops that no rule caught (an
    autoresponder that sets no header at all): whatever happens, no address
    receives more than ``per_hour`` automatic mails an hour. A suppressed mail
    is recorded as an event, not queued.
    """
    address = draft.to[0]
    if not address:
        log.info("no %s mail: the mail it answers has no sender address", draft.kind)
        return None
    if auto_mails_since(session, address, now - timedelta(hours=1)) >= per_hour:
        session.add(
            Event(
                ticket_id=draft.ticket_id,
                at=now,
                kind="auto_mail_suppressed",
                detail={"to": address, "kind": draft.kind, "limit": per_hour},
            )
        )
        log.warning(
            "suppressed %s mail to %s: %d automatic mails in the last hour",
            draft.kind,
            address,
            per_hour,
        )
        return None
    return enqueue(session, draft, identity, now)
