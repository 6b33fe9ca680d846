"""search outbox: attempts, last error and quarantine, so a document that cannot be indexed stops being retried

Revision ID: 7d3a9c1e5f20
Revises: a7d3c91e4f20
Created: 2026-12-10 09:00:00
"""
import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = '7d3a9c1e5f20'
down_revision = 'a7d3c91e4f20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('quarantined_at', kms.extensions.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('search_outbox', schema=None) as batch_op:
        batch_op.drop_column('quarantined_at')
        batch_op.drop_column('last_error')
        batch_op.drop_column('attempts')
