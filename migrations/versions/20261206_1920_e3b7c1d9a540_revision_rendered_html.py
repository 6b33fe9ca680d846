"""revisions: rendered_html, rendered_toc and rendered_version, the body's HTML kept beside the revision

Revision ID: e3b7c1d9a540
Revises: c7f2a4e9b018
Created: 2026-12-06 19:20:00

Existing revisions keep NULL: they are rendered when shown, as before, until they are written again.
"""
import sqlalchemy as sa
from alembic import op

revision = 'e3b7c1d9a540'
down_revision = 'c7f2a4e9b018'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rendered_html', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rendered_toc', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('rendered_version', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_column('rendered_version')
        batch_op.drop_column('rendered_toc')
        batch_op.drop_column('rendered_html')
