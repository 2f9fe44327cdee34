"""Migration 0005 (clients as data) from the 0004 schema with clients, contacts and events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from maildesk.daemon import Maildesk
from maildesk.store.client_data import read_version
from maildesk.store.db import Database, alembic_config
from maildesk.store.models import Client, Contact, Event
from tests.integration.helpers import settings_for

pytestmark = pytest.mark.integration

CLIENTS_0004 = sa.table(
    "clients",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("name", sa.String),
)
CONTACTS_0004 = sa.table(
    "contacts",
    sa.column("client_id", sa.Integer),
    sa.column("email", sa.String),
    sa.column("name", sa.String),
    sa.column("authorised", sa.Boolean),
)
EVENTS_0004 = sa.table(
    "events",
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("kind", sa.String),
    sa.column("actor", sa.String),
    sa.column("detail", sa.JSON),
)


def test_upgrade_from_0004_keeps_clients_as_config_clients(db_url: str, tmp_path: Path) -> None:
    settings, _ = settings_for(db_url, tmp_path)
    db = Database(db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
        conn.execute(sa.insert(CLIENTS_0004), [{"id": 1, "key": "acme", "name": "Acme Learning"}])
        conn.execute(
            sa.insert(CONTACTS_0004),
            [{"client_id": 1, "email": "boss@acme.example", "name": "Boss", "authorised": True}],
        )
        conn.execute(
            sa.insert(EVENTS_0004),
            [{"at": datetime(2026, 11, 1, tzinfo=UTC), "kind": "x", "actor": "a", "detail": {}}],
        )
    before, after = db.upgrade()
    assert (before, after) == ("0004", db.head_revision())
    with db.session() as session:
        row = session.scalars(select(Client)).one()
        assert (row.key, row.managed_by, row.options, row.removed_at) == (
            "acme",
            "config",
            {},
            None,
        )
        contact = session.scalars(select(Contact)).one()
        assert (contact.email, contact.authorised, contact.language) == (
            "boss@acme.example",
            True,
            None,
        )
        event = session.scalars(select(Event)).one()
        assert (event.kind, event.client_id) == ("x", None)
        assert read_version(session) == 1
    # The first start seeds the options from the config and moves the version.
    desk = Maildesk(settings)
    desk.prepare()
    with db.session() as session:
        row = session.scalars(select(Client)).one()
        assert row.options["domains"] == ["acme.example"] and row.options["match_domain"] is True
        assert read_version(session) == 2
    assert desk.settings.contact("boss@acme.example") is not None
    desk.db.dispose()
    db.dispose()
