"""shadowing sessions: an optional meeting link (https), shown on the session page and in the .ics

Revision ID: c7f2a4e9b018
Revises: b5e1d7a9c311
Created: 2026-12-06 19:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'c7f2a4e9b018'
down_revision = 'b5e1d7a9c311'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('training_shadow_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('meeting_url', sa.String(length=500), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('training_shadow_sessions', schema=None) as batch_op:
        batch_op.drop_column('meeting_url')
