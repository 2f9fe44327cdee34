"""The invoicing export as files: CSV, .xlsx and JSON, all holding the same table.

The table: a header row; per client its lines, then a ``total`` row; then one
``total`` row per currency over all clients. Amounts are exact decimals.

- **CSV**: UTF-8 with a byte order mark (so Excel reads the accents), comma
  separated, CRLF lines, RFC 4180 quoting; amounts with a decimal point and
  two decimals (``1234.50``), dates ISO 8601 (``2026-11-23``), minutes as
  whole numbers; no thousands separator. ``docs/billing.md`` says so too.
- **xlsx**: the same rows as typed cells (:mod:`maildesk.billing.invoice_book`).
- **JSON**: per client its lines and totals, amounts as strings
  (``"1234.50"``) so no reader turns them into binary floats.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from maildesk.billing.invoice_book import BookCell, typed_xlsx_bytes
from maildesk.billing.invoicing import ZERO, ClientInvoice, InvoiceLine

__all__ = ["COLUMNS", "csv_export", "grand_totals", "json_export", "table", "xlsx_export"]

COLUMNS = (
    "client",
    "client_name",
    "kind",
    "date",
    "ticket",
    "who",
    "description",
    "worked_minutes",
    "billed_minutes",
    "rate_per_hour",
    "amount_excl_vat",
    "vat_percent",
    "vat",
    "total",
    "currency",
    "quote_minutes",
    "quote",
    "entry_id",
    "invoice",
)


def _line_row(invoice: ClientInvoice, line: InvoiceLine) -> list[BookCell]:
    return [
        invoice.client_key,
        invoice.client_name,
        line.kind,
        line.day,
        line.ticket,
        line.who,
        line.description,
        line.worked_minutes,
        line.billed_minutes,
        line.rate,
        line.amount,
        invoice.vat_percent if line.rate is not None else None,
        line.vat,
        line.total,
        invoice.currency,
        line.quote_minutes,
        line.quote,
        line.entry_id,
        line.invoice,
    ]


def _total_row(
    client: str, name: str, minutes: int | None, sums: tuple[Decimal, ...], currency: str
) -> list[BookCell]:
    amount, vat, total = sums
    row: list[BookCell] = [client, name, "total", None, "", "", "", None, minutes, None, amount]
    return [*row, None, vat, total, currency]


def grand_totals(invoices: Sequence[ClientInvoice]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Per currency: amount, VAT and total over all clients."""
    sums: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    for invoice in invoices:
        amount, vat, total = sums.get(invoice.currency, (ZERO, ZERO, ZERO))
        sums[invoice.currency] = (amount + invoice.amount, vat + invoice.vat, total + invoice.total)
    return sums


def table(invoices: Sequence[ClientInvoice]) -> tuple[list[list[BookCell]], set[int]]:
    """The rows, and which of them (0-based) are the header and totals."""
    rows: list[list[BookCell]] = [list(COLUMNS)]
    strong = {0}
    for invoice in invoices:
        rows += [_line_row(invoice, line) for line in invoice.lines]
        strong.add(len(rows))
        rows.append(
            _total_row(
                invoice.client_key,
                invoice.client_name,
                invoice.billed_minutes,
                (invoice.amount, invoice.vat, invoice.total),
                invoice.currency,
            )
        )
    for currency, sums in grand_totals(invoices).items():
        strong.add(len(rows))
        rows.append(_total_row("", "", None, sums, currency))
    return rows, strong


def _text(value: BookCell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def csv_export(invoices: Sequence[ClientInvoice]) -> bytes:
    """The table as CSV for LibreOffice and Excel: UTF-8 with BOM, comma, decimal point."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in table(invoices)[0]:
        writer.writerow([_text(value) for value in row])
    return out.getvalue().encode("utf-8-sig")


def xlsx_export(invoices: Sequence[ClientInvoice], title: str) -> bytes:
    """The table as an .xlsx workbook with typed cells."""
    rows, strong = table(invoices)
    return typed_xlsx_bytes(title, rows, strong)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def json_export(
    invoices: Sequence[ClientInvoice], *, period: str | None, invoice: str | None
) -> str:
    """The export as JSON: per client its lines and totals; amounts as decimal strings."""
    data: dict[str, Any] = {
        "period": period,
        "invoice": invoice,
        "clients": [
            {
                "client": inv.client_key,
                "name": inv.client_name,
                "currency": inv.currency,
                "vat_percent": str(inv.vat_percent),
                "lines": [
                    {
                        "entry_id": line.entry_id,
                        "kind": line.kind,
                        "date": line.day.isoformat(),
                        "ticket": line.ticket,
                        "who": line.who,
                        "description": line.description,
                        "worked_minutes": line.worked_minutes,
                        "billed_minutes": line.billed_minutes,
                        "rate_per_hour": _money(line.rate),
                        "amount_excl_vat": _money(line.amount),
                        "vat": _money(line.vat),
                        "total": _money(line.total),
                        "quote_minutes": line.quote_minutes,
                        "quote": line.quote or None,
                        "invoice": line.invoice or None,
                    }
                    for line in inv.lines
                ],
                "totals": {
                    "billed_minutes": inv.billed_minutes,
                    "amount_excl_vat": str(inv.amount),
                    "vat": str(inv.vat),
                    "total": str(inv.total),
                },
            }
            for inv in invoices
        ],
        "totals": [
            {"currency": currency, "amount_excl_vat": str(a), "vat": str(v), "total": str(t)}
            for currency, (a, v, t) in grand_totals(invoices).items()
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False)
