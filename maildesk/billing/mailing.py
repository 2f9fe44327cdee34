"""Who billing mail goes to, in which language, and how it threads.

- Balance notices and statements go to the client's *authorised* contacts
  (the people who may draw on the hours and buy more), with the client's
  ``account_manager`` copied when one is configured.
- A client mail is written in the client's ``language``, else the service's;
  a mail about a ticket in the ticket's language.
- A mail about a ticket answers the last mail that came in on it, so it
  threads in the client's mail program.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from maildesk.core.config import Settings
from maildesk.notify.audience import screen
from maildesk.notify.context import MailContext
from maildesk.notify.outbox import Draft, MailAttachment, enqueue
from maildesk.store.directory import ClientInfo
from maildesk.store.models import Client, Contact, Event, Message, Ticket

__all__ = [
    "authorised_contacts",
    "client_language",
    "is_authorised",
    "local_date",
    "notice_recipients",
    "queue",
    "recipients_of",
    "staff_name",
    "thread_of",
]


def client_language(settings: Settings, client: Client | ClientInfo) -> str:
    return client.language or settings.service.language


_AUTHORISED = (
    select(Contact.email)
    .where(Contact.client_id == bindparam("client_id"), Contact.authorised.is_(True))
    .order_by(Contact.id)
)


def authorised_contacts(session: Session, client_id: int) -> tuple[str, ...]:
    return tuple(session.scalars(_AUTHORISED, {"client_id": client_id}))


def is_authorised(session: Session, ticket: Ticket, address: str) -> bool:
    """Whether ``address`` is an authorised contact of the ticket's client."""
    if ticket.client_id is None:
        return False
    return address.strip().lower() in authorised_contacts(session, ticket.client_id)


def notice_recipients(
    session: Session, settings: Settings, client: Client | ClientInfo
) -> tuple[str, ...]:
    return recipients_of(settings, client.key, authorised_contacts(session, client.id))


def recipients_of(
    settings: Settings, client_key: str, authorised: tuple[str, ...]
) -> tuple[str, ...]:
    """The client's authorised contacts, then its account manager (from the config), once each."""
    cfg = settings.client(client_key)
    manager = (cfg.account_manager,) if cfg is not None and cfg.account_manager else ()
    return tuple(dict.fromkeys((*authorised, *manager)))


def staff_name(settings: Settings, address: str) -> str:
    return next((s.name for s in settings.staff if s.email == address.lower()), address)


def thread_of(session: Session, ticket: Ticket) -> str | None:
    """The Message-ID of the last mail that came in on the ticket."""
    return session.scalars(
        select(Message.message_id)
        .where(Message.ticket_id == ticket.id, Message.direction == "in")
        .order_by(Message.id.desc())
        .limit(1)
    ).first()


def local_date(when: datetime, zone: str) -> str:
    return when.astimezone(ZoneInfo(zone)).date().isoformat()


def queue(
    session: Session,
    ctx: MailContext,
    template: str,
    language: str,
    to: tuple[str, ...],
    now: datetime,
    *,
    ticket: Ticket | None = None,
    auto: bool = True,
    attachments: tuple[MailAttachment, ...] = (),
    **variables: object,
) -> bool:
    """Render ``template`` and queue it to ``to``; with nobody to tell, record that instead.

    Mail about a ticket goes only to its client's people and the staff
    (:func:`maildesk.notify.audience.screen`); anyone else is withheld.
    """
    if ticket is not None:
        to = screen(session, ctx.settings, ticket, to, template, now)
    if not to:
        session.add(
            Event(
                ticket_id=ticket.id if ticket is not None else None,
                at=now,
                kind="billing_mail_unsent",
                detail={"template": template, "reason": "no recipient"},
            )
        )
        return False
    rendered = ctx.renderer.render(template, language, support_name=ctx.identity.name, **variables)
    enqueue(
        session,
        Draft(
            kind=template,
            to=to,
            subject=rendered.subject,
            body=rendered.body,
            ticket_id=ticket.id if ticket is not None else None,
            in_reply_to=thread_of(session, ticket) if ticket is not None else None,
            ticket_number=ticket.number if ticket is not None else None,
            auto=auto,
            attachments=attachments,
        ),
        ctx.identity,
        now,
    )
    return True
