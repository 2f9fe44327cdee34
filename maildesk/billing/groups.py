"""The group of work a new line of a ticket joins, and what the group holds so far.

Rounding and a quote's cap apply to a group of lines, not to one line (see
:mod:`maildesk.billing.contracts`). A ticket's lines join, in this order:

- the group of its latest quote (``q<ID>``), pending, accepted or refused:
  "everything booked on the ticket since the quote was made", including the
  work held under the pending quotes it superseded;
- else the group of its current intervention (``i<N>``): the ticket's work
  from its opening or last reopening (``tickets.intervention``, counted up by
  :func:`begin_intervention`) until it is resolved.

A group's totals are read from its work rows: worked minutes of every row
that is not included (held rows count: they are billed when released) and
the minutes billed. Rows booked before migration 0006 carry no group; a
quote's group still counts the rows booked on its ticket since the quote was
made, so a cap holds across the upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from maildesk.billing.contracts import QuoteState
from maildesk.store.models import LedgerEntry, Quote, Ticket

__all__ = ["Group", "begin_intervention", "current_group"]


@dataclass(frozen=True)
class Group:
    """A ticket's current group of work and its totals so far."""

    name: str
    quote: QuoteState
    quoted: int | None
    worked: int
    """Worked minutes of its lines that are not included."""
    billed: int


def _latest_quote(session: Session, ticket_id: int) -> tuple[Quote | None, list[Quote]]:
    """The ticket's latest quote and the pending ones it superseded (their work is its)."""
    latest: Quote | None = None
    replaced: list[Quote] = []
    for quote in session.scalars(
        select(Quote).where(Quote.ticket_id == ticket_id).order_by(Quote.id.desc())
    ):
        if quote.status != "superseded":
            if latest is not None:
                break
            latest = quote
        elif latest is not None:
            replaced.append(quote)
    return latest, replaced


def _state(status: str) -> QuoteState:
    if status == "pending":
        return "pending"
    return "accepted" if status == "accepted" else "refused"


def current_group(session: Session, ticket: Ticket) -> Group:
    """The group a line booked now on ``ticket`` joins, with its totals."""
    quote, replaced = _latest_quote(session, ticket.id)
    name = f"q{quote.id}" if quote is not None else f"i{ticket.intervention}"
    member: ColumnElement[bool] = LedgerEntry.billing_group.in_(
        [name, *(f"q{q.id}" for q in replaced)]
    )
    if quote is not None:
        since = min(q.created_at for q in (quote, *replaced))
        member = or_(member, and_(LedgerEntry.billing_group.is_(None), LedgerEntry.at >= since))
    worked, billed = session.execute(
        select(
            func.coalesce(
                func.sum(LedgerEntry.raw_minutes).filter(LedgerEntry.reference != "included"), 0
            ),
            func.coalesce(-func.sum(LedgerEntry.minutes), 0),
        ).where(LedgerEntry.ticket_id == ticket.id, LedgerEntry.kind == "work", member)
    ).one()
    return Group(
        name=name,
        quote="none" if quote is None else _state(quote.status),
        quoted=quote.minutes if quote is not None and quote.status == "accepted" else None,
        worked=int(worked),
        billed=int(billed),
    )


def begin_intervention(ticket: Ticket) -> None:
    """The ticket is opened again after its resolution: later work is a new intervention."""
    ticket.intervention = (ticket.intervention or 1) + 1
