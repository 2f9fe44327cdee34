"""Work as clients see it: one line per ``#time`` entry, however many rows it took.

A booking split over two bundles, or partly drawn and partly overage, is
several ledger rows (see :mod:`maildesk.billing.ledger`); timesheets and
statements show it as one line with its raw and billed minutes, and how much
of the billed time came from prepaid hours and how much is billed at the rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.billing.ledger import booking_key
from maildesk.store.models import LedgerEntry, Ticket

__all__ = ["WorkLine", "work_lines"]


@dataclass
class WorkLine:
    """One booked time entry: when, on which ticket, by whom, raw and billed minutes."""

    at: datetime
    ticket_number: str
    ticket_subject: str
    actor: str
    category: str
    raw: int = 0
    billed: int = 0
    drawn: int = 0
    at_rate: int = 0


def work_lines(
    session: Session,
    *,
    client_id: int | None = None,
    ticket_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[WorkLine]:
    """The booked entries matching the filters, oldest first."""
    query = (
        select(LedgerEntry, Ticket.number, Ticket.subject)
        .outerjoin(Ticket, LedgerEntry.ticket_id == Ticket.id)
        .where(LedgerEntry.kind == "work")
        .order_by(LedgerEntry.id)
    )
    if client_id is not None:
        query = query.where(LedgerEntry.client_id == client_id)
    if ticket_id is not None:
        query = query.where(LedgerEntry.ticket_id == ticket_id)
    if start is not None:
        query = query.where(LedgerEntry.at >= start)
    if end is not None:
        query = query.where(LedgerEntry.at < end)
    lines: dict[str, WorkLine] = {}
    for row, number, subject in session.execute(query):
        key = booking_key(row.idempotency_key)
        line = lines.get(key)
        if line is None:
            line = lines[key] = WorkLine(
                at=row.at,
                ticket_number=number or "",
                ticket_subject=subject or "",
                actor=row.actor,
                category=row.reference,
            )
        billed = -row.minutes
        line.raw += row.raw_minutes
        line.billed += billed
        if row.bundle_id is not None:
            line.drawn += billed
        else:
            line.at_rate += billed
    return list(lines.values())
