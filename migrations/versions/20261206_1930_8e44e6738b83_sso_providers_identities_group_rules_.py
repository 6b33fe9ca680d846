"""single sign-on: providers added by admins, linked identities (provider, subject), group rules, settings

Revision ID: 8e44e6738b83
Revises: e3b7c1d9a540
Created: 2026-12-06 19:12:16.233063
"""
import sqlalchemy as sa
from alembic import op

import kms.extensions

revision = '8e44e6738b83'
down_revision = 'e3b7c1d9a540'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sso_group_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('admin', 'manager', 'author', 'member', name='role', native_enum=False, length=20), nullable=False),
    sa.Column('team', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_group_rules')),
    sa.UniqueConstraint('group_name', name=op.f('uq_sso_group_rules_group_name'))
    )
    op.create_table('sso_providers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=80), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=False),
    sa.Column('client_secret', sa.String(length=500), nullable=False),
    sa.Column('scopes', sa.String(length=255), nullable=False),
    sa.Column('groups_claim', sa.String(length=80), nullable=False),
    sa.Column('created_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_providers')),
    sa.UniqueConstraint('slug', name=op.f('uq_sso_providers_slug'))
    )
    op.create_table('sso_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sso_only', sa.Boolean(), nullable=False),
    sa.Column('break_glass_emails', sa.Text(), nullable=False),
    sa.Column('unmapped_role', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_settings'))
    )
    op.create_table('sso_identities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('linked_at', kms.extensions.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', kms.extensions.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sso_identities_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sso_identities')),
    sa.UniqueConstraint('provider', 'subject', name=op.f('uq_sso_identities_provider'))
    )
    with op.batch_alter_table('sso_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sso_identities_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('sso_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sso_identities_user_id'))

    op.drop_table('sso_identities')
    op.drop_table('sso_settings')
    op.drop_table('sso_providers')
    op.drop_table('sso_group_rules')
