"""invoice_marks: ledger entries invoiced under a reference, at most once each

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-07 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_marks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ledger_entry_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("marked_by", sa.String(320), nullable=False),
        sa.ForeignKeyConstraint(
            ["ledger_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_invoice_marks_ledger_entry_id_ledger_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_marks")),
        sa.UniqueConstraint("ledger_entry_id", name=op.f("uq_invoice_marks_ledger_entry_id")),
    )
    op.create_index(op.f("ix_invoice_marks_reference"), "invoice_marks", ["reference"])


def downgrade() -> None:
    op.drop_index(op.f("ix_invoice_marks_reference"), table_name="invoice_marks")
    op.drop_table("invoice_marks")
