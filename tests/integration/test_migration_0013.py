"""Migration 0013 (invoice_marks) on a database at 0010 holding ledger entries, on both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from maildesk.billing.invoicing import mark_invoiced
from maildesk.store.db import Database, alembic_config

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_upgrade_from_0010_adds_invoice_marks_and_keeps_the_ledger(db_url: str) -> None:
    db = Database(db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO clients (id, key, name, managed_by)"
                " VALUES (1, 'acme', 'Acme', 'config')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO ledger_entries (id, client_id, at, kind, minutes, raw_minutes, actor,"
                " reference, note, idempotency_key) VALUES (5, 1, :t, 'work', -30, 20, 'ann',"
                " 'hourly', '', 'k5')"
            ),
            {"t": WHEN},
        )
    assert "invoice_marks" not in _tables(db)

    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0013")
    assert "invoice_marks" in _tables(db)
    with db.transaction() as session:
        assert mark_invoiced(session, [5], "INV-1", WHEN, "ann") == {5}
    with db.transaction() as session:
        assert mark_invoiced(session, [5], "INV-2", WHEN, "ann") == set()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT minutes FROM ledger_entries")).scalars().all() == [-30]
        marks = conn.execute(sa.text("SELECT ledger_entry_id, reference FROM invoice_marks"))
        assert marks.all() == [(5, "INV-1")]

    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    assert "invoice_marks" not in _tables(db)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM ledger_entries")).scalar() == 1
    db.dispose()
