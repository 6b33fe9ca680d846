"""revisions: own_words, the words of a revision's body that are not template lines (a stub counts no coverage)

Revision ID: 7d3e1a9c4b20
Revises: a48a75d73406
Created: 2026-12-06 12:00:00

Existing revisions are counted here, so an untouched template published before this migration stops counting
as documented at once.
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = '7d3e1a9c4b20'
down_revision = 'a48a75d73406'
branch_labels = None
depends_on = None

_UNSPACED = ((0x3040, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))


# As kms.articles.services.substance and kms.markdown.slug_words on the day of this migration (migrations keep
# their own copy).
def _line_key(line):
    return " ".join(unicodedata.normalize("NFKC", line).split()).casefold()


def _words(line):
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", line).casefold())
    words, current = [], []
    for char in folded:
        if unicodedata.category(char)[0] in "LNM":
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def _word_count(word):
    unspaced = sum(1 for char in word if any(low <= ord(char) <= high for low, high in _UNSPACED))
    if unspaced:
        return unspaced + (1 if any(c.isalpha() for c in word if not 0x3040 <= ord(c) <= 0x2FA1F) else 0)
    return 1 if any(char.isalpha() for char in word) else 0


def _own_words(body, templates):
    return sum(_word_count(word) for line in (body or "").splitlines() if _line_key(line) not in templates
               for word in _words(line))


def upgrade():
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('own_words', sa.Integer(), server_default='0', nullable=False))

    connection = op.get_bind()
    templates_table = sa.table('article_templates', sa.column('body', sa.Text))
    revisions = sa.table('revisions', sa.column('id', sa.Integer), sa.column('body', sa.Text),
                         sa.column('own_words', sa.Integer))
    templates = set()
    for (body,) in connection.execute(sa.select(templates_table.c.body)):
        templates.update(_line_key(line) for line in (body or "").splitlines())
    templates.discard("")
    for revision_id, body in connection.execute(sa.select(revisions.c.id, revisions.c.body)).all():
        connection.execute(revisions.update().where(revisions.c.id == revision_id)
                           .values(own_words=_own_words(body, templates)))


def downgrade():
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_column('own_words')
