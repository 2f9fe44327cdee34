"""The timesheet files: the .xlsx opens in a spreadsheet with the CSV's table, styled."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook  # type: ignore[import-untyped]

from maildesk.billing.sheets import Cell, csv_bytes, xlsx_bytes

HEADER: list[Cell] = [
    "Date",
    "Ticket",
    "Subject",
    "Staff",
    "Worked (min)",
    "Billed (min)",
    "From prepaid hours (min)",
    "At the hourly rate (min)",
]
ROWS: list[list[Cell]] = [
    HEADER,
    ["2026-11-16", "2026-000001", 'Quiz <grades> & "marks" — élèves', "Ann Peeters", 50, 60, 60, 0],
    ["2026-11-17", "2026-000002", "  leading and trailing  ", "Bob", 7, 15, 0, 15],
    ["2026-11-18", "2026-000003", "=SUM(A1:A9) is not a formula", "Ann Peeters", 0, 0, 0, 0],
    ["Total", "", "", "", 57, 75, 60, 15],
]


def _open(data: bytes):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(data)).active


def test_the_sheet_holds_the_csv_table() -> None:
    sheet = _open(xlsx_bytes("2026-W47", ROWS))
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    as_text = [["" if v is None else str(v) for v in row] for row in values]
    assert as_text == list(csv.reader(io.StringIO(csv_bytes(ROWS).decode("utf-8"))))
    assert values[1][4:] == [50, 60, 60, 0]  # numbers stay numbers
    assert values[3][2] == "=SUM(A1:A9) is not a formula"  # text from a mail stays text
    assert sheet.title == "2026-W47"
    assert sheet.dimensions == "A1:H5"


def test_header_and_totals_in_bold_and_columns_fit() -> None:
    sheet = _open(xlsx_bytes("2026-W47", ROWS))
    bold = [[bool(cell.font.b) for cell in row] for row in sheet.iter_rows()]
    assert bold[0] == [True] * 8 and bold[-1] == [True] * 8
    assert not any(any(row) for row in bold[1:-1])
    widths = {k: v.width for k, v in sheet.column_dimensions.items()}
    assert widths["A"] == len("2026-11-16") + 2
    assert widths["C"] == max(len(str(row[2])) for row in ROWS) + 2
    assert widths["E"] == len("Worked (min)") + 2


def test_what_a_spreadsheet_cannot_hold_is_left_out() -> None:
    rows: list[list[Cell]] = [["a\x07b", 1], ["Total", 1]]
    sheet = _open(xlsx_bytes("week [1]: a/b*c?" + "x" * 40, rows))
    assert sheet["A1"].value == "ab"
    assert sheet.title == "week -1-- a-b-c-" + "x" * 15
    assert len(sheet.title) == 31


def test_each_workbook_is_whole_on_its_own() -> None:
    first = xlsx_bytes("2026-W47", ROWS)
    second = xlsx_bytes("2026-W48", ROWS[:2] + ROWS[-1:])
    assert _open(first).max_row == 5
    assert _open(second).max_row == 3
    assert _open(second).title == "2026-W48"
