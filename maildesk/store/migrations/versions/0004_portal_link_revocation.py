"""portal: a client's links can be revoked

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both databases: a batch rebuild of ``clients`` would trip
    # the foreign keys of contacts, tickets and ledger rows on SQLite.
    op.add_column(
        "clients", sa.Column("links_revoked_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("clients", "links_revoked_at")  # SQLite 3.35+ drops columns natively
