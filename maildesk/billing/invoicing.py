"""What is to be invoiced in a month, per client, and marking it invoiced (once).

The rules, decided here once (``docs/billing.md`` shows them on the examples):

- **Lines.** One line per ledger row that stands for money or for a card to
  invoice, dated in the month (service statement zone) and not yet marked:

  - ``hourly``: work billed at the hourly rate (hourly and subscription
    contracts, ``#billable`` work, overage beyond prepaid hours, work after
    cancellation);
  - ``quote``: the same under an accepted quote, with the quote's minutes and
    text (the cap is already applied to the billed minutes);
  - ``correction``: a correction billed at the rate (negative: a credit);
  - ``debt``: time owed beyond a prepaid contract without a rate (minutes
    only: the next purchase pays it);
  - ``purchase``: prepaid hours booked with ``clients topup`` (minutes and
    reference: the card itself still needs its invoice).

  Work drawn from prepaid hours, included and held work are already paid or
  not billed, and are not listed.
- **Amounts.** ``amount = billed minutes × hourly rate / 60``, rounded once to
  the cent (half up); ``vat = amount × vat_percent / 100``, rounded the same
  way; ``total = amount + vat``. Totals add the rounded lines, so they match
  the lines to the cent. The rate and VAT are the client's policy's when the
  export is made. Lines without a rate have amount 0.
- **Marking.** :func:`mark_invoiced` writes one ``invoice_marks`` row per
  line's ledger entry, insert-or-skip on its unique entry id: a line is
  invoiced once, also when two processes mark at the same time. A marked line
  leaves later exports and shows in :func:`invoice_lines` of its reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from maildesk.billing.corrections import CORRECTION_GROUP
from maildesk.billing.ledger import DEBT_REFERENCE
from maildesk.billing.mailing import staff_name
from maildesk.core.config import Settings
from maildesk.store.models import Client, InvoiceMark, LedgerEntry, Quote, Ticket

__all__ = [
    "AT_RATE_REFERENCES",
    "ClientInvoice",
    "InvoiceLine",
    "Kind",
    "amounts",
    "invoice_lines",
    "mark_invoiced",
    "month_bounds",
    "parse_period",
    "period_lines",
]

Kind = Literal["hourly", "quote", "correction", "debt", "purchase"]
AT_RATE_REFERENCES = ("hourly", "billable", "after_cancellation", "overage", "correction")
"""``reference`` of work rows billed at the hourly rate (rows without a bundle)."""
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class InvoiceLine:
    """One line of the export: a ledger entry and what it comes to."""

    entry_id: int
    kind: Kind
    day: date
    ticket: str
    who: str
    description: str
    worked_minutes: int
    billed_minutes: int
    rate: Decimal | None
    amount: Decimal
    vat: Decimal
    total: Decimal
    quote_minutes: int | None = None
    quote: str = ""
    invoice: str = ""
    """The reference it was invoiced under (empty: not yet)."""


@dataclass
class ClientInvoice:
    """A client's lines and their totals."""

    client_key: str
    client_name: str
    currency: str
    vat_percent: Decimal
    lines: list[InvoiceLine] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def vat(self) -> Decimal:
        return sum((line.vat for line in self.lines), ZERO)

    @property
    def total(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)

    @property
    def billed_minutes(self) -> int:
        return sum(line.billed_minutes for line in self.lines if line.kind != "purchase")


def parse_period(text: str) -> date:
    """The first day of the month ``YYYY-MM``, or ValueError naming the problem."""
    try:
        year, month = (int(part) for part in text.strip().split("-"))
        return date(year, month, 1)
    except ValueError:
        raise ValueError(f"{text!r} is not a month (write it as 2026-11)") from None


def month_bounds(first: date, zone: str) -> tuple[datetime, datetime]:
    """The month starting ``first``, midnight to midnight in ``zone``, as UTC."""
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    tz = ZoneInfo(zone)
    return (
        datetime.combine(first, time(0), tz).astimezone(UTC),
        datetime.combine(after, time(0), tz).astimezone(UTC),
    )


def amounts(billed_minutes: int, rate: Decimal | None, vat_percent: Decimal) -> tuple[Decimal, ...]:
    """``(amount, vat, total)`` of a line: each rounded once to the cent, half up."""
    if rate is None:
        return ZERO, ZERO, ZERO
    amount = (Decimal(billed_minutes) * rate / 60).quantize(CENT, ROUND_HALF_UP)
    vat = (amount * vat_percent / 100).quantize(CENT, ROUND_HALF_UP)
    return amount, vat, amount + vat


_INVOICEABLE = or_(
    and_(
        LedgerEntry.kind == "work",
        LedgerEntry.bundle_id.is_(None),
        LedgerEntry.reference.in_((*AT_RATE_REFERENCES, DEBT_REFERENCE)),
        LedgerEntry.minutes != 0,
    ),
    LedgerEntry.kind == "purchase",
)


def _rows(query: Select[LedgerEntry]) -> Select[LedgerEntry]:
    return query.where(_INVOICEABLE).order_by(LedgerEntry.client_id, LedgerEntry.at, LedgerEntry.id)


def period_lines(
    session: Session,
    settings: Settings,
    first: date,
    *,
    client_keys: Sequence[str] | None = None,
) -> list[ClientInvoice]:
    """The lines of the month starting ``first`` not invoiced yet, per client."""
    start, end = month_bounds(first, settings.service.statement_zone)
    query = (
        select(LedgerEntry)
        .outerjoin(InvoiceMark, InvoiceMark.ledger_entry_id == LedgerEntry.id)
        .where(LedgerEntry.at >= start, LedgerEntry.at < end, InvoiceMark.id.is_(None))
    )
    if client_keys is not None:
        query = query.join(Client, Client.id == LedgerEntry.client_id).where(
            Client.key.in_(client_keys)
        )
    return _build(session, settings, session.scalars(_rows(query)), "")


def invoice_lines(session: Session, settings: Settings, reference: str) -> list[ClientInvoice]:
    """The lines invoiced under ``reference``, per client (empty when there are none)."""
    query = (
        select(LedgerEntry)
        .join(InvoiceMark, InvoiceMark.ledger_entry_id == LedgerEntry.id)
        .where(InvoiceMark.reference == reference.strip())
    )
    return _build(session, settings, session.scalars(_rows(query)), reference.strip())


def _build(
    session: Session, settings: Settings, entries: Iterable[LedgerEntry], reference: str
) -> list[ClientInvoice]:
    entries = list(entries)
    zone = ZoneInfo(settings.service.statement_zone)
    clients = {
        c.id: c
        for c in session.scalars(
            select(Client).where(Client.id.in_({e.client_id for e in entries}))
        )
    }
    tickets = {
        t.id: t
        for t in session.scalars(
            select(Ticket).where(Ticket.id.in_({e.ticket_id for e in entries if e.ticket_id}))
        )
    }
    quote_ids = {_quote_id(e.billing_group) for e in entries} - {None}
    quotes = {q.id: q for q in session.scalars(select(Quote).where(Quote.id.in_(quote_ids)))}
    found: dict[int, ClientInvoice] = {}
    for entry in entries:
        client = clients[entry.client_id]
        cfg = settings.client(client.key)
        billing = settings.policies[cfg.policy].billing if cfg is not None else None
        invoice = found.get(client.id)
        if invoice is None:
            invoice = found[client.id] = ClientInvoice(
                client_key=client.key,
                client_name=client.name,
                currency=billing.currency if billing else "",
                vat_percent=(billing.vat_percent or ZERO) if billing else ZERO,
            )
        rate = None
        if billing is not None and billing.hourly_rate > 0:
            rate = Decimal(str(billing.hourly_rate)).quantize(CENT)
        ticket = tickets.get(entry.ticket_id) if entry.ticket_id else None
        quote = quotes.get(_quote_id(entry.billing_group) or -1)
        kind = _kind(entry, quote)
        billed = entry.minutes if kind == "purchase" else -entry.minutes
        if kind in ("debt", "purchase"):
            rate = None
        amount, vat, total = amounts(billed, rate, invoice.vat_percent)
        invoice.lines.append(
            InvoiceLine(
                entry_id=entry.id,
                kind=kind,
                day=entry.at.astimezone(zone).date(),
                ticket=ticket.number if ticket else "",
                who=staff_name(settings, entry.actor),
                description=_description(entry, kind, ticket),
                worked_minutes=entry.raw_minutes,
                billed_minutes=billed,
                rate=rate,
                amount=amount,
                vat=vat,
                total=total,
                quote_minutes=quote.minutes if quote else None,
                quote=quote.description if quote else "",
                invoice=reference,
            )
        )
    return sorted(found.values(), key=lambda invoice: invoice.client_key)


def _quote_id(group: str | None) -> int | None:
    if group and group.startswith("q") and group[1:].isdigit():
        return int(group[1:])
    return None


def _kind(entry: LedgerEntry, quote: Quote | None) -> Kind:
    if entry.kind == "purchase":
        return "purchase"
    if entry.reference == DEBT_REFERENCE:
        return "debt"
    if entry.billing_group == CORRECTION_GROUP:
        return "correction"
    return "quote" if quote is not None else "hourly"


def _description(entry: LedgerEntry, kind: Kind, ticket: Ticket | None) -> str:
    if kind == "purchase":
        return f"prepaid hours {entry.reference}"
    if kind == "correction" or (kind == "debt" and entry.billing_group == CORRECTION_GROUP):
        return f"correction: {entry.note}"
    return ticket.subject if ticket else entry.reference


def mark_invoiced(
    session: Session,
    entry_ids: Sequence[int],
    reference: str,
    now: datetime,
    marked_by: str,
) -> set[int]:
    """Mark the entries invoiced under ``reference``; entries marked before are skipped.

    Insert-or-skip on the unique entry id (``ON CONFLICT DO NOTHING``, on
    SQLite and PostgreSQL alike): a second process marking the same lines
    waits for the first one's commit, then skips them. Returns the ids of
    the entries this call marked.
    """
    reference = reference.strip()
    if not reference:
        raise ValueError("an invoice reference must not be empty")
    if not entry_ids:
        return set()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"ledger_entry_id": i, "reference": reference, "marked_at": now, "marked_by": marked_by}
        for i in entry_ids
    ]
    statement = (
        insert(InvoiceMark)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["ledger_entry_id"])
        .returning(InvoiceMark.ledger_entry_id)
    )
    return set(session.scalars(statement))
