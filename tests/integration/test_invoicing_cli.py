"""`maildesk clients adjust` and `maildesk billing export` as an operator runs them.

Marking is checked with two OS processes running the real ``maildesk`` script at
once on the same database (SQLite and PostgreSQL): every line ends up marked
exactly once, and each process reports only the lines it marked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from maildesk.cli.main import app
from maildesk.store.db import Database
from maildesk.store.models import InvoiceMark, LedgerEntry
from tests.integration.helpers import STAFF_ANN, settings_for

pytestmark = pytest.mark.integration

MAILDESK = str(Path(sys.executable).parent / "maildesk")
RATE, VAT = 60, 21
EXTRA = f"""
[policies.default]

[policies.hourly.billing]
kind = "hourly"
unit_minutes = 15
hourly_rate = {RATE}
vat_percent = {VAT}

[policies.cards.billing]
kind = "prepaid"
unit_minutes = 15

[[clients]]
id = "acme"
name = "Acme Hosting"
policy = "hourly"

[[clients]]
id = "beta"
name = "Beta Scholen"
policy = "cards"
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def expected_money(minutes: int) -> tuple[str, str, str]:
    """Amount, VAT and total of ``minutes`` at the rate, each to the cent, half up."""
    amount = (Decimal(minutes * RATE) / 60).quantize(Decimal("0.01"), ROUND_HALF_UP)
    vat = (amount * VAT / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return str(amount), str(vat), str(amount + vat)


def this_month() -> str:
    return f"{datetime.now(UTC):%Y-%m}"  # the CLI books at the system clock's time


@pytest.fixture
def config(db_url: str, tmp_path: Path) -> str:
    _, path = settings_for(db_url, tmp_path, extra=STAFF_ANN + EXTRA)
    db = Database(db_url)
    db.upgrade()
    db.dispose()
    return str(path)


def _lines(out: str) -> list[dict[str, Any]]:
    return [line for client in json.loads(out)["clients"] for line in client["lines"]]


def test_a_correction_is_a_new_entry_shown_in_balance_and_export(config: str) -> None:
    code, out, err = run(
        "clients", "topup", "beta", "--hours", "2", "--ref", "CARD-7", "-c", config
    )
    assert code == 0, err
    code, out, err = run(
        "clients", "adjust", "beta", "--minutes", "-30", "--reason",
        "goodwill: slow response on 2026-000123", "--by", "ann@helpdesk.example", "-c", config,
    )  # fmt: skip
    assert code == 0, err
    assert "credit of 30 min" in out
    code, out, err = run("clients", "balance", "beta", "--json", "-c", config)
    assert json.loads(out)["minutes"] == 2 * 60 + 30

    code, out, err = run(
        "clients", "adjust", "acme", "--minutes", "45", "--reason", "on-site visit", "-c", config,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = run("billing", "export", "--period", this_month(), "--format", "json",
                         "-c", config)  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    by_client = {c["client"]: c for c in data["clients"]}
    [card] = by_client["beta"]["lines"]  # the credit went back to the card: not money
    assert (card["kind"], card["billed_minutes"], card["total"]) == ("purchase", 120, "0.00")
    [debit] = by_client["acme"]["lines"]
    amount, vat, total = expected_money(45)
    assert (debit["kind"], debit["billed_minutes"], debit["description"]) == (
        "correction", 45, "correction: on-site visit",
    )  # fmt: skip
    assert (debit["amount_excl_vat"], debit["vat"], debit["total"]) == (amount, vat, total)
    assert by_client["acme"]["totals"]["total"] == total
    assert data["totals"] == [
        {"currency": "EUR", "amount_excl_vat": amount, "vat": vat, "total": total}
    ]


def test_a_correction_never_changes_an_entry(config: str, db_url: str) -> None:
    run("clients", "topup", "beta", "--hours", "1", "--ref", "CARD-8", "-c", config)
    db = Database(db_url)
    with db.session() as session:
        before = [(e.id, e.minutes, e.note) for e in session.scalars(select(LedgerEntry))]
    run("clients", "adjust", "beta", "--minutes", "20", "--reason", "missed call", "-c", config)
    with db.session() as session:
        after = [(e.id, e.minutes, e.note) for e in session.scalars(select(LedgerEntry))]
    db.dispose()
    assert after[: len(before)] == before
    assert [(m, n) for _, m, n in after[len(before) :]] == [(-20, "missed call")]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("beta", "--minutes", "0", "--reason", "x"), 2, "0 minutes changes nothing"),
        (("beta", "--minutes", "10", "--reason", "  "), 2, "needs a reason"),
        (("beta", "--minutes", "-10", "--reason", "x"), 2, "no prepaid hours left to credit"),
        (("beta", "--minutes", "10", "--reason", "x", "--ticket", "2026-999999"), 1, "no ticket"),
        (("nobody", "--minutes", "10", "--reason", "x"), 1, "no client 'nobody'"),
    ],
)
def test_adjust_refuses_bad_input(
    config: str, args: tuple[str, ...], code: int, message: str
) -> None:
    got, _out, err = run("clients", "adjust", *args, "-c", config)
    assert (got, message in err) == (code, True), err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--period", "2026-13"), "is not a month"),
        ((), "either --period"),
        (("--period", "2026-11", "--invoice", "X"), "either --period"),
        (("--invoice", "X", "--mark-invoiced", "Y"), "cannot be used with --invoice"),
        (("--period", "2026-11", "--format", "pdf"), "choose csv, xlsx or json"),
        (("--period", "2026-11", "--mark-invoiced", " "), "needs a reference"),
    ],
)
def test_export_refuses_bad_options(config: str, args: tuple[str, ...], message: str) -> None:
    code, _out, err = run("billing", "export", *args, "-c", config)
    assert (code, message in err) == (2, True), err


def test_an_unknown_invoice_or_client_is_named(config: str) -> None:
    code, _, err = run("billing", "export", "--invoice", "INV-404", "-c", config)
    assert code == 1 and "INV-404" in err
    code, _, err = run("billing", "export", "--period", "2026-11", "--client", "zz", "-c", config)
    assert code == 1 and "no client 'zz'" in err


def _maildesk(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [MAILDESK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_marking_from_two_processes_marks_each_line_once(config: str, db_url: str) -> None:
    for minutes, reason in ((20, "phone call"), (35, "config review"), (-10, "goodwill")):
        assert run("clients", "adjust", "acme", "--minutes", str(minutes), "--reason", reason,
                   "-c", config)[0] == 0  # fmt: skip
    assert run("clients", "topup", "beta", "--hours", "5", "--ref", "CARD-9", "-c", config)[0] == 0
    period = this_month()
    code, out, err = run("billing", "export", "--period", period, "--format", "json", "-c", config)
    assert code == 0, err
    everything = sorted(line["entry_id"] for line in _lines(out))
    assert len(everything) == 4

    procs = [
        _maildesk("billing", "export", "--period", period, "--format", "json",
                  "--mark-invoiced", "INV-2026-0042", "--by", f"p{i}", "-c", config)
        for i in range(2)
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    per_process = [sorted(line["entry_id"] for line in _lines(out)) for out, _ in outputs]
    # each line was reported by exactly one of them: the one that marked it
    assert sorted(per_process[0] + per_process[1]) == everything

    db = Database(db_url)
    with db.session() as session:
        marks = Counter(session.scalars(select(InvoiceMark.ledger_entry_id)))
    assert marks == Counter(everything)  # once each

    # marking again, under the same or another reference, marks nothing
    code, out, err = run("billing", "export", "--period", period, "--format", "json",
                         "--mark-invoiced", "INV-2026-0043", "-c", config)  # fmt: skip
    assert code == 0 and _lines(out) == [], err
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(InvoiceMark)) == len(everything)
    db.dispose()

    # a later export leaves them out; the invoice shows them again, marked
    code, out, err = run("billing", "export", "--period", period, "--format", "json", "-c", config)
    assert _lines(out) == []
    code, out, err = run("billing", "export", "--invoice", "INV-2026-0042", "--format", "json",
                         "-c", config)  # fmt: skip
    assert code == 0, err
    again = _lines(out)
    assert sorted(line["entry_id"] for line in again) == everything
    assert {line["invoice"] for line in again} == {"INV-2026-0042"}


def test_a_mark_from_a_stale_export_skips_lines_marked_meanwhile(config: str, db_url: str) -> None:
    """The race the unique key settles: B read the lines before A marked and committed them."""
    from maildesk.billing.invoicing import mark_invoiced, parse_period, period_lines
    from maildesk.configfile import load_settings

    for minutes, reason in ((20, "phone call"), (35, "config review")):
        assert run("clients", "adjust", "acme", "--minutes", str(minutes), "--reason", reason,
                   "-c", config)[0] == 0  # fmt: skip
    settings = load_settings(Path(config))
    first = parse_period(this_month())
    db = Database(db_url)
    now = datetime.now(UTC)
    with db.session() as reader:  # B's export, read before A marks
        stale = [line.entry_id for c in period_lines(reader, settings, first) for line in c.lines]
    assert len(stale) == 2
    with db.transaction() as a:
        assert mark_invoiced(a, stale[:1], "INV-A", now, "a") == set(stale[:1])
    with db.transaction() as b:
        assert mark_invoiced(b, stale, "INV-B", now, "b") == set(stale[1:])  # no error, no twice
    with db.session() as session:
        marks = dict(
            session.execute(select(InvoiceMark.ledger_entry_id, InvoiceMark.reference))
            .tuples()
            .all()
        )
    db.dispose()
    assert marks == {stale[0]: "INV-A", stale[1]: "INV-B"}
