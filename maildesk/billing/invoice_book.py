"""The invoicing export as an .xlsx workbook with typed cells (openpyxl; see ``sheets``).

Amounts are numbers (``Decimal`` written as numbers, shown with two decimals),
dates are dates (shown ``yyyy-mm-dd``), minutes are whole numbers, so a
spreadsheet adds and filters them without converting text. An export is made
by hand once a month, so plain openpyxl is fast enough here (unlike the weekly
timesheets in :mod:`maildesk.billing.sheets`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

__all__ = ["BookCell", "typed_xlsx_bytes"]

BookCell = str | int | Decimal | date | None
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NOT_IN_TITLE = re.compile(r"[\\*?:/\[\]]")


def typed_xlsx_bytes(title: str, rows: Sequence[Sequence[BookCell]], bold: set[int]) -> bytes:
    """One sheet holding ``rows``; the rows numbered in ``bold`` (0-based) in bold."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _NOT_IN_TITLE.sub("-", _ILLEGAL.sub("", title))[:31] or "Sheet"
    widths: dict[int, int] = {}
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, str):
                cell.value = _ILLEGAL.sub("", value)
            else:
                cell.value = value
            if isinstance(value, Decimal):
                cell.number_format = "0.00"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            if r - 1 in bold:
                cell.font = Font(bold=True)
            widths[c] = max(widths.get(c, 0), len(str(value)))
    for c, chars in widths.items():
        sheet.column_dimensions[sheet.cell(row=1, column=c).column_letter].width = min(
            max(chars + 2, 8), 60
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
