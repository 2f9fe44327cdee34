"""Migration 0006 (work scope, interventions, billing groups) from 0004 with a ledger in it.

No booking is rewritten: every ledger row reads the same after the upgrade. A ticket
marked ``#billable`` keeps its mark as ``scope``. A quote accepted before the upgrade
still caps what its ticket is billed after it: the rows booked before the upgrade
count in the quote's group, so the total stays ``min(rounded actual, quoted)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from maildesk.billing.ledger import balance, ticket_billed
from maildesk.billing.work import record_work
from maildesk.core.clock import FakeClock
from maildesk.notify.context import MailContext
from maildesk.notify.render import Renderer
from maildesk.store.db import Database, alembic_config
from maildesk.store.models import Ticket
from tests.integration.helpers import STAFF_ANN, settings_for

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
POLICY = """
[policies.default.billing]
kind = "hourly"
hourly_rate = 60
unit_minutes = 30
"""
LEDGER_COLUMNS = (
    "id, client_id, at, kind, minutes, raw_minutes, bundle_id, ticket_id, actor,"
    " reference, note, idempotency_key"
)


def _insert(conn: sa.Connection, table: str, **values: object) -> None:
    names = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    conn.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)


def _ledger(conn: sa.Connection) -> list[tuple[object, ...]]:
    rows = conn.execute(sa.text(f"SELECT {LEDGER_COLUMNS} FROM ledger_entries ORDER BY id"))
    return [tuple(row) for row in rows]


def _at_0004(db: Database, url: str) -> None:
    """A 0004 database: a client, a ticket marked billable, and one with an accepted quote."""
    cfg = alembic_config(url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    with db.engine.begin() as conn:
        _insert(conn, "clients", id=1, key="acme", name="Acme Learning")
        for ticket_id, billable in ((1, True), (2, False)):
            _insert(
                conn,
                "tickets",
                id=ticket_id,
                number=f"2026-00000{ticket_id}",
                subject="Old",
                client_id=1,
                requester="boss@acme.example",
                status="open",
                priority="normal",
                language="en",
                billable=billable,
                created_at=T0,
                updated_at=T0,
            )
        _insert(
            conn,
            "quotes",
            id=1,
            ticket_id=2,
            minutes=120,
            description="Upgrade",
            status="accepted",
            created_at=T0,
            created_by="ann@helpdesk.example",
        )
        # Booked line by line before the upgrade: 80 minutes worked, 90 billed.
        for i, (raw, billed) in enumerate(((80, 90),)):
            _insert(
                conn,
                "ledger_entries",
                client_id=1,
                at=T0 + timedelta(hours=1 + i),
                kind="work",
                minutes=-billed,
                raw_minutes=raw,
                ticket_id=2,
                actor="ann@helpdesk.example",
                reference="hourly",
                note="",
                idempotency_key=f"time:old-{i}",
            )
            _insert(
                conn,
                "ledger_entries",
                client_id=1,
                at=T0 + timedelta(hours=1 + i),
                kind="adjustment",
                minutes=billed,
                raw_minutes=0,
                ticket_id=2,
                actor="ann@helpdesk.example",
                reference="billed-at-rate",
                note="",
                idempotency_key=f"time:old-{i}#rate",
            )


def test_upgrade_keeps_every_booking_and_the_quote_cap(db_url: str, tmp_path: Path) -> None:
    settings, _ = settings_for(db_url, tmp_path, extra=STAFF_ANN + POLICY)
    db = Database(db_url)
    _at_0004(db, db_url)
    with db.engine.connect() as conn:
        before = _ledger(conn)

    db.upgrade()

    with db.engine.connect() as conn:
        assert _ledger(conn) == before, "no booking is rewritten"
        groups = conn.execute(sa.text("SELECT billing_group FROM ledger_entries")).scalars()
        assert set(groups) == {None}
        tickets = conn.execute(
            sa.text("SELECT id, scope, intervention FROM tickets ORDER BY id")
        ).all()
    assert [tuple(t) for t in tickets] == [(1, "billable", 1), (2, None, 1)]
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("tickets")}
    assert "billable" not in columns

    # New work under the quote accepted before the upgrade: still capped at 2 h overall.
    clock = FakeClock(T0 + timedelta(days=1))
    ctx = MailContext.create(settings, clock, Renderer(default_language="en"))
    with db.transaction() as session:
        ticket = session.get(Ticket, 2)
        assert ticket is not None
        record_work(session, ctx, ticket, 60, "ann@helpdesk.example", "time:new-1")
    with db.session() as session:
        unit, quoted = 30, 120
        assert ticket_billed(session, 2) == min(-(-(80 + 60) // unit) * unit, quoted)
        assert session.scalars(select(Ticket.scope).where(Ticket.id == 1)).one() == "billable"
    with db.transaction() as session:
        bal = balance(session, 1, clock.now())
    with db.engine.connect() as conn:
        total = conn.execute(sa.text("SELECT sum(minutes) FROM ledger_entries")).scalar()
    assert bal.minutes == total
    db.dispose()


def test_downgrade_to_0004_keeps_the_billable_mark(db_url: str) -> None:
    db = Database(db_url)
    _at_0004(db, db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, billable FROM tickets ORDER BY id")).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("ledger_entries")}
    assert [(i, bool(b)) for i, b in rows] == [(1, True), (2, False)]
    assert "billing_group" not in columns
    db.dispose()
