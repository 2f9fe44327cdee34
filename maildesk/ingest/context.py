"""What every step of the pipeline shares: its context, its outcome, and storing a mail."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, bindparam, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from maildesk.core.clock import Clock
from maildesk.core.config import Settings
from maildesk.ingest.rules import RuleContext
from maildesk.mail.parse import InboundMail
from maildesk.notify.context import MailContext
from maildesk.notify.links import PortalLinks
from maildesk.notify.render import Renderer
from maildesk.store.blobs import put_blob
from maildesk.store.models import Attachment, Message, QuarantinedMail, Ticket


class Outcome(enum.StrEnum):
    """What became of a mail; the source uses it to decide where the mail goes."""

    CREATED = "created"
    APPENDED = "appended"
    AUTOMATIC = "automatic"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class Receipt:
    """The outcome for one mail, as logged and reported."""

    outcome: Outcome
    message_id: str = ""
    ticket_number: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class PipelineContext(MailContext):
    """A mail context plus what the classification rules know about this instance."""

    rules: RuleContext = field(default_factory=lambda: RuleContext(frozenset(), frozenset(), "", 0))

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock,
        renderer: Renderer,
        links: PortalLinks | None = None,
    ) -> PipelineContext:
        settings_, clock_, renderer_, identity, numbers = MailContext.parts(
            settings, clock, renderer
        )
        service = settings.service
        rules = RuleContext(
            own_addresses=service.addresses,
            own_message_id_domains=frozenset({service.own_message_id_domain}),
            loop_token=service.instance_id,
            max_message_bytes=service.max_message_bytes,
        )
        return cls(settings_, clock_, renderer_, identity, numbers, links=links, rules=rules)


def _seen_query() -> Select[int, str | None, str | None, str | None]:
    """Quarantined by this source key (rank 0), else stored by Message-ID or source key (1)."""
    held = select(
        literal(0).label("rank"),
        null().label("message_id"),
        null().label("number"),
        null().label("direction"),
    ).where(QuarantinedMail.source_key == bindparam("source_key"))
    stored = (
        select(literal(1), Message.message_id, Ticket.number, Message.direction)
        .outerjoin(Ticket, Message.ticket_id == Ticket.id)
        .where(
            or_(
                Message.message_id == bindparam("message_id"),
                Message.source_key == bindparam("source_key"),
            )
        )
    )
    found = union_all(held, stored).subquery()
    return (
        select(found.c.rank, found.c.message_id, found.c.number, found.c.direction)
        .order_by(found.c.rank)
        .limit(1)
    )


# Built once: every mail asks it, in one round trip.
_SEEN = _seen_query()


OWN_MAIL_BACK = "loop: a Message-ID maildesk sent came back"


def already_seen(session: Session, message_id: str, source_key: str) -> Receipt | None:
    """A receipt for a mail that was handled before (same source key or Message-ID).

    A Message-ID that maildesk itself sent (stored with the outbox as an
    outgoing message) is our own mail come back: an AUTOMATIC receipt, never
    an answer, whatever domain the Message-ID is in.
    """
    row = session.execute(_SEEN, {"message_id": message_id, "source_key": source_key}).first()
    if row is None:
        return None
    if row.rank == 0:
        return Receipt(Outcome.QUARANTINED, message_id, None, "already in quarantine")
    if row.direction == "out" and row.message_id == message_id:
        return Receipt(Outcome.AUTOMATIC, row.message_id, row.number, OWN_MAIL_BACK)
    return Receipt(Outcome.DUPLICATE, row.message_id, row.number, "seen before")


def store_inbound(
    session: Session,
    mail: InboundMail,
    ticket_id: int | None,
    source_key: str,
    raw_sha256: str,
    disposition: str,
    now: datetime,
) -> Message:
    """Record an inbound mail (and its attachments) as a message, on a ticket or on none."""
    message = Message(
        ticket_id=ticket_id,
        direction="in",
        message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=" ".join(mail.references),
        sender=mail.sender,
        recipients=", ".join((*mail.to, *mail.cc)),
        subject=mail.subject,
        text=mail.text,
        raw_sha256=raw_sha256,
        source_key=source_key,
        disposition=disposition,
        created_at=now,
    )
    session.add(message)
    session.flush()
    for part in mail.attachments:
        digest = put_blob(session, part.payload, part.sha256)
        session.add(
            Attachment(
                message_row_id=message.id,
                filename=part.filename,
                content_type=part.content_type,
                size=part.size,
                sha256=digest,
                inline=part.inline,
            )
        )
    return message


def hold(
    session: Session,
    raw_sha256: str,
    source_key: str,
    reason: str,
    detail: str,
    mail: InboundMail | None,
    now: datetime,
) -> None:
    """Put a mail in quarantine (inside the caller's transaction), once per source key."""
    exists = session.scalar(
        select(QuarantinedMail.id).where(QuarantinedMail.source_key == source_key)
    )
    if exists is not None:
        return
    session.add(
        QuarantinedMail(
            source_key=source_key,
            raw_sha256=raw_sha256,
            reason=reason,
            detail=detail[:5000],
            sender=mail.sender if mail else "",
            subject=(mail.subject if mail else "")[:1000],
            status="held",
            received_at=now,
        )
    )
