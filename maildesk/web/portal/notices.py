"""Telling staff what a client did on the portal, since no mail of theirs arrives to say it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from maildesk.billing.mailing import queue
from maildesk.core.durations import format_minutes
from maildesk.notify.context import MailContext
from maildesk.store.models import Quote, Ticket

__all__ = ["tell_quote_author"]


def tell_quote_author(
    session: Session, ctx: MailContext, ticket: Ticket, quote: Quote, contact: str
) -> None:
    """Mail the quote's author (or the team when the author is not staff) the client's answer."""
    staff = ctx.settings.staff_addresses
    author = quote.created_by.strip().lower()
    to = (author,) if author in staff else tuple(sorted(staff))
    queue(
        session,
        ctx,
        "quote_answered",
        ctx.settings.service.language,
        to,
        ctx.clock.now(),
        ticket=ticket,
        auto=False,
        tag=ctx.numbers.tag(ticket.number),
        number=ticket.number,
        subject=ticket.subject,
        contact=contact,
        status=quote.status,
        hours=format_minutes(quote.minutes),
        description=quote.description,
    )
