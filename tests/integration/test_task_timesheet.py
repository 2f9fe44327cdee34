"""Rule 7: a detailed timesheet after each task, on the LMS vendor's contract.

Replayed through the real pipeline (Dovecot, ``Maildesk.run_once``, the SMTP sink) on
the ``prepaid-assistance`` example with a fake clock. Every figure is computed here
from the contract's rule (15-minute unit over the intervention's running total, 40
prepaid hours), never copied from maildesk's output.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta

import openpyxl
import pytest

from tests.integration.test_billing_rules import (  # noqa: F401 (the fixture)
    CLAIRE,
    DSI,
    REPORT,
    Contract,
    billed_units,
    contract,
)
from tests.servers.smtp_sink import Received

pytestmark = pytest.mark.integration

MARC = "marc@lms-vendor.example"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["Date", "Intervenant", "Travail effectué", "Travail", "Facturé", "Inclus ou facturable"]


def _files(mail: Received) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for part in mail.message.iter_attachments():
        name = part.get_filename()
        payload = part.get_payload(decode=True)
        assert name and isinstance(payload, bytes)
        found[part.get_content_type()] = payload
    return found


def _text(mail: Received) -> str:
    body = mail.message.get_body(("plain",))
    assert body is not None
    return " ".join(body.get_content().split())


def _hm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _check_xlsx(data: bytes, expected: list[list[object]]) -> None:
    """Every cell's value and type: dates are dates, durations h:mm numbers; the print setup."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    rows = [list(row) for row in sheet.iter_rows()]
    assert len(rows) == len(expected)
    got = [[c.value for c in row][: len(want)] for row, want in zip(rows, expected, strict=True)]
    assert got == [
        [
            v
            if not isinstance(v, int) or isinstance(v, bool)
            else timedelta(minutes=v)  # a duration cell
            for v in want
        ]
        for want in expected
    ]
    for row in rows[1:]:
        for cell in row:
            if isinstance(cell.value, datetime):
                assert cell.number_format == "yyyy-mm-dd"
            elif isinstance(cell.value, timedelta):
                assert cell.data_type == "d" and cell.number_format == "[h]:mm"
            else:
                assert cell.value is None or isinstance(cell.value, str)
    setup = sheet.page_setup
    assert (setup.orientation, str(setup.paperSize)) == ("landscape", "9")  # A4
    assert (str(setup.fitToWidth), str(setup.fitToHeight)) == ("1", "1")
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"  # the header on every page


def test_a_resolved_task_gets_one_timesheet_and_a_reopened_one_its_new_work(
    contract: Callable[[str], Contract],  # noqa: F811
) -> None:
    run = contract("prepaid-assistance")
    run.topup(0, "universite-nord", 40, "CONTRAT-1")
    run.mail(1, DSI, "Cours bloqué", REPORT, "P", screenshot=True)
    run.mail(2, CLAIRE, "Re: {P} Cours bloqué", "Je regarde.\n\n#time 1h30 migré les sauvegardes\n")
    assert run.mails(DSI, "Relevé de temps") == []  # booking alone sends nothing
    run.mail(
        3,
        MARC,
        "Re: {P} Cours bloqué",
        "Le cours est rétabli.\nBonne journée.\n\n#time 20m\n#time 10m #included\n"
        "#status resolved\n",
    )
    [first] = run.mails(DSI, "Relevé de temps")

    # The rule: the intervention's running total rounded to 15 minutes; each line
    # bills the difference; included work is recorded at no charge.
    billed_1 = billed_units(90, 15)
    billed_2 = billed_units(90 + 20, 15) - billed_1
    left = 40 * 60 - billed_1 - billed_2
    day = date(2026, 11, 23)
    expected = [
        HEADER,
        [datetime(2026, 11, 23), "Claire", "migré les sauvegardes", 90, billed_1, "facturable"],
        [datetime(2026, 11, 23), "Marc", "Le cours est rétabli.", 20, billed_2, "facturable"],
        [datetime(2026, 11, 23), "Marc", "Le cours est rétabli.", 10, 0, "inclus"],
        ["Total", None, None, 120, billed_1 + billed_2, None],
        ["Heures restantes", None, None, None, left],
    ]
    files = _files(first)
    _check_xlsx(files[XLSX], expected)
    table = list(csv.reader(io.StringIO(files["text/csv"].decode("utf-8"))))
    assert table[0] == HEADER
    assert table[1] == [
        *(day.isoformat(), "Claire", "migré les sauvegardes"),
        *(_hm(90), _hm(billed_1), "facturable"),
    ]
    assert table[-2][:5] == ["Total", "", "", _hm(120), _hm(billed_1 + billed_2)]
    assert table[-1] == ["Heures restantes", "", "", "", _hm(left)]
    text = _text(first)
    assert "Claire : migré les sauvegardes" in text
    assert "facturé : 0 min (inclus)" in text

    # The client writes again: a new intervention; resolved again, a second timesheet
    # with its own work only, rounded on its own.
    run.mail(5, DSI, "Re: {P} Cours bloqué", "Le problème est revenu.\n")
    run.mail(6, CLAIRE, "Re: {P} Cours bloqué", "Corrigé.\n\n#time 7m\n#status resolved\n")
    [_, second] = run.mails(DSI, "Relevé de temps")
    billed_3 = billed_units(7, 15)
    _check_xlsx(
        _files(second)[XLSX],
        [
            HEADER,
            [datetime(2026, 11, 23), "Claire", "Corrigé.", 7, billed_3, "facturable"],
            ["Total", None, None, 7, billed_3, None],
            ["Heures restantes", None, None, None, left - billed_3],
        ],
    )
    assert run.balance("universite-nord") == left - billed_3
