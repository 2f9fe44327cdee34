"""A task's timesheet under a contract with a rate and VAT: amounts per line, rounded once."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl

from maildesk.billing.amounts import Amounts
from maildesk.billing.lines import WorkLine
from maildesk.billing.sheets import Duration, Layout, Money, csv_bytes, xlsx_bytes
from maildesk.billing.statements import Statement, timesheet_rows
from maildesk.billing.timesheet import TaskLine, task_rows
from maildesk.core.config import settings_from_toml
from maildesk.core.money import spreadsheet_format

NBSP = "\u00a0"
RATE, VAT = Decimal(60), Decimal("19.6")


def _line(raw: int, billed: int, category: str) -> TaskLine:
    work = WorkLine(
        at=datetime(2026, 11, 24, 10, tzinfo=UTC),
        ticket_number="2026-000001",
        ticket_subject="Migration",
        actor="paul@hosting.example",
        category=category,
        raw=raw,
        billed=billed,
        at_rate=billed if category != "included" else 0,
    )
    amounts = Amounts(RATE, VAT, "EUR", "fr")
    price = amounts.price(work.at_rate) if work.at_rate else None
    return TaskLine(date(2026, 11, 24), "Paul", "migration", work, price)


def test_amounts_per_line_and_totals_in_the_sheet() -> None:
    amounts = Amounts(RATE, VAT, "EUR", "fr")
    lines = [_line(70, 90, "hourly"), _line(10, 0, "included"), _line(25, 30, "hourly")]
    rows = task_rows(lines, amounts, None)
    # By hand: 90 min at 60/h = 90.00, incl. 19.6 % = 107.64; 30 min = 30.00 → 35.88.
    assert rows[0][-2:] == ["Montant HTVA", "Montant TVAC"]
    data = xlsx_bytes("t", rows, Layout(spreadsheet_format("EUR", "fr")))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    amount_cells = [(row[6], row[7]) for row in sheet.iter_rows(min_row=2)]
    values = [(a.value, b.value) for a, b in amount_cells]
    assert values == [(90, 107.64), (None, None), (30, 35.88), (120, 143.52)]
    for a, b in (amount_cells[0], amount_cells[2], amount_cells[3]):
        for cell in (a, b):
            assert cell.data_type == "n"
            assert cell.number_format == '#,##0.00\\ "€"'
    table = list(csv.reader(io.StringIO(csv_bytes(rows).decode())))
    assert table[1][6:] == [f"90,00{NBSP}€", f"107,64{NBSP}€"]
    assert table[-1][6:] == [f"120,00{NBSP}€", f"143,52{NBSP}€"]


def test_no_rate_no_amount_columns_and_time_owed() -> None:
    amounts = Amounts(None, None, "EUR", "en")
    rows = task_rows([_line(300, 300, "debt")], amounts, -45)
    assert rows[0] == ["Date", "Staff", "Work done", "Worked", "Billed", "Included or billable"]
    assert rows[-1][0] == "Time owed"
    assert rows[-1][4].minutes == 45  # type: ignore[union-attr]


def test_weekly_statement_rows_price_time_at_the_rate() -> None:
    """The statement's workbook: h:mm durations and, under a rate, the amounts per line."""
    settings = settings_from_toml(
        '[policies.default.billing]\nkind = "hourly"\nhourly_rate = 85.0\n'
        '[[clients]]\nid = "praktijk"\nname = "Praktijk"\nlanguage = "nl"\n',
        "site.toml",
    )
    line = _line(50, 50, "billable").line
    statement = Statement(
        client_key="praktijk",
        client_name="Praktijk",
        language="nl",
        monday=date(2026, 11, 23),
        zone="Europe/Brussels",
        opening=0,
        closing=0,
        remaining=0,
        movements=(),
        lines=(line, line),
    )
    rows = timesheet_rows(statement, settings)
    assert rows[0][-1] == "Bedrag"  # no VAT set: one amount column
    # By hand: 50 min at 85/h = 70.8333… → 70.83 per line; the total adds the lines.
    assert [row[-1] for row in rows[1:]] == [
        Money(Decimal("70.83"), f"€{NBSP}70,83"),
        Money(Decimal("70.83"), f"€{NBSP}70,83"),
        Money(Decimal("141.66"), f"€{NBSP}141,66"),
    ]
    assert rows[-1][4] == Duration(100)
