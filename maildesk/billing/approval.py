"""Approval: a ticket from a contact who may not draw on the hours waits for an authorised one.

Rules:

- :func:`request_approval` sets ``ticket.approval = "pending"`` and mails the
  client's authorised contacts (``approval_request``, in the client's
  language). It asks once: a ticket already pending or approved is left alone.
  With no authorised contact, the ticket stays pending and an event says why.
- While pending, work on it is held, not billed (see :mod:`maildesk.billing.work`).
- :func:`answer_approval` reads an authorised contact's reply on the ticket:
  yes (``approve``, ``akkoord``, ``approuve``, ``ok`` … see
  :mod:`maildesk.billing.answers`) approves the ticket and books the held
  time; no is recorded as an event and the ticket stays pending; anyone else's
  answer is recorded and ignored.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.answers import read_answer
from maildesk.billing.mailing import authorised_contacts, client_language, is_authorised, queue
from maildesk.billing.work import release_held
from maildesk.notify.context import MailContext
from maildesk.store.models import Client, Contact, Event, Ticket

__all__ = ["answer_approval", "request_approval"]


def request_approval(session: Session, ctx: MailContext, ticket: Ticket) -> tuple[str, ...]:
    """Ask the client's authorised contacts to approve the ticket; returns who was asked."""
    client = session.get(Client, ticket.client_id) if ticket.client_id else None
    if client is None or ticket.approval != "none":
        return ()
    now = ctx.clock.now()
    ticket.approval = "pending"
    to = authorised_contacts(session, client.id)
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind="approval_requested",
            detail={"to": list(to)},
        )
    )
    name = session.scalar(select(Contact.name).where(Contact.email == ticket.requester))
    requester = f"{name} <{ticket.requester}>" if name else ticket.requester
    queue(
        session,
        ctx,
        "approval_request",
        client_language(ctx.settings, client),
        to,
        now,
        ticket=ticket,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        requester=requester,
        client_name=client.name,
    )
    return to


def answer_approval(
    session: Session, ctx: MailContext, ticket: Ticket, text: str, actor: str
) -> bool:
    """Approve the pending ticket if an authorised contact's new ``text`` says yes.

    Returns True when the ticket was approved now (its held time is then booked).
    """
    if ticket.approval != "pending":
        return False
    answer = read_answer(text)
    if answer is None:
        return False
    now = ctx.clock.now()
    if not is_authorised(session, ticket, actor):
        session.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind="approval_answer_ignored",
                actor=actor,
                detail={"answer": answer, "reason": "not authorised"},
            )
        )
        return False
    if answer == "refuse":
        session.add(Event(ticket_id=ticket.id, at=now, kind="approval_refused", actor=actor))
        return False
    ticket.approval = "approved"
    session.add(Event(ticket_id=ticket.id, at=now, kind="approval_granted", actor=actor))
    release_held(session, ctx, ticket)
    return True
