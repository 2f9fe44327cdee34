"""The invoicing export over a month of each example contract, replayed on a fake clock.

Each story of ``maildesk demo`` is played on the built-in intake (SQLite), a
correction is booked where the contract makes one interesting, and the month is
exported. Every expected figure comes from the contract's rule written here —
every started unit is due, the minimum once per intervention, ``min(rounded
actual, quoted)``, ``amount = minutes × rate / 60`` rounded half up to the cent,
VAT on the rounded amount — never from maildesk's output. The CSV is read back
with the csv module and through LibreOffice, the xlsx with openpyxl.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from maildesk.billing.corrections import book_correction
from maildesk.billing.invoice_files import COLUMNS, csv_export, xlsx_export
from maildesk.billing.invoicing import ClientInvoice, period_lines
from maildesk.billing.ledger import balance
from maildesk.core.config import Settings
from maildesk.demo.stories import STORIES
from maildesk.demo.story import Replay, example_settings, replay
from maildesk.store.models import Client

pytestmark = pytest.mark.integration

VAT = {"hosting-support": 20, "maintenance-subscription": 10}
"""VAT set on two examples (the example configs set none), to check it is applied."""


def billed_units(minutes: int, unit: int, minimum: int = 0) -> int:
    """The contracts' rule: every started unit is due, at least the minimum; nothing for 0."""
    if minutes == 0:
        return 0
    return max(-(-minutes // unit) * unit, minimum)


def cents(value: Fraction) -> Fraction:
    """``value`` rounded to the cent, halves away from zero (what "half up" means for money)."""
    sign = -1 if value < 0 else 1
    return sign * Fraction(floor(abs(value) * 100 + Fraction(1, 2)), 100)


def money(minutes: int, rate: int, vat_percent: int) -> tuple[Fraction, Fraction, Fraction]:
    """Amount, VAT and total of ``minutes`` at ``rate`` per hour."""
    amount = cents(Fraction(minutes * rate, 60))
    vat = cents(amount * vat_percent / 100)
    return amount, vat, amount + vat


@dataclass
class Month:
    """One example's month, played, with its settings and the rows each export format gives."""

    run: Replay
    settings: Settings
    invoices: list[ClientInvoice]
    csv_bytes: bytes
    xlsx_bytes: bytes

    def balance(self, client: str) -> int:
        with self.run.desk.db.transaction() as session:
            row = session.scalars(select(Client).where(Client.key == client)).one()
            return balance(session, row.id, self.run.clock.now()).minutes


def _settings(policy: str, data_dir: Path) -> Settings:
    settings = example_settings(policy, data_dir)
    vat = VAT.get(policy, 0)
    policies = {
        name: p.model_copy(update={"billing": p.billing.model_copy(update={"vat_percent": vat})})
        for name, p in settings.policies.items()
    }
    return settings.model_copy(update={"policies": policies})


def _play(
    policy: str, tmp_path: Path, corrections: list[tuple[str, int, str, str | None]]
) -> Month:
    story = STORIES[policy]
    settings = _settings(policy, tmp_path / policy)
    run = replay(story, settings)
    for step in story.steps:
        run.step(step)
    first = story.steps[0].at
    with run.desk.db.transaction() as session:
        for client, minutes, reason, label in corrections:
            number = run.labels[label] if label else None
            book_correction(
                session, settings, client, minutes, reason, run.clock.now(),
                actor="ann@example.test", ticket_number=number,
            )  # fmt: skip
    with run.desk.db.transaction() as session:
        invoices = period_lines(session, settings, date(first.year, first.month, 1))
    return Month(
        run, settings, invoices, csv_export(invoices), xlsx_export(invoices, f"{first:%Y-%m}")
    )


@pytest.fixture
def months(tmp_path: Path) -> Iterator[dict[str, Month]]:
    played = {
        "learning-helpdesk": _play(
            "learning-helpdesk",
            tmp_path,
            # City Academy has 30 min left: a 1-hour debit draws them and owes the rest.
            [("city-academy", 60, "report configured on site, not logged", None)],
        ),
        "prepaid-assistance": _play(
            "prepaid-assistance",
            tmp_path,
            [("universite-nord", -30, "goodwill: slow response on P2", "P2")],
        ),
        "hosting-support": _play(
            "hosting-support",
            tmp_path,
            [("boulangerie", -30, "goodwill: slow response on 2026-000001", "H1")],
        ),
        "maintenance-subscription": _play(
            "maintenance-subscription",
            tmp_path,
            [("tandarts-de-vries", 15, "virus follow-up call", "M2")],
        ),
    }
    yield played
    for month in played.values():
        month.run.desk.db.dispose()


def _expected() -> dict[str, dict[str, list[tuple[str, int, int | None, int]]]]:
    """Per example, per client: (kind, billed minutes, rate, VAT %) of each line, in order."""
    return {
        "learning-helpdesk": {
            # the 5-hour punch card bought on 16 November
            "hogeschool-west": [("purchase", 5 * 60, None, 0)],
            # the 1-hour debit: 30 min drawn from the card, 30 min owed (no rate)
            "city-academy": [("debt", 60 - 30, None, 0)],
        },
        "prepaid-assistance": {
            # the 40-hour contract; the credit goes back to it, nothing to invoice
            "universite-nord": [("purchase", 40 * 60, None, 0)],
        },
        "hosting-support": {
            "boulangerie": [
                # PHP upgrade: 2 h 40 worked under an accepted 2 h quote, half hours
                ("quote", min(billed_units(160, 30), 120), 60, 20),
                # the outage: 20 min unquoted, then #billable and 31 min, one intervention
                ("hourly", billed_units(20, 30), 60, 20),
                ("hourly", billed_units(20 + 31, 30) - billed_units(20, 30), 60, 20),
                ("correction", -30, 60, 20),
            ],
        },
        "maintenance-subscription": {
            # cancelled client: 20 + 20 min in one intervention, 1 h minimum, the first
            # line bills the minimum, the second nothing
            "garage-smit": [("hourly", billed_units(20, 15, 60), 85, 10)],
            # the virus, marked #billable: 1 h 10 in quarter hours, then the debit
            "tandarts-de-vries": [
                ("hourly", billed_units(70, 15), 85, 10),
                ("correction", 15, 85, 10),
            ],
        },
    }


def _csv_rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark for Excel"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _fraction(text: str) -> Fraction:
    return Fraction(text) if text else Fraction(0)


def test_each_example_month_exports_what_its_contract_bills(months: dict[str, Month]) -> None:
    grand = Fraction(0)
    for policy, clients in _expected().items():
        rows = _csv_rows(months[policy].csv_bytes)
        lines = [r for r in rows if r["kind"] != "total"]
        for client, expected in clients.items():
            got = [r for r in lines if r["client"] == client]
            assert [(r["kind"], int(r["billed_minutes"])) for r in got] == [
                (kind, minutes) for kind, minutes, _, _ in expected
            ], (policy, client)
            sums = [Fraction(0)] * 3
            for row, (kind, minutes, rate, vat) in zip(got, expected, strict=True):
                if rate is None:
                    assert (row["rate_per_hour"], row["amount_excl_vat"], row["total"]) == (
                        "", "0.00", "0.00",
                    )  # fmt: skip
                    continue
                want = money(minutes, rate, vat)
                assert _fraction(row["rate_per_hour"]) == rate
                assert (
                    tuple(_fraction(row[c]) for c in ("amount_excl_vat", "vat", "total")) == want
                ), (policy, client, kind)
                sums = [s + w for s, w in zip(sums, want, strict=True)]
            [total] = [r for r in rows if r["kind"] == "total" and r["client"] == client]
            assert tuple(_fraction(total[c]) for c in ("amount_excl_vat", "vat", "total")) == tuple(
                sums
            )
            grand += sums[2]
        [overall] = [r for r in rows if r["kind"] == "total" and r["client"] == ""]
        assert _fraction(overall["total"]) == sum(
            (_fraction(r["total"]) for r in rows if r["kind"] == "total" and r["client"]),
            Fraction(0),
        )
    assert grand > 0


def test_the_quote_line_names_its_quote_and_corrections_their_reason(
    months: dict[str, Month],
) -> None:
    rows = _csv_rows(months["hosting-support"].csv_bytes)
    [quoted] = [r for r in rows if r["kind"] == "quote"]
    assert (quoted["quote_minutes"], quoted["quote"], quoted["worked_minutes"]) == (
        "120", "PHP 8.3", str(2 * 60 + 40),
    )  # fmt: skip
    [credit] = [r for r in rows if r["kind"] == "correction"]
    assert credit["description"] == "correction: goodwill: slow response on 2026-000001"
    assert credit["ticket"] == months["hosting-support"].run.labels["H1"]
    assert credit["worked_minutes"] == "0"


def test_corrections_move_the_prepaid_balance(months: dict[str, Month]) -> None:
    """A credit goes back to the contract; a debit beyond the hours left is owed."""
    # prepaid-assistance's story ends with 2 h 45 left (40 h − 14 h − 13 h 30 − 9 h − 45 min)
    assert months["prepaid-assistance"].balance("universite-nord") == (
        40 * 60 - 14 * 60 - (13 * 60 + 30) - 9 * 60 - 45 + 30
    )
    assert months["learning-helpdesk"].balance("city-academy") == 30 - 60


def test_the_xlsx_holds_the_same_figures_as_typed_cells(months: dict[str, Month]) -> None:
    for policy, month in months.items():
        book = openpyxl.load_workbook(io.BytesIO(month.xlsx_bytes))
        sheet = book.active
        assert sheet is not None
        values = list(sheet.iter_rows(values_only=True))
        assert list(values[0]) == list(COLUMNS)
        rows = _csv_rows(month.csv_bytes)
        assert len(values) - 1 == len(rows), policy
        for cells, row in zip(values[1:], rows, strict=True):
            by_name = dict(zip(COLUMNS, cells, strict=False))
            for column in ("amount_excl_vat", "vat", "total"):
                assert isinstance(by_name[column], (int, float)), (policy, column)
                assert Fraction(str(by_name[column])) == _fraction(row[column])
            if row["kind"] != "total":
                assert by_name["date"].date().isoformat() == row["date"]  # a date cell
                assert by_name["billed_minutes"] == int(row["billed_minutes"])


def _soffice() -> str | None:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None and os.environ.get("MAILDESK_REQUIRE_SERVERS") == "1":
        pytest.fail("LibreOffice (soffice) is required: apt-get install libreoffice-calc-nogui")
    return found


def test_libreoffice_reads_the_csv_to_the_same_numbers(
    months: dict[str, Month], tmp_path: Path
) -> None:
    """LibreOffice opens the CSV as docs/billing.md says; its .xlsx holds numbers as numbers.

    The import settings are the ones the docs give for the Text Import dialog:
    comma, double quote, UTF-8 (76), from line 1, language English (USA) (1033)
    for the decimal point. (Converted headless without them, LibreOffice 7.4
    reads the file in the system's 8-bit charset, byte order mark or not.)
    """
    soffice = _soffice()
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    month = months["maintenance-subscription"]
    source = tmp_path / "export.csv"
    source.write_bytes(month.csv_bytes)
    out = tmp_path / "converted"
    subprocess.run(
        [
            soffice, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
            "--infilter=CSV:44,34,76,1,,1033", "--convert-to", "xlsx",
            "--outdir", str(out), str(source),
        ],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    sheet = openpyxl.load_workbook(out / "export.xlsx").active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert [str(v) for v in values[0]] == list(COLUMNS)
    rows = _csv_rows(month.csv_bytes)
    assert len(values) - 1 == len(rows)
    for cells, row in zip(values[1:], rows, strict=True):
        by_name = dict(zip(COLUMNS, cells, strict=False))
        assert by_name["client_name"] == (row["client_name"] or None)  # accents intact
        for column in ("amount_excl_vat", "vat", "total"):
            assert isinstance(by_name[column], (int, float)), column  # read as a number
            assert Decimal(str(by_name[column])).quantize(Decimal("0.01")) == Decimal(row[column])
