"""sso: admin-added providers' client secrets stored sealed with the site's key (kms.sealing), in a wider column

Revision ID: e41b7d2c9a60
Revises: c9c5a3991289
Created: 2026-12-07 01:00

Secrets stored before this revision are plain text: they are sealed here with the running app's SECRET_KEY
(migrations run inside the app, see migrations/env.py). A downgrade opens them again.
"""
import sqlalchemy as sa
from alembic import op
from flask import current_app

from kms import sealing

revision = 'e41b7d2c9a60'
down_revision = 'c9c5a3991289'
branch_labels = None
depends_on = None

PURPOSE = b"kms sso client secret v1\x00"  # kms.sso.services.SECRET_PURPOSE when this was written
providers = sa.table('sso_providers', sa.column('id', sa.Integer), sa.column('client_secret', sa.Text))


def _rewrite(change) -> None:
    bind = op.get_bind()
    key = current_app.config['SECRET_KEY']
    for row_id, value in bind.execute(sa.select(providers.c.id, providers.c.client_secret)).all():
        if value:
            bind.execute(
                providers.update().where(providers.c.id == row_id).values(client_secret=change(value, key))
            )


def upgrade():
    with op.batch_alter_table('sso_providers') as batch:
        batch.alter_column('client_secret', existing_type=sa.String(length=500), type_=sa.Text())
    _rewrite(lambda value, key: sealing.seal(value, site_key=key, purpose=PURPOSE))


def downgrade():
    _rewrite(lambda value, key: sealing.unseal(value, site_key=key, purpose=PURPOSE) or '')
    with op.batch_alter_table('sso_providers') as batch:
        batch.alter_column('client_secret', existing_type=sa.Text(), type_=sa.String(length=500))
