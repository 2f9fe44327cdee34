"""Properties of booking work, for any sequence of ``#time`` lines (hypothesis, SQLite).

- One intervention's lines bill, in all, the contract's rule applied to their sum
  (every started unit, then the minimum), whatever the split and whether the time is
  drawn from bundles, billed at the rate or owed beyond the prepaid hours.
- The ledger is append-only: each booking leaves every earlier row as it was.
- A balance is the sum of the client's entries.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from maildesk.billing.ledger import ticket_billed
from maildesk.store.models import LedgerEntry
from tests.integration.test_billing_work import Desk

pytestmark = pytest.mark.integration

# client -> (unit, minimum) of its policy in test_billing_work.CONFIG; "maint" is
# booked after its cancellation (2026-11-18): the 1-hour minimum at the rate.
RULES = {"acme": (15, 0), "lms": (1, 0), "host": (30, 0), "maint": (1, 60)}
REQUESTERS = {
    "acme": "boss@acme.example",
    "lms": "it@lms.example",
    "host": "ops@host.example",
    "maint": "it@maint.example",
}


def _rule(minutes: int, unit: int, minimum: int) -> int:
    return 0 if minutes == 0 else max(-(-minutes // unit) * unit, minimum)


def _rows(desk: Desk) -> list[tuple[object, ...]]:
    with desk.db.session() as session:
        return [
            (e.id, e.client_id, e.at, e.kind, e.minutes, e.raw_minutes, e.bundle_id,
             e.reference, e.idempotency_key)
            for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.id))
        ]  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    client=st.sampled_from(sorted(RULES)),
    lines=st.lists(st.integers(1, 600), min_size=1, max_size=6),
    bought=st.sampled_from([0, 45, 600]),
)
def test_lines_of_one_intervention_bill_the_rule_applied_to_their_sum(
    client: str, lines: list[int], bought: int
) -> None:
    with TemporaryDirectory() as tmp:
        desk = Desk(f"sqlite:///{Path(tmp) / 'maildesk.db'}")
        try:
            if client == "maint":
                desk.later(days=3)
            if bought:
                desk.topup(client, bought, "INV-1")
            ticket = desk.ticket(client, REQUESTERS[client])
            for i, raw in enumerate(lines):
                before = _rows(desk)
                desk.book(ticket, raw, f"time:{i}")
                after = _rows(desk)
                assert after[: len(before)] == before, "earlier rows are never changed"
                assert desk.balance(client) == sum(row[4] for row in after)  # type: ignore[misc]
                desk.later(minutes=10)
            with desk.db.session() as session:
                billed = ticket_billed(session, ticket)
            assert billed == _rule(sum(lines), *RULES[client])
        finally:
            desk.db.dispose()
