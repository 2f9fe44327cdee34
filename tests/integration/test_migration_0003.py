"""Migration 0003 (SLA warn columns) from the 0002 schema with tickets in it, on both databases.

The migration cannot compute warning points (they need the config), so it marks every
running target of an open ticket "look now" (its clock start); the first sweep computes
the exact points, stores them, clears the ones whose warning was already sent, and the
warnings still go out once, on time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from maildesk.core.clock import FakeClock
from maildesk.notify.context import MailContext
from maildesk.notify.render import Renderer
from maildesk.sla import timers
from maildesk.sla.clock import calendar_for, targets_for
from maildesk.sla.escalation import notice_key, sweep
from maildesk.store.db import Database, alembic_config
from maildesk.store.models import OutboxMail, Ticket
from tests.integration.helpers import CLIENT_ACME, settings_for
from tests.integration.sla_scenario import POLICY, bxl

pytestmark = pytest.mark.integration

# The 0002 columns these rows use, typed as 0002 created them.
TICKETS_0002 = sa.table(
    "tickets",
    *(sa.column(name, sa.String) for name in ("number", "subject", "requester", "status")),
    sa.column("priority", sa.String),
    sa.column("language", sa.String),
    *(
        sa.column(name, sa.DateTime(timezone=True))
        for name in (
            "created_at",
            "updated_at",
            "clock_started_at",
            "paused_at",
            "response_due_at",
            "resolution_due_at",
            "resolved_at",
        )
    ),
    sa.column("response_left_minutes", sa.Integer),
    sa.column("resolution_left_minutes", sa.Integer),
)
ONCE_0002 = sa.table("once", sa.column("key", sa.String), sa.column("at", sa.DateTime(True)))
STARTED = bxl(2026, 11, 24, 10, 0)  # Tuesday; Normal: response due 14:00, warning 13:00


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def test_upgrade_from_0002_marks_running_targets_and_they_still_warn(
    db_url: str, tmp_path: Path
) -> None:
    settings, _ = settings_for(db_url, tmp_path, extra=POLICY + CLIENT_ACME)
    policy = settings.policies["default"]
    cal = calendar_for(policy)
    running = timers.start(cal, targets_for(policy, "normal"), STARTED)
    paused = timers.pause(running, cal, bxl(2026, 11, 24, 11, 0))
    done = timers.resolved(running, cal, bxl(2026, 11, 24, 11, 0))

    db = Database(db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    rows = [  # (number, status, clock state)
        ("2026-000001", "open", running),  # will warn at 13:00
        ("2026-000002", "open", running),  # its response warning went out before
        ("2026-000003", "waiting", paused),
        ("2026-000004", "resolved", done),
        ("2026-000005", "awaiting_info", timers.NOT_STARTED),
    ]
    with db.engine.begin() as conn:
        for number, status, state in rows:
            conn.execute(
                TICKETS_0002.insert().values(
                    number=number,
                    subject="Old",
                    requester="jane@acme.example",
                    status=status,
                    priority="normal",
                    language="en",
                    created_at=_utc(STARTED),
                    updated_at=_utc(STARTED),
                    **{
                        name: _utc(v) if isinstance(v, datetime) else v
                        for name, v in state.columns().items()
                        if name not in ("responded_at",)
                    },
                )
            )
        ids: dict[str, int] = {
            number: ticket_id
            for number, ticket_id in conn.execute(sa.text("SELECT number, id FROM tickets"))
        }
        conn.execute(
            ONCE_0002.insert().values(
                key=notice_key(ids["2026-000002"], "response", "warning"), at=_utc(STARTED)
            )
        )

    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
        marks = {
            number: (response, resolution)
            for number, response, resolution in conn.execute(
                sa.text("SELECT number, response_warn_at, resolution_warn_at FROM tickets")
            ).all()
        }
    started = marks["2026-000001"][0]
    assert started is not None, "a running target is looked at by the first sweep"
    assert marks["2026-000001"] == marks["2026-000002"] == (started, started)
    for number in ("2026-000003", "2026-000004", "2026-000005"):
        assert marks[number] == (None, None), number

    db.upgrade()  # the rest of the way, so the models match
    ctx = MailContext.create(settings, FakeClock(STARTED), Renderer(default_language="en"))
    points = timers.warning_at(
        running, cal, targets_for(policy, "normal"), policy.sla.warn_at_percent
    )
    assert points.response == bxl(2026, 11, 24, 13, 0)

    first = sweep(db, ctx, bxl(2026, 11, 24, 12, 0))
    assert (first.warnings, first.breaches) == (0, 0)
    assert first.read == 2 and first.warn_times_stored == 4
    with db.session() as session:
        one, two = (
            session.scalars(select(Ticket).where(Ticket.number == n)).one()
            for n in ("2026-000001", "2026-000002")
        )
    assert (one.response_warn_at, one.resolution_warn_at) == points
    assert (two.response_warn_at, two.resolution_warn_at) == (None, points.resolution)

    assert sweep(db, ctx, bxl(2026, 11, 24, 12, 59)).read == 0
    at_warning = sweep(db, ctx, bxl(2026, 11, 24, 13, 0))
    assert at_warning.warnings == 1, "ticket 1 warns; ticket 2 had its warning already"
    assert sweep(db, ctx, bxl(2026, 11, 24, 13, 1)).read == 0
    with db.session() as session:
        queued = session.scalars(
            select(OutboxMail.ticket_id).where(OutboxMail.kind == "sla_warning")
        ).all()
        assert queued == [one.id]
        assert session.scalar(select(func.count()).select_from(Ticket)) == 5
    db.dispose()


def test_downgrade_to_0002_drops_the_warn_columns(db_url: str) -> None:
    db = Database(db_url)
    cfg = alembic_config(db_url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with db.engine.begin() as conn:  # a ticket with rows that refer to it
        conn.execute(
            sa.text(
                "INSERT INTO tickets (id, number, subject, requester, status, priority, language,"
                " created_at, updated_at) VALUES (7, '2026-000007', 'Kept', 'a@x.example',"
                " 'open', 'high', 'en', :t, :t)"
            ),
            {"t": when},
        )
        conn.execute(
            sa.text(
                "INSERT INTO events (ticket_id, at, kind, actor, detail) VALUES (7, :t,"
                " 'created', 'maildesk', '{}')"
            ),
            {"t": when},
        )
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT number FROM tickets")).scalars().all() == [
            "2026-000007"
        ]
        assert conn.execute(sa.text("SELECT count(*) FROM events")).scalar() == 1
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("tickets")}
    indexes = {i["name"] for i in sa.inspect(db.engine).get_indexes("tickets")}
    assert not {"response_warn_at", "resolution_warn_at"} & columns
    assert not {"ix_tickets_response_warn_at", "ix_tickets_resolution_warn_at"} & indexes
    assert "ix_tickets_response_due_at" in indexes
    db.dispose()
