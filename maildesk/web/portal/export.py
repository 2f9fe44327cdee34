"""A client's copy of its own data: tickets, their mails, and the ledger, as CSV and JSON.

The records are the database's rows as they are (UTC times in ISO 8601,
minutes as integers), so the copy can be read back and checked; the CSV
files hold the same records as the JSON, one file per table.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.store.models import Client, LedgerEntry, Ticket
from maildesk.web.portal.data import client_messages

__all__ = ["TABLES", "export_csv", "export_json", "export_records"]

TICKET_FIELDS = (
    "number",
    "subject",
    "status",
    "priority",
    "requester",
    "created_at",
    "updated_at",
    "closed_at",
    "response_due_at",
    "resolution_due_at",
)
MESSAGE_FIELDS = (
    "ticket",
    "direction",
    "date",
    "sender",
    "recipients",
    "subject",
    "text",
    "message_id",
)
LEDGER_FIELDS = (
    "id",
    "date",
    "kind",
    "minutes",
    "raw_minutes",
    "ticket",
    "actor",
    "reference",
    "note",
    "expires_at",
)
TABLES: dict[str, Sequence[str]] = {
    "tickets": TICKET_FIELDS,
    "messages": MESSAGE_FIELDS,
    "ledger": LEDGER_FIELDS,
}


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def export_records(
    session: Session, client: Client, redact: Callable[[str], str] = str
) -> dict[str, list[dict[str, Any]]]:
    """Every record of ``client``, by table; ``redact`` cleans the mails' text of links."""
    tickets = session.scalars(
        select(Ticket).where(Ticket.client_id == client.id).order_by(Ticket.id)
    ).all()
    numbers = {t.id: t.number for t in tickets}
    ledger = session.scalars(
        select(LedgerEntry).where(LedgerEntry.client_id == client.id).order_by(LedgerEntry.id)
    ).all()
    return {
        "tickets": [
            {
                "number": t.number,
                "subject": t.subject,
                "status": t.status,
                "priority": t.priority,
                "requester": t.requester,
                "created_at": _iso(t.created_at),
                "updated_at": _iso(t.updated_at),
                "closed_at": _iso(t.closed_at),
                "response_due_at": _iso(t.response_due_at),
                "resolution_due_at": _iso(t.resolution_due_at),
            }
            for t in tickets
        ],
        "messages": [
            {
                "ticket": numbers.get(m.ticket_id or 0, ""),
                "direction": m.direction,
                "date": _iso(m.created_at),
                "sender": m.sender,
                "recipients": m.recipients,
                "subject": m.subject,
                "text": redact(m.text),
                "message_id": m.message_id,
            }
            for m in client_messages(session, client)
        ],
        "ledger": [
            {
                "id": e.id,
                "date": _iso(e.at),
                "kind": e.kind,
                "minutes": e.minutes,
                "raw_minutes": e.raw_minutes,
                "ticket": numbers.get(e.ticket_id or 0, ""),
                "actor": e.actor,
                "reference": e.reference,
                "note": e.note,
                "expires_at": _iso(e.expires_at),
            }
            for e in ledger
        ],
    }


def export_json(records: dict[str, list[dict[str, Any]]], client: Client, now: datetime) -> bytes:
    document: dict[str, Any] = {
        "client": client.key,
        "name": client.name,
        "exported_at": now.isoformat(),
    }
    document.update(records)
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet must not run a client's subject line as a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def export_csv(records: dict[str, list[dict[str, Any]]], table: str) -> bytes:
    """One table as CSV (UTF-8 with a byte-order mark, so spreadsheets read accents)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    fields = TABLES[table]
    writer.writerow(fields)
    for record in records[table]:
        writer.writerow([_cell(record[f]) for f in fields])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
