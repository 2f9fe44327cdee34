"""Ticket numbers drawn safely under concurrency, and ticket look-ups."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from maildesk.core.numbers import NumberFormat
from maildesk.store.models import Message, Ticket, TicketSequence

_DRAW = (
    update(TicketSequence)
    .where(TicketSequence.scope == bindparam("wanted_scope"))
    .values(last=TicketSequence.last + 1)
    .returning(TicketSequence.last)
)


def next_sequence(session: Session, scope: str) -> int:
    """The next number of ``scope``'s counter, inside the caller's transaction.

    The UPDATE takes a row lock (PostgreSQL) or the write lock (SQLite), so
    two processes never draw the same number; the first number of a scope is
    inserted under a savepoint, and a racing insert falls back to the UPDATE.
    """
    for _ in range(3):
        # Plain SQL on the session's connection, in its transaction: no counter row is
        # held as an ORM object, so the ORM's bulk-update bookkeeping has nothing to do.
        seq: int | None = session.connection().scalar(_DRAW, {"wanted_scope": scope})
        if seq is not None:
            return seq
        try:
            with session.begin_nested():
                session.add(TicketSequence(scope=scope, last=1))
            return 1
        except IntegrityError:
            continue
    raise RuntimeError(f"could not draw a ticket number for scope {scope!r}")


def allocate_number(session: Session, fmt: NumberFormat, year: int) -> str:
    """A new, unique ticket number."""
    return fmt.number(year, next_sequence(session, fmt.scope(year)))


def ticket_by_number(session: Session, number: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.number == number))


def ticket_by_message_ids(session: Session, message_ids: list[str]) -> Ticket | None:
    """The ticket of the most recent stored message (in or out) among ``message_ids``."""
    if not message_ids:
        return None
    row = session.execute(
        select(Ticket)
        .join(Message, Message.ticket_id == Ticket.id)
        .where(Message.message_id.in_(message_ids))
        .order_by(Message.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return row
