"""satisfaction: the client's answer (satisfied or not, and a comment) per resolved ticket

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "satisfaction",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey("tickets.id", name="fk_satisfaction_ticket_id_tickets"),
            nullable=False,
        ),
        sa.Column(
            "client_id",
            sa.Integer(),
            sa.ForeignKey("clients.id", name="fk_satisfaction_client_id_clients"),
            nullable=True,
        ),
        sa.Column("answer", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False, server_default=""),
        sa.Column("contact", sa.String(320), nullable=False, server_default=""),
        sa.Column("link_issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False, server_default="0"),
        sa.UniqueConstraint("ticket_id", name="uq_satisfaction_ticket_id"),
    )
    op.create_index("ix_satisfaction_client_id", "satisfaction", ["client_id"])


def downgrade() -> None:
    op.drop_index("ix_satisfaction_client_id", table_name="satisfaction")
    op.drop_table("satisfaction")
