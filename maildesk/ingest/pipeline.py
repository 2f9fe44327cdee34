"""The one function that applies everything maildesk does to one inbound mail.

``process`` runs inside the caller's transaction: the message, the ticket
change, its events and every mail it causes (outbox rows) are written
together or not at all. It knows nothing of where the mail came from; both
intake paths (IMAP, LMTP) reach it through ``ingest.receive``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from maildesk.core.clock import Clock
from maildesk.core.config import Settings
from maildesk.core.numbers import NumberFormat
from maildesk.ingest.parse import InboundMail
from maildesk.notify.outbox import Draft, Identity, enqueue
from maildesk.notify.render import Renderer
from maildesk.store.blobs import put_blob
from maildesk.store.directory import client_by_id, contact_by_email
from maildesk.store.models import Attachment, Event, Message, QuarantinedMail, Ticket
from maildesk.store.tickets import allocate_number, ticket_by_message_ids, ticket_by_number


class Outcome(enum.StrEnum):
    """What became of a mail; the source uses it to decide where the mail goes."""

    CREATED = "created"
    APPENDED = "appended"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class Receipt:
    """The outcome for one mail, as logged and reported by ``maildesk inspect``."""

    outcome: Outcome
    message_id: str = ""
    ticket_number: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class PipelineContext:
    """Everything ``process`` needs besides the session; built once by the daemon."""

    settings: Settings
    clock: Clock
    renderer: Renderer
    identity: Identity
    numbers: NumberFormat = field(default_factory=NumberFormat)

    @classmethod
    def build(cls, settings: Settings, clock: Clock, renderer: Renderer) -> PipelineContext:
        service = settings.service
        return cls(
            settings=settings,
            clock=clock,
            renderer=renderer,
            identity=Identity(
                address=service.support_address,
                name=service.support_name,
                domain=service.domain,
                loop_token=service.instance_id,
            ),
            numbers=NumberFormat(settings.tickets.number_format, settings.tickets.subject_tag),
        )

    def local_year(self, now: datetime) -> int:
        return now.astimezone(ZoneInfo(self.settings.service.timezone)).year


def already_seen(session: Session, message_id: str, source_key: str) -> Receipt | None:
    """A receipt for a mail that was handled before (same source key or Message-ID)."""
    held = session.scalar(
        select(QuarantinedMail.id).where(QuarantinedMail.source_key == source_key)
    )
    if held is not None:
        return Receipt(Outcome.QUARANTINED, message_id, None, "already in quarantine")
    row = session.execute(
        select(Message.message_id, Ticket.number)
        .outerjoin(Ticket, Message.ticket_id == Ticket.id)
        .where(or_(Message.message_id == message_id, Message.source_key == source_key))
        .limit(1)
    ).first()
    if row is None:
        return None
    return Receipt(Outcome.DUPLICATE, row[0], row[1], "seen before")


def _match(session: Session, mail: InboundMail, ctx: PipelineContext) -> Ticket | None:
    thread_ids = [*([mail.in_reply_to] if mail.in_reply_to else []), *mail.references]
    ticket = ticket_by_message_ids(session, thread_ids)
    if ticket is not None:
        return ticket
    for number in ctx.numbers.find_numbers(mail.subject):
        ticket = ticket_by_number(session, number)
        if ticket is not None:
            return ticket
    return None


def _store_message(
    session: Session,
    mail: InboundMail,
    ticket: Ticket,
    source_key: str,
    raw_sha256: str,
    now: datetime,
) -> Message:
    message = Message(
        ticket_id=ticket.id,
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
        disposition="ticket",
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


def _language(session: Session, ticket_client_id: int | None, ctx: PipelineContext) -> str:
    if ticket_client_id is not None:
        client = client_by_id(session, ticket_client_id)
        if client is not None and client.language:
            return client.language
    return ctx.settings.service.language


def _open_ticket(
    session: Session, mail: InboundMail, ctx: PipelineContext, now: datetime
) -> Ticket:
    contact = contact_by_email(session, mail.sender)
    client_id = contact.client_id if contact is not None else None
    ticket = Ticket(
        number=allocate_number(session, ctx.numbers, ctx.local_year(now)),
        subject=mail.subject or "(no subject)",
        client_id=client_id,
        requester=mail.sender,
        status="open",
        priority="normal",
        language=_language(session, client_id, ctx),
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()
    return ticket


def _acknowledge(
    session: Session, mail: InboundMail, ticket: Ticket, ctx: PipelineContext, now: datetime
) -> None:
    tag = ctx.numbers.tag(ticket.number)
    rendered = ctx.renderer.render(
        "ack",
        ticket.language,
        tag=tag,
        number=ticket.number,
        subject=mail.subject or "(no subject)",
        name=mail.sender_name,
        support_name=ctx.identity.name,
    )
    enqueue(
        session,
        Draft(
            kind="ack",
            to=(mail.sender,),
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id,
            in_reply_to=mail.message_id,
            references=mail.references,
            ticket_number=ticket.number,
        ),
        ctx.identity,
        now,
    )


def process(
    session: Session, mail: InboundMail, source_key: str, raw_sha256: str, ctx: PipelineContext
) -> Receipt:
    """Apply maildesk to ``mail`` inside the caller's transaction and say what happened."""
    seen = already_seen(session, mail.message_id, source_key)
    if seen is not None:
        return seen
    now = ctx.clock.now()
    ticket = _match(session, mail, ctx)
    if ticket is not None:
        _store_message(session, mail, ticket, source_key, raw_sha256, now)
        ticket.updated_at = now
        session.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind="message_added",
                actor=mail.sender,
                detail={"message_id": mail.message_id},
            )
        )
        return Receipt(Outcome.APPENDED, mail.message_id, ticket.number, "reply in thread")
    ticket = _open_ticket(session, mail, ctx, now)
    _store_message(session, mail, ticket, source_key, raw_sha256, now)
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind="ticket_created",
            actor=mail.sender,
            detail={"message_id": mail.message_id, "number": ticket.number},
        )
    )
    _acknowledge(session, mail, ticket, ctx, now)
    return Receipt(Outcome.CREATED, mail.message_id, ticket.number, "new ticket")
