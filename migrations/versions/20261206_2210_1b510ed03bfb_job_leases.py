"""job leases: one row per scheduled job (or lease), its holder, expiry and last run

Revision ID: 1b510ed03bfb
Revises: d4a8c2f61e37
Created: 2026-12-06 22:10:00
"""
import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = '1b510ed03bfb'
down_revision = 'd4a8c2f61e37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'job_leases',
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('owner', sa.String(length=200), nullable=True),
        sa.Column('leased_until', kms.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_started_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_finished_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_result', sa.String(length=500), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases')),
    )


def downgrade():
    op.drop_table('job_leases')
