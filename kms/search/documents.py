"""The search document types: the registry, the per-model document builders and watchers, and loading
documents from the database."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session, joinedload, object_session, selectinload

from kms.articles.models import Article, ArticleStatus, ArticleTag, Process, ProcessStatus, Revision
from kms.auth.models import User
from kms.media.models import Attachment, Blob
from kms.training.models import Lesson, Module, ModuleStatus, ModuleTag

LOAD_BATCH = 200

# --------------------------------------------------------------------------------------------------
# Documents. A DocumentType says how to load rows of one model and turn one row into an index
# document; add one with register() (plus watch() for the models its text is made of).

UrlFor = Callable[..., str]


@dataclass(frozen=True)
class DocumentType:
    prefix: str  # "article" -> ids "article:12"
    model: type
    options: tuple = ()  # loader options for batches
    build: Callable[[Any, UrlFor], dict] = None  # type: ignore[assignment]


DOCUMENT_TYPES: dict[str, DocumentType] = {}
# Model -> function(session, obj) giving the document ids a change of obj affects.
WATCHERS: dict[type, Callable[[Session, Any], Iterable[str]]] = {}
# Model -> function(session, where clause) giving the document ids a bulk UPDATE/DELETE affects.
BULK_WATCHERS: dict[type, Callable[[Session, Any], Iterable[str]]] = {}


def register(doc_type: DocumentType) -> None:
    DOCUMENT_TYPES[doc_type.prefix] = doc_type


def watch(
    model: type,
    affected: Callable[[Session, Any], Iterable[str]],
    bulk: Callable[[Session, Any], Iterable[str]] | None = None,
) -> None:
    WATCHERS[model] = affected
    if bulk is not None:
        BULK_WATCHERS[model] = bulk


def _owner_name(user) -> str:
    return user.name if user is not None else ""


# A page's files: /media/<sha256>/... in its Markdown. Their text (a PDF's) is indexed with the page, so a
# search for words in the file finds the page that holds it.
_FILE_REFERENCE = re.compile(r"/media/([0-9a-f]{64})(?![0-9a-f])")
MAX_FILE_TEXT = 200_000  # characters of file text per page


def _with_file_text(page, owner_type: str, body: str) -> str:
    """The page's text followed by the text of the files it links to and holds (never another owner's file)."""
    digests = set(_FILE_REFERENCE.findall(body or ""))
    session = object_session(page)
    if not digests or session is None:
        return body
    texts = session.scalars(
        select(Blob.search_text)
        .join(Attachment, Attachment.blob_sha256 == Blob.sha256)
        .where(
            Attachment.owner_type == owner_type,
            Attachment.owner_id == str(page.id),
            Blob.sha256.in_(sorted(digests)),
            Blob.search_text.is_not(None),
        )
        .order_by(Blob.sha256)
    )
    extra = "\n\n".join(text for text in texts if text)[:MAX_FILE_TEXT]
    return f"{body}\n\n{extra}" if extra else body


def _article_is_public(article: Article) -> bool:
    return article.status == ArticleStatus.PUBLISHED and article.published_revision_id is not None


def _article_document(article: Article, url_for: UrlFor) -> dict:
    public = _article_is_public(article)
    # Readers see the published revision while a newer change waits for review; index what they see.
    if public and article.published_revision is not None:
        title, body = article.published_revision.title, article.published_revision.body
    else:
        title, body = article.title, article.body
    body = _with_file_text(article, "article", body)
    return {
        "type": "article",
        "title": title,
        "body": body,
        "tags": article.tags,
        "category": article.category,
        "language": article.language or "en",
        "status": article.status.value,
        "visibility": "public" if public else "handbook-editors",
        "owner": _owner_name(article.owner),
        "updated": article.updated_at,
        "verified": article.verified_at,
        "url": url_for("articles.show", slug=article.slug),
    }


def _process_document(process: Process, url_for: UrlFor) -> dict:
    article = process.article
    if article is not None and _article_is_public(article):
        url = url_for("articles.show", slug=article.slug)
    else:
        url = url_for("articles.processes", category=process.category)
    # Retired processes are hidden from readers (the inventory hides them too); editors still find them.
    retired = process.status == ProcessStatus.RETIRED
    return {
        "type": "process",
        "title": process.name,
        "body": process.notes,
        "tags": [],
        "category": process.category,
        "language": "en",
        "status": process.status.value,
        "visibility": "handbook-editors" if retired else "public",
        "owner": _owner_name(process.owner),
        "updated": process.updated_at,
        "verified": None,
        "url": url,
    }


def _module_visibility(module: Module) -> str:
    return "public" if module.status == ModuleStatus.PUBLISHED else "training-editors"


def _module_document(module: Module, url_for: UrlFor) -> dict:
    lessons = "\n".join(f"- {lesson.title}" for lesson in module.lessons)
    return {
        "type": "module",
        "title": module.title,
        "body": f"{module.summary}\n\n{module.intro}\n\n{lessons}",
        "tags": module.tags,
        "category": "Training",
        "language": "en",
        "status": module.status.value,
        "visibility": _module_visibility(module),
        "owner": "",
        "updated": module.updated_at,
        "verified": None,
        "url": url_for("training.module", module_id=module.id),
    }


def _lesson_document(lesson: Lesson, url_for: UrlFor) -> dict:
    module = lesson.module
    return {
        "type": "lesson",
        "title": lesson.title,
        "body": _with_file_text(lesson, "lesson", lesson.body),
        "tags": module.tags,
        "category": "Training",
        "language": "en",
        "status": module.status.value,
        "visibility": _module_visibility(module),
        "owner": "",
        "updated": module.updated_at,
        "verified": None,
        "url": url_for("training.lesson", lesson_id=lesson.id),
    }


register(
    DocumentType(
        "article",
        Article,
        (selectinload(Article.tag_rows), joinedload(Article.owner), joinedload(Article.published_revision)),
        _article_document,
    )
)
register(
    DocumentType(
        "process", Process, (joinedload(Process.owner), joinedload(Process.article)), _process_document
    )
)
register(
    DocumentType(
        "module", Module, (selectinload(Module.tag_rows), selectinload(Module.lessons)), _module_document
    )
)
register(
    DocumentType(
        "lesson", Lesson, (joinedload(Lesson.module).selectinload(Module.tag_rows),), _lesson_document
    )
)


def _old_values(obj, attribute: str) -> list:
    history = inspect(obj).attrs[attribute].history
    return [value for value in (*history.deleted, *history.unchanged, *history.added) if value is not None]


def _lesson_ids(session: Session, module_ids: Iterable[int]) -> list[str]:
    ids = [m for m in module_ids if m is not None]
    if not ids:
        return []
    rows = session.connection().execute(select(Lesson.id).where(Lesson.module_id.in_(ids)))
    return [f"lesson:{lesson_id}" for (lesson_id,) in rows]


def _owned_documents(session: Session, user: User) -> list[str]:
    if not inspect(user).attrs.name.history.has_changes():
        return []
    conn = session.connection()
    return [
        *(f"article:{i}" for (i,) in conn.execute(select(Article.id).where(Article.owner_id == user.id))),
        *(f"process:{i}" for (i,) in conn.execute(select(Process.id).where(Process.owner_id == user.id))),
    ]


watch(
    Article,
    lambda s, a: [f"article:{a.id}", *(f"process:{p}" for p in _old_values(a, "process_id"))],
    lambda s, where: [
        doc
        for article_id, process_id in s.connection().execute(
            select(Article.id, Article.process_id).where(where)
        )
        for doc in (f"article:{article_id}", f"process:{process_id}")
        if not doc.endswith(":None")
    ],
)
watch(ArticleTag, lambda s, t: [f"article:{t.article_id}"])
watch(Revision, lambda s, r: [f"article:{r.article_id}"])
watch(
    Process,
    lambda s, p: [f"process:{p.id}"],
    lambda s, where: [f"process:{i}" for (i,) in s.connection().execute(select(Process.id).where(where))],
)
watch(
    Module,
    lambda s, m: [f"module:{m.id}", *_lesson_ids(s, [m.id])],
    lambda s, where: [
        doc
        for (i,) in s.connection().execute(select(Module.id).where(where))
        for doc in (f"module:{i}", *_lesson_ids(s, [i]))
    ],
)
watch(ModuleTag, lambda s, t: [f"module:{t.module_id}", *_lesson_ids(s, [t.module_id])])
watch(
    Lesson,
    lambda s, lesson: [f"lesson:{lesson.id}", *(f"module:{m}" for m in _old_values(lesson, "module_id"))],
    lambda s, where: [
        doc
        for i, m in s.connection().execute(select(Lesson.id, Lesson.module_id).where(where))
        for doc in (f"lesson:{i}", f"module:{m}")
    ],
)
watch(User, _owned_documents)
# A file attached to a page (on save, or by the content import) can bring its text to the page's document.
watch(
    Attachment, lambda s, a: [f"{a.owner_type}:{a.owner_id}"] if a.owner_type in ("article", "lesson") else []
)


def stamp(document: dict) -> str:
    """A fingerprint of a document's content: equal stamps = the index holds what the database has."""
    data = json.dumps({k: v for k, v in document.items() if k != "stamp"}, sort_keys=True, default=str)
    return hashlib.sha1(data.encode("utf-8")).hexdigest()[:20]


def _finish(doc_id: str, document: dict) -> dict:
    document["id"] = doc_id
    document["stamp"] = stamp(document)
    return document


def url_builder(url_map) -> UrlFor:
    """A url_for that works outside a request (documents are built after the commit)."""
    adapter = url_map.bind("localhost", script_name="/")
    return lambda endpoint, **values: adapter.build(endpoint, values)


def load_documents(session: Session, doc_ids: Iterable[str], url_for: UrlFor) -> dict[str, dict | None]:
    """doc id -> its document as the database has it now, or None when it is gone (or unknown)."""
    wanted: dict[str, list[int]] = {}
    out: dict[str, dict | None] = {}
    for doc_id in doc_ids:
        prefix, _, number = doc_id.partition(":")
        out[doc_id] = None
        if prefix in DOCUMENT_TYPES and number.isdigit():
            wanted.setdefault(prefix, []).append(int(number))
    for prefix, ids in wanted.items():
        doc_type = DOCUMENT_TYPES[prefix]
        for start in range(0, len(ids), LOAD_BATCH):
            chunk = ids[start : start + LOAD_BATCH]
            query = select(doc_type.model).where(doc_type.model.id.in_(chunk)).options(*doc_type.options)
            for obj in session.scalars(query).unique():
                doc_id = f"{prefix}:{obj.id}"
                out[doc_id] = _finish(doc_id, doc_type.build(obj, url_for))
    return out


def count_documents(session: Session) -> int:
    """How many documents iter_documents will give (at most): one count per type."""
    return sum(
        session.scalar(select(func.count(doc_type.model.id))) or 0 for doc_type in DOCUMENT_TYPES.values()
    )


def iter_documents(session: Session, url_for: UrlFor) -> Iterator[dict]:
    """Every document the database holds, type by type, in batches (for rebuilds and drift checks)."""
    for prefix, doc_type in DOCUMENT_TYPES.items():
        ids = list(session.scalars(select(doc_type.model.id).order_by(doc_type.model.id)))
        for start in range(0, len(ids), LOAD_BATCH):
            chunk = [f"{prefix}:{i}" for i in ids[start : start + LOAD_BATCH]]
            for document in load_documents(session, chunk, url_for).values():
                if document is not None:
                    yield document
            session.expunge_all()
