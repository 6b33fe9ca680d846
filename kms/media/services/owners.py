"""Who owns an attachment, and who may see or add to it: each owner type defers to its own feature's rules."""

from __future__ import annotations

from dataclasses import dataclass

from kms.articles.models import Article, ArticleTemplate
from kms.articles.services import can_edit as can_edit_articles
from kms.articles.services import visible_to as article_visible_to
from kms.auth.models import Role, User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db
from kms.hiring.models import Candidate
from kms.hiring.services import access_to, is_lead
from kms.media.models import OWNER_TYPES
from kms.training.models import Lesson, Question
from kms.training.services.catalog import get_module

EDITING_ROLES = frozenset({Role.ADMIN, Role.AUTHOR, Role.MANAGER})
OWNER_HELP = "owner must be article:<id>, lesson:<id>, question:<id>, template:<key>, candidate:<id> or draft"


@dataclass(frozen=True)
class Owner:
    type: str
    id: str

    def __str__(self) -> str:
        return f"{self.type}:{self.id}" if self.type != "draft" else "draft"


def parse(spec: str | None, actor: User) -> Owner:
    """`article:12`, `template:faq` or `draft` as an Owner (a draft belongs to the uploader); Invalid otherwise."""
    spec = (spec or "draft").strip()
    if spec == "draft":
        return Owner("draft", str(actor.id))
    kind, _, ident = spec.partition(":")
    if kind not in OWNER_TYPES or kind == "draft" or not ident:
        raise Invalid(f"Unknown owner {spec[:80]!r}: {OWNER_HELP}.", field="owner")
    if kind == "template":
        if len(ident) > 80:
            raise Invalid("That template key is too long.", field="owner")
    elif not (ident.isascii() and ident.isdigit() and len(ident) <= 10 and 0 < int(ident) < 2**31):
        raise Invalid(f"The {kind} in owner must be a number, got {ident[:20]!r}.", field="owner")
    return Owner(kind, ident)


def _module_open(module_id: int, viewer: User) -> bool:
    try:
        get_module(module_id, actor=viewer)
    except NotFound:
        return False
    return True


def _candidate_visible(candidate_id: int, viewer: User) -> bool:
    try:
        access_to(candidate_id, viewer)
    except NotFound:
        return False
    return True


def can_view(owner: Owner, viewer: User) -> bool:
    """True when the viewer may open the owner's page (and so its files)."""
    if owner.type == "draft":
        return owner.id == str(viewer.id)
    if owner.type == "template":
        return can_edit_articles(viewer) and db.session.get(ArticleTemplate, owner.id) is not None
    row_id = int(owner.id)
    if owner.type == "article":
        article = db.session.get(Article, row_id)
        return article is not None and article_visible_to(article, viewer)
    if owner.type == "lesson":
        lesson = db.session.get(Lesson, row_id)
        return lesson is not None and _module_open(lesson.module_id, viewer)
    if owner.type == "question":
        question = db.session.get(Question, row_id)
        return question is not None and _module_open(question.module_id, viewer)
    if owner.type == "candidate":
        return _candidate_visible(row_id, viewer)
    return False


def _exists(owner: Owner) -> bool:
    model = {
        "article": Article,
        "lesson": Lesson,
        "question": Question,
        "template": ArticleTemplate,
        "candidate": Candidate,
    }[owner.type]
    key = owner.id if owner.type == "template" else int(owner.id)
    return db.session.get(model, key) is not None


def require_upload(owner: Owner, actor: User) -> None:
    """Forbidden unless the actor may change the owner; Invalid when the owner does not exist."""
    if owner.type == "draft":
        allowed = actor.role in EDITING_ROLES
    elif owner.type in ("article", "template"):
        allowed = can_edit_articles(actor)
    elif owner.type in ("lesson", "question"):
        allowed = actor.role in EDITING_ROLES
    else:
        allowed = is_lead(actor)
    if not allowed:
        raise Forbidden(f"You may not add files to {owner}: your role cannot edit it.")
    if owner.type != "draft" and not _exists(owner):
        raise Invalid(
            f"There is no {owner.type} {owner.id}; save the page first, or upload as a draft.", field="owner"
        )
