"""media blobs: the text of a PDF, extracted once when it is stored, for search

Revision ID: d4a8c2f61e37
Revises: 8e44e6738b83
Created: 2026-12-06 19:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'd4a8c2f61e37'
down_revision = '8e44e6738b83'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('media_blobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('media_blobs', schema=None) as batch_op:
        batch_op.drop_column('search_text')
