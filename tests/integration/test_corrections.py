"""A correction shows as such wherever the client's time shows: balance, statement, portal.

Data is made the way maildesk makes it (intake, ``record_work``, ``topup``), the
correction through ``book_correction`` — what ``maildesk clients adjust`` calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from maildesk.billing.corrections import book_correction
from maildesk.billing.statements import build_statement, timesheet_rows
from maildesk.store.models import Client
from tests.integration.portal_helpers import (
    BOSS,
    STAFF,
    PortalDesk,
    rows,
    section,
)

pytestmark = pytest.mark.integration

REASON = "goodwill: slow response on the export"


@pytest.fixture
def desk(db_url: str, tmp_path: Path) -> Iterator[PortalDesk]:
    desk = PortalDesk(db_url, tmp_path)
    yield desk
    desk.close()


def _correct(desk: PortalDesk, client: str, minutes: int, number: str | None) -> None:
    with desk.db.transaction() as session:
        book_correction(
            session, desk.settings, client, minutes, REASON, desk.clock.now(),
            actor=STAFF, ticket_number=number,
        )  # fmt: skip


def test_a_credit_shows_in_balance_statement_and_portal(desk: PortalDesk) -> None:
    desk.topup("acme", 10 * 60, "CARD-1")
    number = desk.report(BOSS, "Export fails")
    desk.work(number, 50)  # 15-minute unit: 60 drawn
    billed = -(-50 // 15) * 15
    assert desk.balance("acme") == 10 * 60 - billed

    desk.at(desk.clock.now() + timedelta(hours=1))
    _correct(desk, "acme", -30, number)
    assert desk.balance("acme") == 10 * 60 - billed + 30

    # the week's statement and its timesheet: a line of its own, with the reason
    monday = desk.clock.now().date() - timedelta(days=desk.clock.now().weekday())
    with desk.db.transaction() as session:
        client = session.query(Client).filter_by(key="acme").one()
        statement = build_statement(session, desk.settings, client, monday, desk.clock.now())
    assert statement.closing == 10 * 60 - billed + 30
    table = timesheet_rows(statement, desk.settings)
    [correction] = [r for r in table[1:-1] if "goodwill" in str(r[2])]
    assert correction[1:3] == [number, f"Export fails (correction: {REASON})"]
    # worked 0, billed −30: given back (durations are cells of minutes, shown h:mm)
    assert [getattr(cell, "minutes", cell) for cell in correction[4:6]] == [0, -30]
    assert getattr(table[-1][5], "minutes", None) == billed - 30  # the billed total counts it

    # the portal's "time spent" table
    with desk.serve() as served, httpx.Client(timeout=10) as http:
        html = http.get(f"{served.base}/c/{desk.token('acme')}").text
    ledger = rows(section(html, "ledger"))
    assert [number + f" Correction: {REASON}", "Ann", "0 min", "-30 min"] in [
        r[1:] for r in ledger
    ], ledger
