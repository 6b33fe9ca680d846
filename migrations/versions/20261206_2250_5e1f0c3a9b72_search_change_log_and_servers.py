"""search change log every server's index follows, the servers following it, and each server's outbox

Revision ID: 5e1f0c3a9b72
Revises: d4a8c2f61e37
Created: 2026-12-06 22:50:00
"""

import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = "5e1f0c3a9b72"
down_revision = "d4a8c2f61e37"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("doc_id", sa.String(length=80), nullable=False),
        sa.Column("origin", sa.String(length=40), nullable=True),
        sa.Column("txid", sa.BigInteger(), nullable=True),
        sa.Column("created_at", kms.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_changes")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("search_changes", schema=None) as batch_op:
        batch_op.create_index("ix_search_changes_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_search_changes_txid", ["txid"], unique=False)
    op.create_table(
        "search_servers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("started_at", kms.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", kms.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_servers")),
    )
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("server_id", sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f("ix_search_outbox_server_id"), ["server_id"], unique=False)


def downgrade():
    with op.batch_alter_table("search_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_search_outbox_server_id"))
        batch_op.drop_column("server_id")
    op.drop_table("search_servers")
    with op.batch_alter_table("search_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_search_changes_txid")
        batch_op.drop_index("ix_search_changes_created_at")
    op.drop_table("search_changes")
