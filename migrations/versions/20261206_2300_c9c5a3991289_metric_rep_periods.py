"""metrics: per rep and week or month sums (metric_rep_periods) read by the dashboards, filled from the days

Revision ID: c9c5a3991289
Revises: 5c8e2f7a1b93
Created: 2026-12-06 23:00 (helper 10)
"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = 'c9c5a3991289'
down_revision = '5c8e2f7a1b93'
branch_labels = None
depends_on = None

COUNTERS = (
    'tickets', 'csat_rated', 'csat_good', 'fcr_known', 'fcr_yes', 'reopened_known', 'reopened_yes',
    'handle_count', 'handle_sum', 'nps_count', 'nps_promoters', 'nps_detractors', 'angry',
)
BUCKETS = 25  # kms.metrics.buckets.BUCKET_COUNT when this migration was written
HIST = tuple(f'h{i:02d}' for i in range(BUCKETS))


def upgrade():
    op.create_table(
        'metric_rep_periods',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=5), nullable=False),
        sa.Column('start', sa.Date(), nullable=False),
        *[
            sa.Column(name, sa.Double() if name == 'handle_sum' else sa.Integer(), nullable=False)
            for name in COUNTERS
        ],
        *[sa.Column(name, sa.Integer(), nullable=False) for name in HIST],
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_metric_rep_periods_user_id_users'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('user_id', 'kind', 'start', name=op.f('pk_metric_rep_periods')),
    )
    op.create_index('ix_metric_rep_periods_kind_start', 'metric_rep_periods', ['kind', 'start'], unique=False)

    # Fill from the existing day rows (streamed; the sums are held per rep-period, a few per rep and month).
    days = sa.table(
        'metric_rep_days',
        sa.column('user_id'), sa.column('day', sa.Date()), *[sa.column(n) for n in COUNTERS],
        sa.column('handle_hist'),
    )
    bind = op.get_bind()
    sums = {}
    for row in bind.execute(sa.select(days).execution_options(yield_per=5000)):
        user, day = row[0], row[1]
        text = (row[-1] or '').strip('[] ')
        hist = ([int(n) for n in text.split(',')] if text else []) + [0] * BUCKETS
        values = [*row[2:-1], *hist[:BUCKETS]]
        for kind, start in (('week', day - timedelta(days=day.weekday())), ('month', day.replace(day=1))):
            found = sums.get((user, kind, start))
            sums[(user, kind, start)] = values if found is None else [a + b for a, b in zip(found, values, strict=True)]
    periods = sa.table(
        'metric_rep_periods',
        sa.column('user_id'), sa.column('kind'), sa.column('start', sa.Date()),
        *[sa.column(n) for n in (*COUNTERS, *HIST)],
    )
    rows = [
        {'user_id': u, 'kind': k, 'start': s, **dict(zip((*COUNTERS, *HIST), v, strict=True))} for (u, k, s), v in sums.items()
    ]
    for offset in range(0, len(rows), 5000):
        op.bulk_insert(periods, rows[offset : offset + 5000])


def downgrade():
    op.drop_index('ix_metric_rep_periods_kind_start', table_name='metric_rep_periods')
    op.drop_table('metric_rep_periods')
