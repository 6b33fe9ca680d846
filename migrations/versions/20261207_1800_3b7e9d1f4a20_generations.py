"""generations: named values moved on by each commit that wrote to the tables watched for them (kms.generations)

Revision ID: 3b7e9d1f4a20
Revises: e41b7d2c9a60
Created: 2026-12-07 18:00

A process keeps the article page it rendered for as long as the "article_pages" generation stays the same.
"""
import sqlalchemy as sa
from alembic import op

revision = '3b7e9d1f4a20'
down_revision = 'e41b7d2c9a60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'generations',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_generations')),
    )


def downgrade():
    op.drop_table('generations')
