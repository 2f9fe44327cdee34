"""Migration 0014 (satisfaction) on a database at 0010 holding data, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from maildesk.store.db import Database, alembic_config
from maildesk.store.models import Satisfaction

pytestmark = pytest.mark.integration

WHEN = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _tables(db: Database) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def test_upgrade_from_0010_adds_the_satisfaction_table_and_keeps_the_data(db_url: str) -> None:
    db = Database(db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010")
    with db.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO tickets (id, number, subject, requester, status, priority, language,"
                " created_at, updated_at) VALUES (7, '2026-000007', 'Kept', 'a@x.example',"
                " 'resolved', 'high', 'en', :t, :t)"
            ),
            {"t": WHEN},
        )
    assert "satisfaction" not in _tables(db)

    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0014")
    assert "satisfaction" in _tables(db)
    with db.transaction() as session:
        session.add(
            Satisfaction(ticket_id=7, answer="unsatisfied", link_issued_at=WHEN, answered_at=WHEN)
        )
    with db.session() as session:
        row = session.scalars(sa.select(Satisfaction)).one()
        assert (row.ticket_id, row.answer, row.comment, row.changes) == (7, "unsatisfied", "", 0)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT number FROM tickets")).scalars().all() == [
            "2026-000007"
        ]

    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0010")
    assert "satisfaction" not in _tables(db)
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tickets")).scalar() == 1
    db.dispose()
