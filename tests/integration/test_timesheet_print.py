"""A task's timesheet printed: LibreOffice headless renders the .xlsx to PDF on one page.

Skipped with the reason when LibreOffice is absent; under ``MAILDESK_REQUIRE_SERVERS=1``
(CI, whose ``.ci/run`` installs it) it fails instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from maildesk.billing.amounts import Amounts
from maildesk.billing.lines import WorkLine
from maildesk.billing.sheets import Layout, xlsx_bytes
from maildesk.billing.timesheet import TaskLine, task_rows
from maildesk.core.money import spreadsheet_format

pytestmark = pytest.mark.integration


def _task(lines: int, language: str, amounts: Amounts) -> bytes:
    """A long task: many lines with long descriptions, amounts excl. and incl. VAT."""
    task = []
    for i in range(lines):
        work = WorkLine(
            at=datetime(2026, 11, 23 + i % 5, 10, tzinfo=UTC),
            ticket_number="2026-000042",
            ticket_subject="Migration",
            actor="claire@lms-vendor.example",
            category="hourly",
            raw=50 + i,
            billed=60,
            at_rate=60,
        )
        description = f"migration des sauvegardes du cours {i}, vérification des inscriptions " * 2
        price = amounts.price(work.at_rate)
        task.append(
            TaskLine(date(2026, 11, 23), "Claire Dubois-Lefebvre", description, work, price)
        )
    rows = task_rows(task, amounts, 38 * 60)
    layout = Layout(spreadsheet_format(amounts.currency, language), one_page=True)
    return xlsx_bytes("2026-000042", rows, layout)


@pytest.mark.parametrize("language", ["fr", "nl", "en"])
def test_a_task_timesheet_prints_on_one_a4_landscape_page(
    printed_pages: Callable[[str, bytes], int], language: str
) -> None:
    amounts = Amounts(Decimal(60), Decimal("19.6"), "EUR", language)
    assert printed_pages(f"task-{language}.xlsx", _task(25, language, amounts)) == 1
