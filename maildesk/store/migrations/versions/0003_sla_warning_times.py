"""sla warning times beside the due times

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00.000000

``response_warn_at`` / ``resolution_warn_at`` tell the SLA sweep from when to look at a
target for its warning. The exact warning point needs the policy's targets, calendar and
``warn_at_percent``, which live in the config, not in the database; so every running
target gets its clock start here, an instant already past: the first sweep after the
upgrade looks at each such ticket once, computes the exact point with the application's
own code and stores it (or clears it when the warning was already sent).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch rebuild of ``tickets`` would trip
    # the foreign keys of messages, events and ledger rows on SQLite.
    op.add_column("tickets", sa.Column("response_warn_at", sa.DateTime(timezone=True)))
    op.add_column("tickets", sa.Column("resolution_warn_at", sa.DateTime(timezone=True)))
    op.create_index(op.f("ix_tickets_resolution_warn_at"), "tickets", ["resolution_warn_at"])
    op.create_index(op.f("ix_tickets_response_warn_at"), "tickets", ["response_warn_at"])

    # Running targets of open tickets: "look now" (see the module docstring).
    tickets = sa.table(
        "tickets",
        sa.column("status", sa.String),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("clock_started_at", sa.DateTime(timezone=True)),
        sa.column("response_due_at", sa.DateTime(timezone=True)),
        sa.column("resolution_due_at", sa.DateTime(timezone=True)),
        sa.column("response_warn_at", sa.DateTime(timezone=True)),
        sa.column("resolution_warn_at", sa.DateTime(timezone=True)),
    )
    started = sa.func.coalesce(tickets.c.clock_started_at, tickets.c.created_at)
    still_open = tickets.c.status.not_in(("resolved", "closed"))
    conn = op.get_bind()
    for due, warn in (
        (tickets.c.response_due_at, "response_warn_at"),
        (tickets.c.resolution_due_at, "resolution_warn_at"),
    ):
        conn.execute(tickets.update().where(still_open, due.is_not(None)).values({warn: started}))


def downgrade() -> None:
    op.drop_index(op.f("ix_tickets_response_warn_at"), table_name="tickets")
    op.drop_index(op.f("ix_tickets_resolution_warn_at"), table_name="tickets")
    op.drop_column("tickets", "resolution_warn_at")  # SQLite 3.35+ drops columns natively
    op.drop_column("tickets", "response_warn_at")
