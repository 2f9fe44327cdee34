"""A timesheet as files a client can open: CSV and .xlsx (the one module that imports openpyxl).

Both files hold the same table: a header row, one row per work entry, and a
last row with the totals. Minutes are whole numbers, so the columns add up
exactly in any spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

__all__ = ["Cell", "csv_bytes", "xlsx_bytes"]

Cell = str | int


def csv_bytes(rows: Sequence[Sequence[Cell]]) -> bytes:
    """RFC 4180 CSV (comma, CRLF), UTF-8."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(title: str, rows: Sequence[Sequence[Cell]]) -> bytes:
    """An .xlsx workbook with one sheet; the first and last rows (header, totals) in bold."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31]
    for row in rows:
        sheet.append(list(row))
    bold = Font(bold=True)
    for index in {1, len(rows)}:
        for cell in sheet[index]:
            cell.font = bold
    for column in sheet.columns:
        width = max(len(str(c.value or "")) for c in column)
        letter = column[0].column_letter
        sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
