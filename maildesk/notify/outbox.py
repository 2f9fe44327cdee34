"""Queue outgoing mail inside the caller's transaction.

A mail maildesk sends is composed and given its Message-ID when it is queued,
in the same transaction as the change that causes it. If that transaction
rolls back, the mail was never queued; once it commits, delivery will happen,
and a retry after a crash sends the very same mail (same Message-ID).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from maildesk.mail.compose import LOOP_HEADER, Draft, Identity, MailAttachment, compose
from maildesk.store.models import Event, Message, OutboxMail

log = logging.getLogger(__name__)

__all__ = [
    "LOOP_HEADER",
    "QUEUED_MAIL",
    "Draft",
    "Identity",
    "MailAttachment",
    "auto_mails_since",
    "compose",
    "enqueue",
    "enqueue_auto",
]


QUEUED_MAIL = "maildesk.queued_mail"
"""Set in ``session.info`` by :func:`enqueue`: this transaction queued mail."""


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
    session.info[QUEUED_MAIL] = True  # wakes delivery once committed (see delivery.Courier)
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


_AUTO_MAILS_SINCE = select(func.count(OutboxMail.id)).where(
    OutboxMail.first_rcpt == bindparam("address"),
    OutboxMail.auto.is_(True),
    OutboxMail.created_at > bindparam("since"),
)


def auto_mails_since(session: Session, address: str, since: datetime) -> int:
    """How many automatic mails maildesk queued for ``address`` since ``since``."""
    params = {"address": address.lower(), "since": since}
    return int(session.scalar(_AUTO_MAILS_SINCE, params) or 0)


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
