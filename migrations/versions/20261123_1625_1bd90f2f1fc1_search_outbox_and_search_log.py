"""search: outbox and search log

Revision ID: 1bd90f2f1fc1
Revises: 260be5bd9cb2
Created: 2026-11-23 16:25:31.980353
"""
from alembic import op
import sqlalchemy as sa
import kms.extensions

revision = '1bd90f2f1fc1'
down_revision = '260be5bd9cb2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('search_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('query', sa.String(length=200), nullable=False),
    sa.Column('normalized', sa.String(length=200), nullable=False),
    sa.Column('results', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_log'))
    )
    with op.batch_alter_table('search_log', schema=None) as batch_op:
        batch_op.create_index('ix_search_log_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_search_log_normalized'), ['normalized'], unique=False)

    op.create_table('search_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('doc_id', sa.String(length=80), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_outbox'))
    )


def downgrade():
    op.drop_table('search_outbox')
    with op.batch_alter_table('search_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_search_log_normalized'))
        batch_op.drop_index('ix_search_log_created_at')

    op.drop_table('search_log')
