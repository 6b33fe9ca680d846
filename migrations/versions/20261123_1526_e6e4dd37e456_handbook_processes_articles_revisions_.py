"""handbook: processes, articles, revisions, flags, coverage

Revision ID: e6e4dd37e456
Revises: 4fbd289093c8
Created: 2026-11-23 15:28:52.196727
"""
from alembic import op
import sqlalchemy as sa
import kms.extensions

revision = 'e6e4dd37e456'
down_revision = '4fbd289093c8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('article_templates',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_article_templates'))
    )
    op.create_table('categories',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('requires_review', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_categories'))
    )
    op.create_table('coverage_snapshots',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('documented', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('weighted_documented', sa.Integer(), nullable=False),
    sa.Column('weighted_total', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_coverage_snapshots'))
    )
    op.create_table('processes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=80), nullable=False),
    sa.Column('frequency', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('target_date', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('undocumented', 'drafting', 'documented', 'needs review', 'retired', name='processstatus', native_enum=False, length=20), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_processes_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_processes')),
    sa.UniqueConstraint('name', name=op.f('uq_processes_name'))
    )
    with op.batch_alter_table('processes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_processes_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_processes_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_processes_status'), ['status'], unique=False)

    op.create_table('articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.Integer(), nullable=True),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=80), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('status', sa.Enum('draft', 'published', 'archived', name='articlestatus', native_enum=False, length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('published_revision_id', sa.Integer(), nullable=True),
    sa.Column('verify_interval_days', sa.Integer(), nullable=False),
    sa.Column('verified_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verify_due_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_articles_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['process_id'], ['processes.id'], name=op.f('fk_articles_process_id_processes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_articles_updated_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_articles_verified_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_articles')),
    sa.UniqueConstraint('process_id', name=op.f('uq_articles_process_id')),
    sa.UniqueConstraint('slug', name=op.f('uq_articles_slug'))
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_articles_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_articles_verify_due_at'), ['verify_due_at'], unique=False)

    op.create_table('article_tags',
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_article_tags_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('article_id', 'tag', name=op.f('pk_article_tags'))
    )
    with op.batch_alter_table('article_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_article_tags_tag'), ['tag'], unique=False)

    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_flags_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_flags_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_flags_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags'))
    )
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_index('ix_flags_open', ['article_id', 'resolved_at'], unique=False)

    op.create_table('revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('published', 'pending', 'rejected', 'draft', name='revisionstate', native_enum=False, length=20), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_revisions_article_id_articles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_revisions_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_revisions_reviewed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revisions')),
    sa.UniqueConstraint('article_id', 'number', name=op.f('uq_revisions_article_id'))
    )
    # articles <-> revisions point at each other: the article's link to its published revision comes last.
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_articles_published_revision_id_revisions'), 'revisions',
                                    ['published_revision_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revisions_article_id'), ['article_id'], unique=False)

    op.create_table('slug_redirects',
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['articles.id'], name=op.f('fk_slug_redirects_article_id_articles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_slug_redirects'))
    )
    with op.batch_alter_table('slug_redirects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_slug_redirects_article_id'), ['article_id'], unique=False)



def downgrade():
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_articles_published_revision_id_revisions'), type_='foreignkey')
    with op.batch_alter_table('slug_redirects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_slug_redirects_article_id'))

    op.drop_table('slug_redirects')
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revisions_article_id'))

    op.drop_table('revisions')
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_index('ix_flags_open')

    op.drop_table('flags')
    with op.batch_alter_table('article_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_article_tags_tag'))

    op.drop_table('article_tags')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_articles_verify_due_at'))
        batch_op.drop_index(batch_op.f('ix_articles_status'))
        batch_op.drop_index(batch_op.f('ix_articles_owner_id'))
        batch_op.drop_index(batch_op.f('ix_articles_category'))

    op.drop_table('articles')
    with op.batch_alter_table('processes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_processes_status'))
        batch_op.drop_index(batch_op.f('ix_processes_owner_id'))
        batch_op.drop_index(batch_op.f('ix_processes_category'))

    op.drop_table('processes')
    op.drop_table('coverage_snapshots')
    op.drop_table('categories')
    op.drop_table('article_templates')
