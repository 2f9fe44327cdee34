"""intake, sla and billing tables

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:30:17.094718
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "once",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_once")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("raw_minutes", sa.Integer(), nullable=False),
        sa.Column("bundle_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["bundle_id"],
            ["ledger_entries.id"],
            name=op.f("fk_ledger_entries_bundle_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_ledger_entries_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ledger_entries_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_entries_idempotency_key")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_client_id_at", ["client_id", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=320), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_pages_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("ticket_id", "level", name=op.f("uq_pages_ticket_id")),
    )
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pages_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "quotes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_quotes_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quotes")),
    )
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quotes_ticket_id"), ["ticket_id"], unique=False)

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_rcpt", sa.String(length=320), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("auto", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_index(
            "ix_outbox_first_rcpt_created_at", ["first_rcpt", "created_at"], unique=False
        )

    # Existing outbox rows: the first recipient, for the per-address rate limit.
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("rcpt_to", sa.JSON),
        sa.column("first_rcpt", sa.String),
    )
    conn = op.get_bind()
    for row_id, rcpt in conn.execute(sa.select(outbox.c.id, outbox.c.rcpt_to)).all():
        first = rcpt[0].lower() if isinstance(rcpt, list) and rcpt else ""
        conn.execute(outbox.update().where(outbox.c.id == row_id).values(first_rcpt=first))

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "requester_role", sa.String(length=20), nullable=False, server_default="unknown"
            )
        )
        batch_op.add_column(
            sa.Column("priority_rule", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("policy", sa.String(length=100), nullable=False, server_default="default")
        )
        batch_op.add_column(sa.Column("missing", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("assignee", sa.String(length=320), nullable=True))
        batch_op.add_column(
            sa.Column("approval", sa.String(length=10), nullable=False, server_default="none")
        )
        batch_op.add_column(
            sa.Column("billable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("follows_ticket_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("clock_started_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("response_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("response_left_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resolution_left_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_resolution_due_at"), ["resolution_due_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_tickets_response_due_at"), ["response_due_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tickets_follows_ticket_id_tickets"),
            "tickets",
            ["follows_ticket_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_tickets_follows_ticket_id_tickets"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tickets_response_due_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_resolution_due_at"))
        batch_op.drop_column("escalation_level")
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("responded_at")
        batch_op.drop_column("resolution_left_minutes")
        batch_op.drop_column("response_left_minutes")
        batch_op.drop_column("resolution_due_at")
        batch_op.drop_column("response_due_at")
        batch_op.drop_column("paused_at")
        batch_op.drop_column("clock_started_at")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("follows_ticket_id")
        batch_op.drop_column("billable")
        batch_op.drop_column("approval")
        batch_op.drop_column("assignee")
        batch_op.drop_column("missing")
        batch_op.drop_column("policy")
        batch_op.drop_column("priority_rule")
        batch_op.drop_column("requester_role")

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_first_rcpt_created_at")
        batch_op.drop_column("auto")
        batch_op.drop_column("first_rcpt")

    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quotes_ticket_id"))

    op.drop_table("quotes")
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pages_ticket_id"))

    op.drop_table("pages")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_ticket_id"))
        batch_op.drop_index("ix_ledger_entries_client_id_at")

    op.drop_table("ledger_entries")
    op.drop_table("once")
