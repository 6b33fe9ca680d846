"""training: modules, lessons, quizzes, paths, assignments, completions, shadowing, feeds

Revision ID: 8b79698029f2
Revises: e6e4dd37e456
Created: 2026-11-23 15:36:29.698036
"""
from alembic import op
import sqlalchemy as sa
import kms.extensions

revision = '8b79698029f2'
down_revision = 'e6e4dd37e456'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('training_modules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.String(length=600), nullable=False),
    sa.Column('intro', sa.Text(), nullable=False),
    sa.Column('audience_csv', sa.String(length=100), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'archived', name='modulestatus', native_enum=False, length=20), nullable=False),
    sa.Column('recertify_months', sa.Integer(), nullable=True),
    sa.Column('pass_mark', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_modules')),
    sa.UniqueConstraint('slug', name=op.f('uq_training_modules_slug'))
    )
    with op.batch_alter_table('training_modules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_modules_status'), ['status'], unique=False)

    op.create_table('training_paths',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('shadow_days', sa.Integer(), nullable=False),
    sa.Column('shadow_sessions_per_day', sa.Integer(), nullable=False),
    sa.Column('shadow_minutes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_paths')),
    sa.UniqueConstraint('slug', name=op.f('uq_training_paths_slug'))
    )
    op.create_table('training_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('path_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('due_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_training_assignments_assigned_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_assignments_module_id_training_modules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['path_id'], ['training_paths.id'], name=op.f('fk_training_assignments_path_id_training_paths'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_assignments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_assignments')),
    sa.UniqueConstraint('user_id', 'module_id', name=op.f('uq_training_assignments_user_id'))
    )
    with op.batch_alter_table('training_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_assignments_module_id'), ['module_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_assignments_path_id'), ['path_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_assignments_user_id'), ['user_id'], unique=False)

    op.create_table('training_calendar_feeds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_calendar_feeds')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_training_calendar_feeds_token_hash'))
    )
    with op.batch_alter_table('training_calendar_feeds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_calendar_feeds_user_id'), ['user_id'], unique=False)

    op.create_table('training_lessons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('acknowledge', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_lessons_module_id_training_modules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_lessons'))
    )
    with op.batch_alter_table('training_lessons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_lessons_module_id'), ['module_id'], unique=False)

    op.create_table('training_module_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_module_completions_module_id_training_modules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_module_completions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_module_completions')),
    sa.UniqueConstraint('user_id', 'module_id', name=op.f('uq_training_module_completions_user_id'))
    )
    with op.batch_alter_table('training_module_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_module_completions_module_id'), ['module_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_module_completions_user_id'), ['user_id'], unique=False)

    op.create_table('training_module_tags',
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_module_tags_module_id_training_modules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('module_id', 'tag', name=op.f('pk_training_module_tags'))
    )
    with op.batch_alter_table('training_module_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_module_tags_tag'), ['tag'], unique=False)

    op.create_table('training_path_modules',
    sa.Column('path_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('day_offset', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_path_modules_module_id_training_modules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['path_id'], ['training_paths.id'], name=op.f('fk_training_path_modules_path_id_training_paths'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('path_id', 'module_id', name=op.f('pk_training_path_modules'))
    )
    op.create_table('training_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('single', 'multiple', name='questionkind', native_enum=False, length=20), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_questions_module_id_training_modules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_questions'))
    )
    with op.batch_alter_table('training_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_questions_module_id'), ['module_id'], unique=False)

    op.create_table('training_quiz_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['training_modules.id'], name=op.f('fk_training_quiz_attempts_module_id_training_modules'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_quiz_attempts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_quiz_attempts'))
    )
    with op.batch_alter_table('training_quiz_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_quiz_attempts_module_id'), ['module_id'], unique=False)
        batch_op.create_index('ix_training_quiz_attempts_user_module', ['user_id', 'module_id'], unique=False)

    op.create_table('training_shadow_hosts',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_shadow_hosts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_training_shadow_hosts'))
    )
    op.create_table('training_availability',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.Time(), nullable=False),
    sa.Column('end_time', sa.Time(), nullable=False),
    sa.ForeignKeyConstraint(['host_id'], ['training_shadow_hosts.user_id'], name=op.f('fk_training_availability_host_id_training_shadow_hosts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_availability'))
    )
    with op.batch_alter_table('training_availability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_availability_host_id'), ['host_id'], unique=False)

    op.create_table('training_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['training_questions.id'], name=op.f('fk_training_choices_question_id_training_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_choices'))
    )
    with op.batch_alter_table('training_choices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_choices_question_id'), ['question_id'], unique=False)

    op.create_table('training_lesson_completions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('completed_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['lesson_id'], ['training_lessons.id'], name=op.f('fk_training_lesson_completions_lesson_id_training_lessons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_training_lesson_completions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_lesson_completions')),
    sa.UniqueConstraint('user_id', 'lesson_id', name=op.f('uq_training_lesson_completions_user_id'))
    )
    with op.batch_alter_table('training_lesson_completions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_lesson_completions_lesson_id'), ['lesson_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_lesson_completions_user_id'), ['user_id'], unique=False)

    op.create_table('training_attempt_answers',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('choice_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['training_quiz_attempts.id'], name=op.f('fk_training_attempt_answers_attempt_id_training_quiz_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['choice_id'], ['training_choices.id'], name=op.f('fk_training_attempt_answers_choice_id_training_choices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['training_questions.id'], name=op.f('fk_training_attempt_answers_question_id_training_questions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', 'question_id', 'choice_id', name=op.f('pk_training_attempt_answers'))
    )
    op.create_table('training_lesson_articles',
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_training_lesson_articles_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['lesson_id'], ['training_lessons.id'], name=op.f('fk_training_lesson_articles_lesson_id_training_lessons'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('lesson_id', 'article_id', name=op.f('pk_training_lesson_articles'))
    )
    with op.batch_alter_table('training_lesson_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_lesson_articles_article_id'), ['article_id'], unique=False)

    op.create_table('training_shadow_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sa.String(length=80), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('focus', sa.String(length=200), nullable=False),
    sa.Column('focus_article_id', sa.Integer(), nullable=True),
    sa.Column('format', sa.Enum('live calls', 'ticket queue', 'screen share', name='sessionformat', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('scheduled', 'done', 'cancelled', name='sessionstatus', native_enum=False, length=20), nullable=False),
    sa.Column('trainee_notes', sa.Text(), nullable=False),
    sa.Column('host_feedback', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_training_shadow_sessions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['focus_article_id'], ['articles.id'], name=op.f('fk_training_shadow_sessions_focus_article_id_articles'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_training_shadow_sessions_host_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_training_shadow_sessions_trainee_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_shadow_sessions')),
    sa.UniqueConstraint('uid', name=op.f('uq_training_shadow_sessions_uid'))
    )
    with op.batch_alter_table('training_shadow_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_training_shadow_sessions_host_time', ['host_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_shadow_sessions_status'), ['status'], unique=False)
        batch_op.create_index('ix_training_shadow_sessions_trainee_time', ['trainee_id', 'starts_at'], unique=False)

    op.create_table('training_studied_revisions',
    sa.Column('completion_id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=True),
    sa.Column('revision_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_training_studied_revisions_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['completion_id'], ['training_lesson_completions.id'], name=op.f('fk_training_studied_revisions_completion_id_training_lesson_completions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revision_id'], ['revisions.id'], name=op.f('fk_training_studied_revisions_revision_id_revisions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('completion_id', 'article_id', name=op.f('pk_training_studied_revisions'))
    )
    with op.batch_alter_table('training_studied_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_studied_revisions_article_id'), ['article_id'], unique=False)



def downgrade():
    with op.batch_alter_table('training_studied_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_studied_revisions_article_id'))

    op.drop_table('training_studied_revisions')
    with op.batch_alter_table('training_shadow_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_training_shadow_sessions_trainee_time')
        batch_op.drop_index(batch_op.f('ix_training_shadow_sessions_status'))
        batch_op.drop_index('ix_training_shadow_sessions_host_time')

    op.drop_table('training_shadow_sessions')
    with op.batch_alter_table('training_lesson_articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_lesson_articles_article_id'))

    op.drop_table('training_lesson_articles')
    op.drop_table('training_attempt_answers')
    with op.batch_alter_table('training_lesson_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_lesson_completions_user_id'))
        batch_op.drop_index(batch_op.f('ix_training_lesson_completions_lesson_id'))

    op.drop_table('training_lesson_completions')
    with op.batch_alter_table('training_choices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_choices_question_id'))

    op.drop_table('training_choices')
    with op.batch_alter_table('training_availability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_availability_host_id'))

    op.drop_table('training_availability')
    op.drop_table('training_shadow_hosts')
    with op.batch_alter_table('training_quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_training_quiz_attempts_user_module')
        batch_op.drop_index(batch_op.f('ix_training_quiz_attempts_module_id'))

    op.drop_table('training_quiz_attempts')
    with op.batch_alter_table('training_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_questions_module_id'))

    op.drop_table('training_questions')
    op.drop_table('training_path_modules')
    with op.batch_alter_table('training_module_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_module_tags_tag'))

    op.drop_table('training_module_tags')
    with op.batch_alter_table('training_module_completions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_module_completions_user_id'))
        batch_op.drop_index(batch_op.f('ix_training_module_completions_module_id'))

    op.drop_table('training_module_completions')
    with op.batch_alter_table('training_lessons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_lessons_module_id'))

    op.drop_table('training_lessons')
    with op.batch_alter_table('training_calendar_feeds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_calendar_feeds_user_id'))

    op.drop_table('training_calendar_feeds')
    with op.batch_alter_table('training_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_assignments_user_id'))
        batch_op.drop_index(batch_op.f('ix_training_assignments_path_id'))
        batch_op.drop_index(batch_op.f('ix_training_assignments_module_id'))

    op.drop_table('training_assignments')
    op.drop_table('training_paths')
    with op.batch_alter_table('training_modules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_modules_status'))

    op.drop_table('training_modules')
