"""hiring_withdrawals: who was taken off a candidate's interview before submitting (they stay blind to the others'
scorecards for that candidate until they submit one of their own)

Revision ID: a7d3c91e4f20
Revises: 7d3a91c5e2f4
Created: 2026-12-15 09:30:00
"""
import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = 'a7d3c91e4f20'
down_revision = '7d3a91c5e2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hiring_withdrawals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('interviewer_id', sa.Integer(), nullable=False),
    sa.Column('interview_title', sa.String(length=120), nullable=False),
    sa.Column('withdrawn_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['hiring_candidates.id'], name=op.f('fk_hiring_withdrawals_candidate_id_hiring_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interviewer_id'], ['users.id'], name=op.f('fk_hiring_withdrawals_interviewer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_hiring_withdrawals_withdrawn_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_withdrawals'))
    )
    with op.batch_alter_table('hiring_withdrawals', schema=None) as batch_op:
        batch_op.create_index('ix_hiring_withdrawals_candidate_interviewer', ['candidate_id', 'interviewer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hiring_withdrawals_interviewer_id'), ['interviewer_id'], unique=False)


def downgrade():
    with op.batch_alter_table('hiring_withdrawals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiring_withdrawals_interviewer_id'))
        batch_op.drop_index('ix_hiring_withdrawals_candidate_interviewer')
    op.drop_table('hiring_withdrawals')
