"""Authoring: modules, lessons (with linked handbook articles), quiz questions; publish, archive, reorder."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from kms.articles.models import Article
from kms.auth.models import Role
from kms.errors import Invalid, NotFound
from kms.extensions import db
from kms.markdown import MAX_MARKDOWN, free_slug, slugify
from kms.training.models import (
    Assignment,
    Choice,
    Lesson,
    LessonArticle,
    Module,
    ModuleStatus,
    ModuleTag,
    Question,
    QuestionKind,
)
from kms.training.services._common import is_editor, require_editor, text, whole

TAG_RE = re.compile(r"^[a-z0-9][a-z0-9 _-]{0,49}$")


def list_modules(*, actor, include_unpublished: bool = False) -> list[Module]:
    """Modules the actor may take: published ones meant for their role, plus any assigned to them.

    Editors asking for unpublished modules get every module, drafts and archived ones included.
    """
    query = select(Module).options(selectinload(Module.tag_rows)).order_by(Module.title)
    if include_unpublished and is_editor(actor):
        return list(db.session.scalars(query))
    assigned = select(Assignment.module_id).where(Assignment.user_id == actor.id)
    role = actor.role.value
    query = query.where(
        or_(
            Module.id.in_(assigned),
            (Module.status == ModuleStatus.PUBLISHED) & Module.audience_csv.contains(role),
        )
    )
    # Archived modules stay open to learners they were assigned to; drafts never show.
    return [m for m in db.session.scalars(query) if m.status != ModuleStatus.DRAFT]


def get_module(module_id: int, *, actor) -> Module:
    """A module the actor may open: published, assigned to them, or any module for editors."""
    module = db.session.get(Module, module_id)
    if module is None:
        raise NotFound("No such module.")
    if module.status != ModuleStatus.PUBLISHED and not is_editor(actor):
        assigned = db.session.scalar(
            select(Assignment.id).where(Assignment.user_id == actor.id, Assignment.module_id == module_id)
        )
        if assigned is None or module.status == ModuleStatus.DRAFT:
            raise NotFound("No such module.")
    return module


def _editable_module(module_id: int, actor) -> Module:
    """The module an editor is about to change (editors only; NotFound when it does not exist)."""
    require_editor(actor)
    module = db.session.get(Module, module_id)
    if module is None:
        raise NotFound("No such module.")
    return module


def get_module_by_slug(slug: str) -> Module | None:
    """The module with this slug, or None (for imports and links)."""
    return db.session.scalar(select(Module).where(Module.slug == slug))


def modules_tagged(tags: list[str]) -> list[Module]:
    """Published modules whose tags include any of the given ones (hiring traits), by title."""
    wanted = {t.strip().lower() for t in tags if t and t.strip()}
    if not wanted:
        return []
    return list(
        db.session.scalars(
            select(Module)
            .where(
                Module.status == ModuleStatus.PUBLISHED,
                Module.id.in_(select(ModuleTag.module_id).where(ModuleTag.tag.in_(wanted))),
            )
            .order_by(Module.title)
        )
    )


def _audience(roles: Iterable[str]) -> str:
    chosen = []
    for role in roles:
        try:
            chosen.append(Role(role).value)
        except ValueError:
            raise Invalid(f"Unknown role {role!r} in the audience.", field="audience") from None
    if not chosen:
        raise Invalid("Choose at least one role the module is meant for.", field="audience")
    return ",".join(dict.fromkeys(chosen))


def _tags(tags: Iterable[str]) -> list[str]:
    cleaned = []
    for tag in tags:
        tag = tag.strip().lower()
        if not tag:
            continue
        if not TAG_RE.match(tag):
            raise Invalid(
                f"Tag {tag[:60]!r} may hold only letters, digits, spaces, '-' and '_' (at most 50).",
                field="tags",
            )
        cleaned.append(tag)
    return sorted(set(cleaned))  # the order the module's tags are read back in (tag_rows is ordered by tag)


def _apply_module_fields(module: Module, fields: dict) -> None:
    module.title = text(fields.get("title"), "title", "Title", 200)
    module.summary = text(fields.get("summary"), "summary", "Summary", 600, required=False)
    module.intro = text(fields.get("intro"), "intro", "Introduction", MAX_MARKDOWN, required=False)
    module.audience_csv = _audience(fields.get("audience") or [])
    module.minutes = whole(fields.get("minutes", 30), "minutes", "Estimated minutes", 1, 6000)
    months = fields.get("recertify_months")
    module.recertify_months = (
        whole(months, "recertify_months", "Re-certify every (months)", 1, 120)
        if months not in (None, "", 0)
        else None
    )
    module.pass_mark = whole(fields.get("pass_mark", 80), "pass_mark", "Pass mark", 1, 100)
    module.max_attempts = whole(fields.get("max_attempts", 0), "max_attempts", "Attempts allowed", 0, 100)
    module.tag_rows = [ModuleTag(tag=tag) for tag in _tags(fields.get("tags") or [])]


def _module_slug_taken(slug: str) -> bool:
    return db.session.scalar(select(Module.id).where(Module.slug == slug)) is not None


def create_module(*, actor, slug: str | None = None, **fields) -> Module:
    """Create a draft module; the slug comes from the title and is unique."""
    require_editor(actor)
    module = Module(status=ModuleStatus.DRAFT)
    _apply_module_fields(module, fields)
    module.slug = free_slug(slugify(slug or module.title), _module_slug_taken, "module", module.title)
    db.session.add(module)
    db.session.flush()
    return module


def update_module(module_id: int, *, actor, **fields) -> Module:
    """Change a module's details; nothing is saved when any field is invalid."""
    module = _editable_module(module_id, actor)
    _apply_module_fields(module, fields)
    db.session.flush()
    return module


def set_module_status(module_id: int, status: str, *, actor) -> Module:
    """Publish, archive or return a module to draft; a module needs a lesson before it is published."""
    require_editor(actor)
    try:
        status = ModuleStatus(status)
    except ValueError:
        raise Invalid(f"Unknown status {status!r}.", field="status") from None
    module = _editable_module(module_id, actor)
    if status == ModuleStatus.PUBLISHED and not module.lessons:
        raise Invalid("Add at least one lesson before publishing.", field="status")
    module.status = status
    db.session.flush()
    return module


def _articles_by_slug(slugs: Iterable[str]) -> list[Article]:
    wanted = [s.strip() for s in slugs if s and s.strip()]
    wanted = list(dict.fromkeys(wanted))
    found = {a.slug: a for a in db.session.scalars(select(Article).where(Article.slug.in_(wanted)))}
    missing = [s for s in wanted if s not in found]
    if missing:
        raise Invalid(f"No handbook article with the slug {', '.join(missing)}.", field="articles")
    return [found[s] for s in wanted]


def _apply_lesson_fields(lesson: Lesson, title, body, acknowledge, article_slugs) -> None:
    lesson.title = text(title, "title", "Title", 200)
    lesson.body = text(body, "body", "Lesson text", MAX_MARKDOWN, required=False)
    articles = _articles_by_slug(article_slugs or [])
    if not lesson.body and not articles:
        raise Invalid("A lesson needs its own text, a linked handbook article, or both.", field="body")
    lesson.acknowledge = bool(acknowledge)
    if acknowledge and not articles and not lesson.body:
        raise Invalid("Required reading needs something to read.", field="acknowledge")
    lesson.article_links = [LessonArticle(article_id=a.id, position=i) for i, a in enumerate(articles)]


def get_lesson(lesson_id: int) -> Lesson:
    """The lesson with this id; NotFound when there is none."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("No such lesson.")
    return lesson


def add_lesson(
    module_id: int,
    *,
    title: str,
    body: str = "",
    acknowledge: bool = False,
    article_slugs: Iterable[str] = (),
    actor,
) -> Lesson:
    """Append a lesson at the end of the module."""
    module = _editable_module(module_id, actor)
    lesson = Lesson(position=len(module.lessons))
    _apply_lesson_fields(lesson, title, body, acknowledge, article_slugs)
    module.lessons.append(lesson)  # the module loaded in this unit of work sees its new lesson
    db.session.flush()
    return lesson


def update_lesson(
    lesson_id: int,
    *,
    title: str,
    body: str = "",
    acknowledge: bool = False,
    article_slugs: Iterable[str] = (),
    actor,
) -> Lesson:
    """An editor changes a lesson's title, text, linked articles or required-reading flag."""
    require_editor(actor)
    lesson = get_lesson(lesson_id)
    _apply_lesson_fields(lesson, title, body, acknowledge, article_slugs)
    db.session.flush()
    return lesson


def _remove_and_renumber(items: list, item) -> None:
    """Take one item out of an ordered collection and close the gap in the positions."""
    items.remove(item)
    for position, other in enumerate(items):
        other.position = position


def delete_lesson(lesson_id: int, *, actor) -> int:
    """Remove a lesson (and learners' completions of it); returns its module id."""
    require_editor(actor)
    lesson = get_lesson(lesson_id)
    module = lesson.module
    _remove_and_renumber(module.lessons, lesson)
    db.session.flush()
    return module.id


def reorder_lessons(module_id: int, lesson_ids: list[int], *, actor) -> Module:
    """Put the module's lessons in the given order; the list must name each lesson exactly once."""
    module = _editable_module(module_id, actor)
    by_id = {lesson.id: lesson for lesson in module.lessons}
    if sorted(lesson_ids) != sorted(by_id):
        raise Invalid("The new order must list each lesson of this module exactly once.", field="order")
    for position, lesson_id in enumerate(lesson_ids):
        by_id[lesson_id].position = position
    db.session.flush()
    db.session.expire(module, ["lessons"])
    return module


def move_lesson(lesson_id: int, offset: int, *, actor) -> Module:
    """Move a lesson up (-1) or down (+1) by one place."""
    lesson = get_lesson(lesson_id)
    order = [other.id for other in lesson.module.lessons]
    index = order.index(lesson.id)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    return reorder_lessons(lesson.module_id, order, actor=actor)


def _apply_question_fields(question: Question, text_value, kind, explanation, choices) -> None:
    question.text = text(text_value, "text", "Question", 2000)
    try:
        question.kind = QuestionKind(kind)
    except ValueError:
        raise Invalid("Choose single or multiple choice.", field="kind") from None
    question.explanation = text(explanation, "explanation", "Explanation", 5000, required=False)
    cleaned = [(text(label, "choices", "Each choice", 500), bool(correct)) for label, correct in choices]
    if len(cleaned) < 2:
        raise Invalid("A question needs at least two choices.", field="choices")
    right = sum(correct for _, correct in cleaned)
    if question.kind == QuestionKind.SINGLE and right != 1:
        raise Invalid("A single-choice question needs exactly one correct choice.", field="choices")
    if question.kind == QuestionKind.MULTIPLE and right < 1:
        raise Invalid("Mark at least one choice as correct.", field="choices")
    question.choices = [
        Choice(text=label, correct=correct, position=i) for i, (label, correct) in enumerate(cleaned)
    ]


def add_question(
    module_id: int,
    *,
    text: str,
    kind: str = "single",
    explanation: str = "",
    choices: list[tuple[str, bool]],
    actor,
) -> Question:
    """Append a quiz question; choices are (text, correct) pairs."""
    module = _editable_module(module_id, actor)
    question = Question(position=len(module.questions))
    _apply_question_fields(question, text, kind, explanation, choices)
    module.questions.append(question)  # the module loaded in this unit of work sees its new question
    db.session.flush()
    return question


def update_question(
    question_id: int, *, text: str, kind: str, explanation: str = "", choices: list[tuple[str, bool]], actor
) -> Question:
    """Replace a question's text and choices (earlier attempts keep their stored score)."""
    require_editor(actor)
    question = db.session.get(Question, question_id)
    if question is None:
        raise NotFound("No such question.")
    _apply_question_fields(question, text, kind, explanation, choices)
    db.session.flush()
    return question


def get_question(question_id: int) -> Question:
    """The quiz question with this id; NotFound when there is none."""
    question = db.session.get(Question, question_id)
    if question is None:
        raise NotFound("No such question.")
    return question


def delete_question(question_id: int, *, actor) -> int:
    """An editor removes a quiz question and closes the gap; returns its module id."""
    require_editor(actor)
    question = get_question(question_id)
    module = question.module
    _remove_and_renumber(module.questions, question)
    db.session.flush()
    return module.id
