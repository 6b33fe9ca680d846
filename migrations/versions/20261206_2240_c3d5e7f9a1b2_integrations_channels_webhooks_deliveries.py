"""integrations: chat app secrets, team channels, outgoing webhooks, their deliveries and the event cursor

Revision ID: c3d5e7f9a1b2
Revises: a2c4e6f80b12
Created: 2026-12-06 22:40:00
"""
import sqlalchemy as sa
from alembic import op

from kms.extensions import UTCDateTime

revision = 'c3d5e7f9a1b2'
# After notify's migration on this branch (no foreign key points at its events table: it is read at run time).
down_revision = 'a2c4e6f80b12'
branch_labels = None
depends_on = None


def _target_columns():
    return [
        sa.Column('events', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('disabled_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('disabled_reason', sa.String(length=300), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade():
    op.create_table(
        'integration_chat_settings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slack_signing_secret', sa.Text(), nullable=True),
        sa.Column('slack_bot_token', sa.Text(), nullable=True),
        sa.Column('teams_security_token', sa.Text(), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_chat_settings')),
    )
    op.create_table(
        'integration_channels',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('url_sealed', sa.Text(), nullable=False),
        sa.Column('url_hint', sa.String(length=120), nullable=False),
        *_target_columns(),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_channels')),
    )
    op.create_table(
        'integration_webhooks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('secret_sealed', sa.Text(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        *_target_columns(),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'], name=op.f('fk_integration_webhooks_created_by_id_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_webhooks')),
    )
    op.create_table(
        'integration_deliveries',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('target', sa.String(length=10), nullable=False),
        sa.Column('channel_id', sa.Integer(), nullable=True),
        sa.Column('webhook_id', sa.Integer(), nullable=True),
        sa.Column('reply_url_sealed', sa.Text(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('event', sa.String(length=80), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_attempt_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('response_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.String(length=500), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['channel_id'], ['integration_channels.id'],
            name=op.f('fk_integration_deliveries_channel_id_integration_channels'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['webhook_id'], ['integration_webhooks.id'],
            name=op.f('fk_integration_deliveries_webhook_id_integration_webhooks'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_deliveries')),
        sa.UniqueConstraint('channel_id', 'event_id', name=op.f('uq_integration_deliveries_channel_id')),
        sa.UniqueConstraint('webhook_id', 'event_id', name=op.f('uq_integration_deliveries_webhook_id')),
    )
    op.create_index('ix_integration_deliveries_due', 'integration_deliveries', ['status', 'next_attempt_at'])
    op.create_index(
        op.f('ix_integration_deliveries_channel_id'), 'integration_deliveries', ['channel_id'], unique=False
    )
    op.create_index(
        op.f('ix_integration_deliveries_webhook_id'), 'integration_deliveries', ['webhook_id'], unique=False
    )
    op.create_table(
        'integration_event_cursor',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_integration_event_cursor')),
    )


def downgrade():
    op.drop_table('integration_event_cursor')
    op.drop_index(op.f('ix_integration_deliveries_webhook_id'), table_name='integration_deliveries')
    op.drop_index(op.f('ix_integration_deliveries_channel_id'), table_name='integration_deliveries')
    op.drop_index('ix_integration_deliveries_due', table_name='integration_deliveries')
    op.drop_table('integration_deliveries')
    op.drop_table('integration_webhooks')
    op.drop_table('integration_channels')
    op.drop_table('integration_chat_settings')
