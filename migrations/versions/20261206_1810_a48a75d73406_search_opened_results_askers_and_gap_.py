"""search: which searches had a result opened, who-asked pseudonyms, and dismissed gaps

Revision ID: a48a75d73406
Revises: 5c2e91d7a4b3
Created: 2026-12-04 12:00:00

Searches logged before this migration have no asker, so they never count toward the gap report (which
now needs two different people asking the same thing).
"""
import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = 'a48a75d73406'
down_revision = '5c2e91d7a4b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('search_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asker', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('opened_at', kms.extensions.UTCDateTime(timezone=True), nullable=True))

    op.create_table('search_gap_dismissal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('normalized', sa.String(length=200), nullable=False),
    sa.Column('dismissed_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dismissed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['dismissed_by_id'], ['users.id'],
                            name=op.f('fk_search_gap_dismissal_dismissed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_gap_dismissal')),
    sa.UniqueConstraint('normalized', name=op.f('uq_search_gap_dismissal_normalized'))
    )


def downgrade():
    op.drop_table('search_gap_dismissal')
    with op.batch_alter_table('search_log', schema=None) as batch_op:
        batch_op.drop_column('opened_at')
        batch_op.drop_column('asker')
