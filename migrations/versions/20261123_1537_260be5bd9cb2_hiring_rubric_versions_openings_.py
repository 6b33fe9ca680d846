"""hiring: rubric versions, openings, candidates, interviews, scorecards, audit

Revision ID: 260be5bd9cb2
Revises: 8b79698029f2
Created: 2026-11-23 15:35:23.117578
"""
from alembic import op
import sqlalchemy as sa
import kms.extensions

revision = '260be5bd9cb2'
down_revision = '8b79698029f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hiring_openings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('team', sa.String(length=80), nullable=False),
    sa.Column('is_open', sa.Boolean(), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_openings'))
    )
    op.create_table('hiring_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_hiring_audit_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_audit'))
    )
    with op.batch_alter_table('hiring_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hiring_audit_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_hiring_audit_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('hiring_candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('opening_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('stage', sa.Enum('applied', 'screening', 'interviewing', 'offer', 'hired', 'rejected', name='stage', native_enum=False, length=20), nullable=False),
    sa.Column('stage_changed_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('decision', sa.Enum('hire', 'reject', name='decision', native_enum=False, length=20), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('decided_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('hired_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_hiring_candidates_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hired_user_id'], ['users.id'], name=op.f('fk_hiring_candidates_hired_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opening_id'], ['hiring_openings.id'], name=op.f('fk_hiring_candidates_opening_id_hiring_openings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_candidates'))
    )
    with op.batch_alter_table('hiring_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hiring_candidates_hired_user_id'), ['hired_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hiring_candidates_opening_id'), ['opening_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hiring_candidates_stage'), ['stage'], unique=False)

    op.create_table('hiring_rubric_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_hiring_rubric_versions_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_rubric_versions')),
    sa.UniqueConstraint('number', name=op.f('uq_hiring_rubric_versions_number'))
    )
    op.create_table('hiring_interviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('scheduled_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['hiring_candidates.id'], name=op.f('fk_hiring_interviews_candidate_id_hiring_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_interviews'))
    )
    with op.batch_alter_table('hiring_interviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hiring_interviews_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('hiring_traits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('definition', sa.Text(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('strong_answer', sa.Text(), nullable=False),
    sa.Column('weak_answer', sa.Text(), nullable=False),
    sa.Column('green_flags', sa.JSON(), nullable=False),
    sa.Column('red_flags', sa.JSON(), nullable=False),
    sa.Column('scale', sa.JSON(), nullable=False),
    sa.Column('guidance', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['hiring_rubric_versions.id'], name=op.f('fk_hiring_traits_rubric_version_id_hiring_rubric_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_traits')),
    sa.UniqueConstraint('rubric_version_id', 'key', name=op.f('uq_hiring_traits_rubric_version_id'))
    )
    op.create_table('hiring_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('interviewer_id', sa.Integer(), nullable=False),
    sa.Column('traits', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['hiring_candidates.id'], name=op.f('fk_hiring_assignments_candidate_id_hiring_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interview_id'], ['hiring_interviews.id'], name=op.f('fk_hiring_assignments_interview_id_hiring_interviews'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interviewer_id'], ['users.id'], name=op.f('fk_hiring_assignments_interviewer_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_assignments')),
    sa.UniqueConstraint('interview_id', 'interviewer_id', name=op.f('uq_hiring_assignments_interview_id'))
    )
    with op.batch_alter_table('hiring_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_hiring_assignments_candidate_interviewer', ['candidate_id', 'interviewer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hiring_assignments_interview_id'), ['interview_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hiring_assignments_interviewer_id'), ['interviewer_id'], unique=False)

    op.create_table('hiring_scorecards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('interviewer_id', sa.Integer(), nullable=False),
    sa.Column('rubric_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'submitted', name='scorecardstatus', native_enum=False, length=20), nullable=False),
    sa.Column('recommendation', sa.Enum('strong no', 'no', 'yes', 'strong yes', name='recommendation', native_enum=False, length=20), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['hiring_assignments.id'], name=op.f('fk_hiring_scorecards_assignment_id_hiring_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['candidate_id'], ['hiring_candidates.id'], name=op.f('fk_hiring_scorecards_candidate_id_hiring_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interviewer_id'], ['users.id'], name=op.f('fk_hiring_scorecards_interviewer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rubric_version_id'], ['hiring_rubric_versions.id'], name=op.f('fk_hiring_scorecards_rubric_version_id_hiring_rubric_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_scorecards')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_hiring_scorecards_assignment_id'))
    )
    with op.batch_alter_table('hiring_scorecards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hiring_scorecards_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hiring_scorecards_interviewer_id'), ['interviewer_id'], unique=False)

    op.create_table('hiring_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scorecard_id', sa.Integer(), nullable=False),
    sa.Column('trait_key', sa.String(length=40), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('red_flags', sa.JSON(), nullable=False),
    sa.CheckConstraint('rating IS NULL OR (rating >= 1 AND rating <= 4)', name=op.f('ck_hiring_ratings_rating_range')),
    sa.ForeignKeyConstraint(['scorecard_id'], ['hiring_scorecards.id'], name=op.f('fk_hiring_ratings_scorecard_id_hiring_scorecards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_ratings')),
    sa.UniqueConstraint('scorecard_id', 'trait_key', name=op.f('uq_hiring_ratings_scorecard_id'))
    )
    op.create_table('hiring_scorecard_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scorecard_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_hiring_scorecard_revisions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['scorecard_id'], ['hiring_scorecards.id'], name=op.f('fk_hiring_scorecard_revisions_scorecard_id_hiring_scorecards'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hiring_scorecard_revisions')),
    sa.UniqueConstraint('scorecard_id', 'number', name=op.f('uq_hiring_scorecard_revisions_scorecard_id'))
    )


def downgrade():
    op.drop_table('hiring_scorecard_revisions')
    op.drop_table('hiring_ratings')
    with op.batch_alter_table('hiring_scorecards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiring_scorecards_interviewer_id'))
        batch_op.drop_index(batch_op.f('ix_hiring_scorecards_candidate_id'))

    op.drop_table('hiring_scorecards')
    with op.batch_alter_table('hiring_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiring_assignments_interviewer_id'))
        batch_op.drop_index(batch_op.f('ix_hiring_assignments_interview_id'))
        batch_op.drop_index('ix_hiring_assignments_candidate_interviewer')

    op.drop_table('hiring_assignments')
    op.drop_table('hiring_traits')
    with op.batch_alter_table('hiring_interviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiring_interviews_candidate_id'))

    op.drop_table('hiring_interviews')
    op.drop_table('hiring_rubric_versions')
    with op.batch_alter_table('hiring_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiring_candidates_stage'))
        batch_op.drop_index(batch_op.f('ix_hiring_candidates_opening_id'))
        batch_op.drop_index(batch_op.f('ix_hiring_candidates_hired_user_id'))

    op.drop_table('hiring_candidates')
    with op.batch_alter_table('hiring_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hiring_audit_candidate_id'))
        batch_op.drop_index(batch_op.f('ix_hiring_audit_at'))

    op.drop_table('hiring_audit')
    op.drop_table('hiring_openings')
