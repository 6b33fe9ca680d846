"""processes: name_key, so the database refuses two process names that differ only in case

Revision ID: 5c2e91d7a4b3
Revises: 1bd90f2f1fc1
Created: 2026-12-04 10:10:00

Existing names that already clash (possible before: SQLite's lower() folds only A-Z) are not dropped: the later
one gets " (2)", " (3)"... and each rename is reported, so an admin can merge them by hand.
"""
import hashlib
import logging
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '5c2e91d7a4b3'
down_revision = '1bd90f2f1fc1'
branch_labels = None
depends_on = None

NAME_MAX = 200


def _key(name):
    # As kms.articles.models.process_name_key on the day of this migration (migrations keep their own copy).
    folded = unicodedata.normalize("NFKC", " ".join(name.split()).casefold())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()


def _free_name(name, taken_keys, taken_names):
    number = 2
    while True:
        suffix = f" ({number})"
        candidate = name[:NAME_MAX - len(suffix)] + suffix
        if _key(candidate) not in taken_keys and candidate not in taken_names:
            return candidate
        number += 1


def upgrade():
    with op.batch_alter_table('processes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_key', sa.String(length=64), nullable=True))

    processes = sa.table('processes', sa.column('id', sa.Integer), sa.column('name', sa.String),
                         sa.column('name_key', sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(processes.c.id, processes.c.name).order_by(processes.c.id)).all()
    names = {name for _, name in rows}
    keys = {_key(name) for name in names}   # a new name must not clash with any name, even a later one
    owners = {}
    for process_id, name in rows:
        key = original = _key(name)
        new_name = name
        if original in owners:
            new_name = _free_name(name, keys, names)
            key = _key(new_name)
            names.add(new_name)
            keys.add(key)
            holder_id, holder_name = owners[original]
            logging.getLogger("alembic").warning(
                "Process %r (id %s) had the same name as %r (id %s) apart from case or spacing; renamed to %r.",
                name, process_id, holder_name, holder_id, new_name)
        owners[key] = (process_id, name)
        connection.execute(processes.update().where(processes.c.id == process_id)
                           .values(name=new_name, name_key=key))

    with op.batch_alter_table('processes', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_processes_name_key'), ['name_key'])


def downgrade():
    with op.batch_alter_table('processes', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_processes_name_key'), type_='unique')
        batch_op.drop_column('name_key')
