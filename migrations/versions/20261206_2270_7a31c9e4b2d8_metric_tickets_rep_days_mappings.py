"""metrics: ticket rows from helpdesk exports, per-rep daily aggregates, saved custom column mappings

Revision ID: 7a31c9e4b2d8
Revises: d4a8c2f61e37
Created: 2026-12-06 22:10:00
"""
import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = '7a31c9e4b2d8'
down_revision = 'd4a8c2f61e37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'metric_tickets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=60), nullable=False),
        sa.Column('ticket_id', sa.String(length=120), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('solved_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.Column('channel', sa.String(length=40), nullable=False),
        sa.Column('csat_good', sa.Boolean(), nullable=True),
        sa.Column('csat_raw', sa.String(length=40), nullable=True),
        sa.Column('fcr', sa.Boolean(), nullable=True),
        sa.Column('reopened', sa.Boolean(), nullable=True),
        sa.Column('handle_minutes', sa.Double(), nullable=True),
        sa.Column('nps', sa.Integer(), nullable=True),
        sa.Column('tags', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_metric_tickets_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_tickets')),
        sa.UniqueConstraint('source', 'ticket_id', name=op.f('uq_metric_tickets_source')),
    )
    with op.batch_alter_table('metric_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_tickets_solved_at'), ['solved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_metric_tickets_user_id'), ['user_id'], unique=False)

    op.create_table(
        'metric_rep_days',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('tickets', sa.Integer(), nullable=False),
        sa.Column('csat_rated', sa.Integer(), nullable=False),
        sa.Column('csat_good', sa.Integer(), nullable=False),
        sa.Column('fcr_known', sa.Integer(), nullable=False),
        sa.Column('fcr_yes', sa.Integer(), nullable=False),
        sa.Column('reopened_known', sa.Integer(), nullable=False),
        sa.Column('reopened_yes', sa.Integer(), nullable=False),
        sa.Column('handle_count', sa.Integer(), nullable=False),
        sa.Column('handle_sum', sa.Double(), nullable=False),
        sa.Column('handle_hist', sa.Text(), nullable=False),
        sa.Column('nps_count', sa.Integer(), nullable=False),
        sa.Column('nps_promoters', sa.Integer(), nullable=False),
        sa.Column('nps_detractors', sa.Integer(), nullable=False),
        sa.Column('angry', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_metric_rep_days_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_metric_rep_days')),
    )
    with op.batch_alter_table('metric_rep_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metric_rep_days_day'), ['day'], unique=False)

    op.create_table(
        'metric_import_mappings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('columns', sa.JSON(), nullable=False),
        sa.Column('csat_scale', sa.String(length=20), nullable=False),
        sa.Column('handle_unit', sa.String(length=20), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by_id'],
            ['users.id'],
            name=op.f('fk_metric_import_mappings_created_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_metric_import_mappings')),
        sa.UniqueConstraint('name', name=op.f('uq_metric_import_mappings_name')),
    )


def downgrade():
    op.drop_table('metric_import_mappings')
    with op.batch_alter_table('metric_rep_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_rep_days_day'))
    op.drop_table('metric_rep_days')
    with op.batch_alter_table('metric_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metric_tickets_user_id'))
        batch_op.drop_index(batch_op.f('ix_metric_tickets_solved_at'))
    op.drop_table('metric_tickets')
