"""Session hooks: link files to the pages whose text uses them, and clean up after deleted owners.

Like search indexing, this watches the session instead of asking every feature to call it: any save of an
article, lesson, question or template (editor, import, restore, demo) links its files, and any delete (of one
row, or in bulk as hiring's purge does) is followed by a sweep before the commit. Stored files are removed
only after the commit, and files stored by a transaction that rolls back are removed again.
"""

from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import attributes

from kms.articles.models import Article, ArticleTemplate
from kms.extensions import db
from kms.hiring.models import Candidate
from kms.media.models import Attachment
from kms.media.services import link_references, sweep
from kms.media.services.uploads import NEW_FILES
from kms.training.models import Lesson, Module, Question

LINKS, SWEEP, DOOMED = "kms_media_links", "kms_media_sweep", "kms_media_doomed"
SCANNED = {
    Article: ("article", "id", "body"),
    Lesson: ("lesson", "id", "body"),
    Question: ("question", "id", "explanation"),
    ArticleTemplate: ("template", "key", "body"),
}
# Deleting one of these may leave files nobody uses (a module takes its lessons and questions with it).
OWNERS = (Article, ArticleTemplate, Lesson, Question, Module, Candidate, Attachment)
EXTENSION = "kms.media.storage"


def storage():
    """The app's file storage (None outside an app context)."""
    return current_app.extensions.get(EXTENSION) if has_app_context() else None


def _after_flush(session, _context) -> None:
    pending = session.info.setdefault(LINKS, {})
    for obj in (*session.new, *session.dirty):
        spec = SCANNED.get(type(obj))
        if spec is None:
            continue
        owner_type, key, field = spec
        text = getattr(obj, field) or ""
        if "/media/" in text and (obj in session.new or attributes.get_history(obj, field).has_changes()):
            pending[(owner_type, str(getattr(obj, key)))] = text
    if any(isinstance(obj, OWNERS) for obj in session.deleted):
        session.info[SWEEP] = True


def _bulk_delete(state) -> None:
    mapper = state.bind_mapper
    if state.is_delete and mapper is not None and issubclass(mapper.class_, OWNERS):
        state.session.info[SWEEP] = True


def _before_commit(session) -> None:
    session.flush()
    links = session.info.pop(LINKS, None) or {}
    for (owner_type, owner_id), text in links.items():
        link_references(owner_type, owner_id, text)
    if session.info.pop(SWEEP, False):
        session.info.setdefault(DOOMED, []).extend(sweep())
        session.info.pop(SWEEP, None)
        session.flush()


def _after_commit(session) -> None:
    doomed = session.info.pop(DOOMED, None)
    session.info.pop(NEW_FILES, None)
    session.info.pop(LINKS, None)
    store = storage()
    for digest in doomed or ():
        if store is not None:
            store.delete(digest)


def _after_rollback(session) -> None:
    created = session.info.pop(NEW_FILES, None)
    for key in (LINKS, SWEEP, DOOMED):
        session.info.pop(key, None)
    store = storage()
    for digest in created or ():  # stored by this transaction only: no committed row names them
        if store is not None:
            store.delete(digest)


HOOKS = {
    "after_flush": _after_flush,
    "do_orm_execute": _bulk_delete,
    "before_commit": _before_commit,
    "after_commit": _after_commit,
    "after_rollback": _after_rollback,
}


def init_app(app, store) -> None:
    """Give the app its storage and hook the session (once, however many apps are built)."""
    app.extensions[EXTENSION] = store
    for name, hook in HOOKS.items():
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)
