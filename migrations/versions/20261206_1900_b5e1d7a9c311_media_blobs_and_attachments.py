"""media: stored files by content hash, and their attachments to pages, candidates and drafts

Revision ID: b5e1d7a9c311
Revises: 7d3a9c1e5f20
Created: 2026-12-06 19:00:00
"""
import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = 'b5e1d7a9c311'
down_revision = '7d3a9c1e5f20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'media_blobs',
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('mime', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('page_sha256', sa.String(length=64), nullable=True),
        sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('sha256', name=op.f('pk_media_blobs')),
    )
    op.create_table(
        'media_attachments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('blob_sha256', sa.String(length=64), nullable=False),
        sa.Column('owner_type', sa.String(length=20), nullable=False),
        sa.Column('owner_id', sa.String(length=80), nullable=False),
        sa.Column('uploader_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('alt', sa.String(length=300), nullable=False),
        sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['blob_sha256'], ['media_blobs.sha256'],
                                name=op.f('fk_media_attachments_blob_sha256_media_blobs'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['uploader_id'], ['users.id'],
                                name=op.f('fk_media_attachments_uploader_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_media_attachments')),
        sa.UniqueConstraint('blob_sha256', 'owner_type', 'owner_id', name='uq_media_attachments_blob_owner'),
    )
    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.create_index('ix_media_attachments_owner', ['owner_type', 'owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_attachments_blob_sha256'), ['blob_sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('media_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_attachments_blob_sha256'))
        batch_op.drop_index('ix_media_attachments_owner')
    op.drop_table('media_attachments')
    op.drop_table('media_blobs')
