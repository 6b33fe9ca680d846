"""login_known_clients: addresses and browsers that logged into an account before

Revision ID: 7d3a91c5e2f4
Revises: 7d3e1a9c4b20
Created: 2026-12-10 09:00:00

Failed logins no longer lock an account; they slow down the client that failed. Logins from a known client are
not held back by failures from elsewhere. The old per-email counters are dropped: they counted differently.
"""
import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = '7d3a91c5e2f4'
down_revision = '7d3e1a9c4b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_known_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('last_login_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_login_known_clients_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_known_clients')),
    sa.UniqueConstraint('user_id', 'key_hash', name=op.f('uq_login_known_clients_user_id'))
    )
    with op.batch_alter_table('login_known_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_known_clients_user_id'), ['user_id'], unique=False)
    op.execute(sa.text("DELETE FROM login_throttles"))


def downgrade():
    with op.batch_alter_table('login_known_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_known_clients_user_id'))
    op.drop_table('login_known_clients')
