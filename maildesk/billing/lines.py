"""Work as clients see it: one line per ``#time`` entry, however many rows it took.

A booking split over two bundles, or partly drawn and partly overage, is
several ledger rows (see :mod:`maildesk.billing.ledger`); timesheets and
statements show it as one line with its raw and billed minutes, and how much
of the billed time came from prepaid hours, how much is billed at the rate and
how much is owed (beyond a prepaid contract without a rate). A correction
(:mod:`maildesk.billing.corrections`) is a line of category ``correction``
with its reason.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from maildesk.billing.corrections import CORRECTION_GROUP
from maildesk.billing.ledger import DEBT_REFERENCE, booking_key
from maildesk.store.models import LedgerEntry, Ticket

__all__ = ["WorkLine", "work_lines", "work_lines_by_client"]


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
    owed: int = 0
    """Billed beyond a prepaid contract without a rate: owed until the next purchase."""
    reason: str = ""
    """Why a correction was booked (category ``correction``); empty for work."""
    key: str = ""
    """The booking's idempotency key (its first row's)."""
    note: str = ""
    """Where the booking came from (the ``#time`` line, or why held time was billed)."""
    last_id: int = 0
    """The id of its last ledger row."""


@functools.cache
def _query(filters: frozenset[str]) -> Select[*tuple[Any, ...]]:
    """The work rows (columns only) under the named filters, built once per combination."""
    query = (
        select(
            LedgerEntry.id,
            LedgerEntry.note,
            LedgerEntry.client_id,
            LedgerEntry.idempotency_key,
            LedgerEntry.at,
            LedgerEntry.actor,
            LedgerEntry.reference,
            LedgerEntry.minutes,
            LedgerEntry.raw_minutes,
            LedgerEntry.bundle_id,
            LedgerEntry.billing_group,
            Ticket.number,
            Ticket.subject,
        )
        .outerjoin(Ticket, LedgerEntry.ticket_id == Ticket.id)
        .where(LedgerEntry.kind == "work")
        .order_by(LedgerEntry.id)
    )
    if "client_id" in filters:
        query = query.where(LedgerEntry.client_id == bindparam("client_id"))
    if "client_ids" in filters:
        query = query.where(LedgerEntry.client_id.in_(bindparam("client_ids", expanding=True)))
    if "ticket_id" in filters:
        query = query.where(LedgerEntry.ticket_id == bindparam("ticket_id"))
    if "start" in filters:
        query = query.where(LedgerEntry.at >= bindparam("start"))
    if "end" in filters:
        query = query.where(LedgerEntry.at < bindparam("end"))
    if "after_id" in filters:
        query = query.where(LedgerEntry.id > bindparam("after_id"))
    return query


def work_lines(
    session: Session,
    *,
    client_id: int | None = None,
    ticket_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    after_id: int | None = None,
) -> list[WorkLine]:
    """The booked entries matching the filters (``after_id``: rows after that one), oldest first."""
    filters = {
        "client_id": client_id,
        "ticket_id": ticket_id,
        "start": start,
        "end": end,
        "after_id": after_id,
    }
    given = {name: value for name, value in filters.items() if value is not None}
    return _fold(session.execute(_query(frozenset(given)), given))


def work_lines_by_client(
    session: Session, client_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[WorkLine]]:
    """Per client, :func:`work_lines` between ``start`` and ``end``, in one query."""
    given = {"client_ids": list(client_ids), "start": start, "end": end}
    rows: dict[int, list[Any]] = {cid: [] for cid in client_ids}
    for row in session.execute(_query(frozenset(given)), given):
        rows[row.client_id].append(row)
    return {cid: _fold(client_rows) for cid, client_rows in rows.items()}


def _fold(rows: Iterable[Any]) -> list[WorkLine]:
    """One line per booking: its rows (split over bundles, or at the rate) added up."""
    lines: dict[str, WorkLine] = {}
    for row in rows:
        key = booking_key(row.idempotency_key)
        line = lines.get(key)
        if line is None:
            line = lines[key] = WorkLine(
                at=row.at,
                ticket_number=row.number or "",
                ticket_subject=row.subject or "",
                actor=row.actor,
                category=row.reference,
                key=key,
                note=row.note or "",
            )
            if row.billing_group == CORRECTION_GROUP:
                line.category, line.reason = CORRECTION_GROUP, row.note
        line.last_id = max(line.last_id, row.id)
        billed = -row.minutes
        line.raw += row.raw_minutes
        line.billed += billed
        if row.bundle_id is not None:
            line.drawn += billed
        elif row.reference == DEBT_REFERENCE:
            line.owed += billed
        else:
            line.at_rate += billed
    return list(lines.values())
