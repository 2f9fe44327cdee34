"""What a client's page shows, read from the database for one client only.

Every query here filters on the client's id first: a link names one client,
and nothing of another client's can reach the page through a ticket number or
a quote id in the URL. Times are kept in UTC; the page formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.ledger import Bundle, balance
from maildesk.billing.lines import WorkLine, work_lines
from maildesk.billing.mailing import authorised_contacts
from maildesk.store.models import Client, Message, Quote, Ticket

__all__ = [
    "CLIENT_MAIL_KINDS",
    "ClientPage",
    "PendingQuote",
    "TicketPage",
    "client_messages",
    "client_page",
    "client_quote",
    "client_ticket",
    "load_client",
    "ticket_page",
]

ENDED_STATUSES = ("resolved", "closed")
RECENT_LINES = 50
MAX_ID = 2**63 - 1
# The mails a client wrote or was sent; staff notices, pages and staff replies
# with their command lines stay internal.
CLIENT_INBOUND = ("report", "follow_up")
CLIENT_MAIL_KINDS = (
    "ack",
    "ack_missing",
    "info_complete",
    "relay",
    "quote",
    "approval_request",
    "timesheet",
    "low_balance",
    "balance_zero",
    "ticket_resolved",
)


@dataclass(frozen=True)
class PendingQuote:
    id: int
    ticket_number: str
    ticket_subject: str
    minutes: int
    description: str
    created_at: datetime
    can_answer: bool


@dataclass(frozen=True)
class ClientPage:
    """Everything the client's page shows."""

    client_key: str
    client_name: str
    contact: str | None
    contact_authorised: bool
    balance_minutes: int
    bundles: tuple[Bundle, ...]
    used_week: int
    used_month: int
    lines: tuple[WorkLine, ...]
    older_lines: int
    tickets: tuple[Ticket, ...]
    quotes: tuple[PendingQuote, ...]
    authorised: tuple[str, ...]


@dataclass(frozen=True)
class TicketPage:
    ticket: Ticket
    messages: tuple[Message, ...]
    lines: tuple[WorkLine, ...]


def load_client(session: Session, key: str) -> Client | None:
    return session.scalar(select(Client).where(Client.key == key))


def _start_of_week(now: datetime, zone: str) -> datetime:
    today = now.astimezone(ZoneInfo(zone)).date()
    monday = today - timedelta(days=today.weekday())
    return datetime.combine(monday, time(0), ZoneInfo(zone)).astimezone(UTC)


def _start_of_month(now: datetime, zone: str) -> datetime:
    first = now.astimezone(ZoneInfo(zone)).date().replace(day=1)
    return datetime.combine(first, time(0), ZoneInfo(zone)).astimezone(UTC)


def _is_authorised(session: Session, client: Client, contact: str | None) -> bool:
    return contact is not None and contact in authorised_contacts(session, client.id)


def client_page(
    session: Session, client: Client, contact: str | None, zone: str, now: datetime
) -> ClientPage:
    """The page of ``client`` as ``contact`` sees it (writes due bundle expiries)."""
    bal = balance(session, client.id, now)
    lines = work_lines(session, client_id=client.id)
    week = _start_of_week(now, zone)
    month = _start_of_month(now, zone)
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.client_id == client.id, Ticket.status.not_in(ENDED_STATUSES))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    ).all()
    authorised = _is_authorised(session, client, contact)
    quotes = tuple(
        PendingQuote(
            id=quote.id,
            ticket_number=number,
            ticket_subject=subject,
            minutes=quote.minutes,
            description=quote.description,
            created_at=quote.created_at,
            can_answer=authorised,
        )
        for quote, number, subject in session.execute(
            select(Quote, Ticket.number, Ticket.subject)
            .join(Ticket, Quote.ticket_id == Ticket.id)
            .where(Ticket.client_id == client.id, Quote.status == "pending")
            .order_by(Quote.id)
        )
    )
    return ClientPage(
        client_key=client.key,
        client_name=client.name,
        contact=contact,
        contact_authorised=authorised,
        balance_minutes=bal.minutes,
        bundles=bal.bundles,
        used_week=sum(line.billed for line in lines if line.at >= week),
        used_month=sum(line.billed for line in lines if line.at >= month),
        lines=tuple(reversed(lines[-RECENT_LINES:])),
        older_lines=max(0, len(lines) - RECENT_LINES),
        tickets=tuple(tickets),
        quotes=quotes,
        authorised=authorised_contacts(session, client.id),
    )


def client_ticket(session: Session, client: Client, number: str) -> Ticket | None:
    """The ticket with ``number`` if it is ``client``'s, else None (whoever's it is)."""
    return session.scalar(
        select(Ticket).where(Ticket.number == number, Ticket.client_id == client.id)
    )


def client_messages(
    session: Session, client: Client, ticket_id: int | None = None
) -> list[Message]:
    """The mails of the client's tickets that the client wrote or was sent, oldest first."""
    query = (
        select(Message)
        .join(Ticket, Message.ticket_id == Ticket.id)
        .where(
            Ticket.client_id == client.id,
            (
                (Message.direction == "in") & Message.disposition.in_(CLIENT_INBOUND)
                | (Message.direction == "out") & Message.disposition.in_(CLIENT_MAIL_KINDS)
            ),
        )
        .order_by(Message.created_at, Message.id)
    )
    if ticket_id is not None:
        query = query.where(Message.ticket_id == ticket_id)
    return list(session.scalars(query))


def ticket_page(session: Session, client: Client, ticket: Ticket) -> TicketPage:
    return TicketPage(
        ticket=ticket,
        messages=tuple(client_messages(session, client, ticket.id)),
        lines=tuple(work_lines(session, client_id=client.id, ticket_id=ticket.id)),
    )


def client_quote(session: Session, client: Client, quote_id: int) -> tuple[Quote, Ticket] | None:
    """The quote with ``quote_id`` and its ticket, if the ticket is ``client``'s."""
    if not 0 < quote_id <= MAX_ID:
        return None  # from a URL; beyond what a database integer holds (SQLite raises)
    row = session.execute(
        select(Quote, Ticket)
        .join(Ticket, Quote.ticket_id == Ticket.id)
        .where(Quote.id == quote_id, Ticket.client_id == client.id)
        .with_for_update(of=Quote)
    ).first()
    return None if row is None else (row[0], row[1])
