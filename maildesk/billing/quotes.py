"""Quotes: work quoted before it is done, accepted or refused by the client in the thread.

Rules:

- ``#quote 3h what`` (:func:`create_quote`) records a pending quote and mails
  it to the ticket's requester in the ticket's language, copying the client's
  authorised contacts when the requester is not one of them (only they can
  accept). A new quote on a ticket supersedes one still pending.
- The client's reply (:func:`answer_quote`) answers the ticket's pending quote
  when its new text says yes or no (:mod:`maildesk.billing.answers`) and the
  writer is an authorised contact; an answer from anyone else is recorded as
  an event and changes nothing.
- Money (:mod:`maildesk.billing.contracts`): everything booked on the ticket
  since its latest quote was made is that quote's work. While the quote is
  pending it is held, not billed. When the client accepts, the held work is
  billed at once (:func:`~maildesk.billing.work.release`) and the quote caps
  the billed total: ``min(rounded actual, quoted)``. When the client refuses,
  its work stays unbilled unless staff mark the ticket ``#billable``.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.answers import Answer, read_answer
from maildesk.billing.contracts import format_rate
from maildesk.billing.mailing import authorised_contacts, is_authorised, queue
from maildesk.billing.work import release
from maildesk.core.durations import format_minutes
from maildesk.notify.context import MailContext
from maildesk.store.models import Client, Contact, Event, Quote, Ticket

__all__ = [
    "answer_quote",
    "create_quote",
    "pending_quote",
    "record_quote_answer",
]


def pending_quote(session: Session, ticket_id: int) -> Quote | None:
    return session.scalars(
        select(Quote)
        .where(Quote.ticket_id == ticket_id, Quote.status == "pending")
        .order_by(Quote.id.desc())
        .limit(1)
    ).first()


def create_quote(
    session: Session,
    ctx: MailContext,
    ticket: Ticket,
    minutes: int,
    description: str,
    actor: str,
) -> Quote:
    """Record a quote of ``minutes`` for ``description`` and mail it to the client."""
    if minutes <= 0:
        raise ValueError(f"a quote must be for some time, not {minutes} minutes")
    now = ctx.clock.now()
    for old in session.scalars(
        select(Quote).where(Quote.ticket_id == ticket.id, Quote.status == "pending")
    ):
        old.status = "superseded"
    quote = Quote(
        ticket_id=ticket.id,
        minutes=minutes,
        description=description.strip(),
        status="pending",
        created_at=now,
        created_by=actor,
    )
    session.add(quote)
    session.flush()
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind="quote_created",
            actor=actor,
            detail={"quote_id": quote.id, "minutes": minutes, "description": quote.description},
        )
    )
    client = session.get(Client, ticket.client_id) if ticket.client_id else None
    to: tuple[str, ...] = (ticket.requester,)
    if client is not None and not is_authorised(session, ticket, ticket.requester):
        to = tuple(dict.fromkeys((*to, *authorised_contacts(session, client.id))))
    _, policy = ctx.settings.policy_for(client.key if client else None)
    name = session.scalar(select(Contact.name).where(Contact.email == ticket.requester)) or ""
    queue(
        session,
        ctx,
        "quote",
        ticket.language,
        to,
        now,
        ticket=ticket,
        auto=False,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        name=name,
        hours=format_minutes(minutes),
        description=quote.description,
        rate=format_rate(policy.billing, ticket.language),
        portal_url=ctx.portal_url(client.key if client else None, to),
    )
    return quote


def answer_quote(
    session: Session, ctx: MailContext, ticket: Ticket, text: str, actor: str
) -> str | None:
    """Record the client's answer to the ticket's pending quote.

    ``text`` is the new text of the client's reply. Returns ``"accepted"``,
    ``"refused"``, or None (no pending quote, no clear answer, or a writer who
    may not answer).
    """
    quote = pending_quote(session, ticket.id)
    if quote is None:
        return None
    answer = read_answer(text)
    if answer is None:
        return None
    return record_quote_answer(session, ctx, ticket, quote, answer, actor)


def record_quote_answer(
    session: Session,
    ctx: MailContext,
    ticket: Ticket,
    quote: Quote,
    answer: Answer,
    actor: str,
    via: str = "mail",
) -> str | None:
    """Record ``actor``'s answer to ``quote``, the same whether it came by mail or the portal.

    Returns the quote's new status, or None when ``actor`` may not answer (an
    event records the attempt) or the quote is no longer pending. Accepting it
    bills the work held while it was pending.
    """
    now = ctx.clock.now()
    if quote.status != "pending" or quote.ticket_id != ticket.id:
        return None
    if not is_authorised(session, ticket, actor):
        session.add(
            Event(
                ticket_id=ticket.id,
                at=now,
                kind="quote_answer_ignored",
                actor=actor,
                detail={
                    "quote_id": quote.id,
                    "answer": answer,
                    "reason": "not authorised",
                    "via": via,
                },
            )
        )
        return None
    quote.status = "accepted" if answer == "accept" else "refused"
    quote.answered_at = now
    quote.answered_by = actor.strip().lower()
    session.add(
        Event(
            ticket_id=ticket.id,
            at=now,
            kind=f"quote_{quote.status}",
            actor=actor,
            detail={"quote_id": quote.id, "minutes": quote.minutes, "via": via},
        )
    )
    if quote.status == "accepted":
        session.flush()
        release(session, ctx, ticket, actor, f"quote {quote.id} accepted")
    return quote.status
