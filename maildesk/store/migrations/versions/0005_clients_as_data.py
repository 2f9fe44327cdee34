"""clients and contacts as data: owner, options, removal, contract end; client events

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 03:30:00.000000

Every existing client row came from the config, so it is marked ``config``; the
config seeds ``options`` at the next start. The version row starts at 1.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE, as in 0004: a batch rebuild of ``clients`` would trip the
    # foreign keys that point at it on SQLite.
    op.add_column(
        "clients",
        sa.Column("managed_by", sa.String(10), nullable=False, server_default="config"),
    )
    op.add_column("clients", sa.Column("options", sa.JSON(), nullable=False, server_default="{}"))
    for name in ("removed_at", "contract_ended_at", "erased_at"):
        op.add_column("clients", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column("contacts", sa.Column("language", sa.String(8), nullable=True))
    # Nothing refers to ``events``, so a batch rebuild is safe there on SQLite (and
    # the only way to add a column with a foreign key).
    with op.batch_alter_table("events") as batch_op:
        batch_op.add_column(sa.Column("client_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_events_client_id_clients"), "clients", ["client_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_events_client_id"), ["client_id"], unique=False)
    version = op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 1, "changed_at": None}])


def downgrade() -> None:
    op.drop_table("directory_version")
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_client_id"))
        batch_op.drop_constraint(op.f("fk_events_client_id_clients"), type_="foreignkey")
        batch_op.drop_column("client_id")
    op.drop_column("contacts", "language")
    for name in ("erased_at", "contract_ended_at", "removed_at", "options", "managed_by"):
        op.drop_column("clients", name)
