"""Migration 0010 (mailbox_health) on a database at 0004 holding data, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from maildesk.store.db import Database, alembic_config
from maildesk.store.health import OUTGOING, health_rows, record_failure

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_upgrade_from_0004_adds_the_health_table_and_keeps_the_data(db_url: str) -> None:
    db = Database(db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO tickets (id, number, subject, requester, status, priority, language,"
                " created_at, updated_at) VALUES (7, '2026-000007', 'Kept', 'a@x.example',"
                " 'open', 'high', 'en', :t, :t)"
            ),
            {"t": WHEN},
        )
        conn.execute(sa.text("INSERT INTO once (key, at) VALUES ('k', :t)"), {"t": WHEN})
    assert "mailbox_health" not in _tables(db)

    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
    assert "mailbox_health" in _tables(db)
    with db.transaction() as session:
        assert record_failure(session, OUTGOING, "smtp://relay:587", "535", "check it", WHEN)
    with db.session() as session:
        (row,) = health_rows(session)
        assert (row.source, row.state, row.failing_since) == (OUTGOING, "failing", WHEN)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT number FROM tickets")).scalars().all() == [
            "2026-000007"
        ]
        assert conn.execute(sa.text("SELECT key FROM once")).scalars().all() == ["k"]

    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0004")
    assert "mailbox_health" not in _tables(db)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar() == 1
    db.dispose()
