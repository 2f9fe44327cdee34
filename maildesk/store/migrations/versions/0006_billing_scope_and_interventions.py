"""billing: work scope per ticket, interventions, billing groups

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 03:30:00.000000

- ``tickets.scope`` replaces ``tickets.billable``: a ticket marked ``#billable``
  keeps that mark (``scope = 'billable'``); an unmarked one follows its policy's
  default scope, which the config now states.
- ``tickets.intervention`` counts a ticket's openings (1 for every existing
  ticket: the work booked before the upgrade was rounded line by line and stays
  as booked).
- ``ledger_entries.billing_group`` names the intervention or quote a work row's
  rounding and cap apply to. Existing rows keep NULL: no booking is rewritten.
  Later bookings under a quote still count the rows booked on its ticket since
  the quote was made (see ``maildesk.billing.groups``), so the cap holds across
  the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (see 0004: a batch rebuild of a table
    # others point to trips their foreign keys on SQLite).
    op.add_column("tickets", sa.Column("scope", sa.String(length=10), nullable=True))
    op.add_column(
        "tickets",
        sa.Column("intervention", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column("ledger_entries", sa.Column("billing_group", sa.String(length=40), nullable=True))
    tickets = sa.table("tickets", sa.column("scope", sa.String), sa.column("billable", sa.Boolean))
    op.execute(tickets.update().where(tickets.c.billable == sa.true()).values(scope="billable"))
    op.drop_column("tickets", "billable")  # SQLite 3.35+ drops columns natively


def downgrade() -> None:
    op.add_column(
        "tickets",
        sa.Column("billable", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    tickets = sa.table("tickets", sa.column("scope", sa.String), sa.column("billable", sa.Boolean))
    op.execute(tickets.update().where(tickets.c.scope == "billable").values(billable=True))
    op.drop_column("ledger_entries", "billing_group")
    op.drop_column("tickets", "intervention")
    op.drop_column("tickets", "scope")
