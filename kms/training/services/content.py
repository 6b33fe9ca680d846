"""content/training/ <-> database: modules (Markdown + front matter) and onboarding paths (YAML).

Runs inside kms.content's single import transaction: it never commits, and the first bad file raises a
ContentError naming the file and field, so nothing is written.
"""

from __future__ import annotations

from pathlib import Path as FilePath

from sqlalchemy import select

from kms.errors import Invalid
from kms.extensions import db
from kms.frontmatter import (
    ContentError,
    ImportReport,
    file_name,
    load_yaml,
    read_front_matter,
    require,
    write_front_matter,
    write_yaml,
)
from kms.training.models import Lesson, Module, ModuleStatus, Path, PathModule, Question
from kms.training.services.catalog import _apply_lesson_fields, _apply_module_fields, _apply_question_fields


def _module_data(module: Module) -> tuple[dict, str]:
    """The front matter and body export writes (and import compares against, to report 'unchanged')."""
    meta = {
        "title": module.title,
        "slug": module.slug,
        "summary": module.summary,
        "audience": module.audience,
        "minutes": module.minutes,
        "status": module.status.value,
    }
    if module.recertify_months:
        meta["recertify_months"] = module.recertify_months
    if module.tags:
        meta["tags"] = module.tags
    meta["lessons"] = [
        {
            "title": lesson.title,
            "articles": [link.article.slug for link in lesson.article_links],
            "acknowledge": lesson.acknowledge,
            "body": lesson.body.rstrip() + "\n" if lesson.body else "",
        }
        for lesson in module.lessons
    ]
    if module.questions:
        meta["quiz"] = {
            "pass_mark": module.pass_mark,
            "max_attempts": module.max_attempts,
            "questions": [
                {
                    "text": q.text,
                    "kind": q.kind.value,
                    "explanation": q.explanation,
                    "choices": [{"text": c.text, "correct": c.correct} for c in q.choices],
                }
                for q in module.questions
            ],
        }
    return meta, module.intro


def _normalised(meta: dict, body: str) -> tuple[dict, str]:
    meta = dict(meta)
    meta.setdefault("summary", "")
    meta["lessons"] = [
        {
            "title": lesson.get("title"),
            "articles": list(lesson.get("articles") or []),
            "acknowledge": bool(lesson.get("acknowledge", False)),
            "body": (lesson.get("body") or "").rstrip() + "\n" if lesson.get("body") else "",
        }
        for lesson in meta.get("lessons") or []
    ]
    if meta.get("quiz"):
        quiz = meta["quiz"]
        meta["quiz"] = {
            "pass_mark": quiz.get("pass_mark", 80),
            "max_attempts": quiz.get("max_attempts", 0),
            "questions": [
                {
                    "text": q.get("text"),
                    "kind": q.get("kind", "single"),
                    "explanation": q.get("explanation", "") or "",
                    "choices": [
                        {"text": str(c.get("text")), "correct": bool(c.get("correct"))}
                        for c in q.get("choices") or []
                    ],
                }
                for q in quiz.get("questions") or []
            ],
        }
    else:
        meta.pop("quiz", None)
    if not meta.get("tags"):
        meta.pop("tags", None)
    if not meta.get("recertify_months"):
        meta.pop("recertify_months", None)
    return meta, body.strip()


def _same(meta: dict, body: str, module: Module) -> bool:
    try:
        return _normalised(meta, body) == _normalised(*_module_data(module))
    except (AttributeError, TypeError):  # malformed lessons or quiz: validated (and reported) below
        return False


def _import_module(path: FilePath, report: ImportReport) -> Module:
    meta, body = read_front_matter(path)
    slug = require(meta, "slug", path)
    require(meta, "title", path)
    lessons = require(meta, "lessons", path, list)
    for name, kind in (("audience", list), ("tags", list), ("minutes", int)):
        if meta.get(name) is not None and not isinstance(meta[name], kind):
            raise ContentError(path, f"must be {kind.__name__}", field=name)
    try:
        status = ModuleStatus(meta.get("status", "draft"))
    except ValueError:
        raise ContentError(path, "must be draft, published or archived", field="status") from None
    quiz = meta.get("quiz") or {}
    if not isinstance(quiz, dict):
        raise ContentError(path, "must be a mapping with pass_mark, max_attempts and questions", field="quiz")
    module = db.session.scalar(select(Module).where(Module.slug == slug))
    if module is not None and _same(meta, body, module):
        report.add("training modules", "unchanged")
        return module
    outcome = "updated" if module else "created"
    module = module or Module(slug=slug)
    where = "module"
    try:
        _apply_module_fields(
            module,
            {
                "title": meta.get("title"),
                "summary": meta.get("summary"),
                "intro": body.strip(),
                "audience": meta.get("audience") or ["member"],
                "minutes": meta.get("minutes", 30),
                "recertify_months": meta.get("recertify_months"),
                "pass_mark": quiz.get("pass_mark", 80),
                "max_attempts": quiz.get("max_attempts", 0),
                "tags": meta.get("tags") or [],
            },
        )
        module.status = status
        db.session.add(module)
        db.session.flush()
        # Update lessons and questions in place, by position, so learners' completions survive a re-import.
        for index, data in enumerate(lessons):
            where = f"lessons[{index}]"
            if not isinstance(data, dict):
                raise Invalid("must be a mapping with title, articles, acknowledge and body", field="lessons")
            lesson = module.lessons[index] if index < len(module.lessons) else None
            if lesson is None:
                lesson = Lesson(module_id=module.id)
                module.lessons.append(lesson)
            lesson.position = index
            _apply_lesson_fields(
                lesson,
                data.get("title"),
                data.get("body") or "",
                data.get("acknowledge", False),
                [str(s) for s in data.get("articles") or []],
            )
        del module.lessons[len(lessons) :]
        questions = quiz.get("questions") or []
        for index, data in enumerate(questions):
            where = f"quiz.questions[{index}]"
            if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
                raise Invalid(
                    "must be a mapping with text, kind, explanation and a list of choices", field="choices"
                )
            question = module.questions[index] if index < len(module.questions) else None
            if question is None:
                question = Question(module_id=module.id)
                module.questions.append(question)
            question.position = index
            _apply_question_fields(
                question,
                data.get("text"),
                data.get("kind", "single"),
                data.get("explanation"),
                [
                    (str(c.get("text", "")), bool(c.get("correct"))) if isinstance(c, dict) else ("", False)
                    for c in data["choices"]
                ],
            )
        del module.questions[len(questions) :]
        if status == ModuleStatus.PUBLISHED and not lessons:
            raise Invalid("a published module needs at least one lesson", field="lessons")
        db.session.flush()
    except Invalid as error:
        field = error.field if where == "module" else f"{where}.{error.field}"
        raise ContentError(path, error.message, field=field) from None
    report.add("training modules", outcome)
    return module


def _import_path(file: FilePath, report: ImportReport) -> None:
    data = load_yaml(file)
    if not isinstance(data, dict):
        raise ContentError(file, "must be a mapping of field: value", line=1)
    slug, title = require(data, "slug", file), require(data, "title", file)
    steps = require(data, "modules", file, list)
    shadowing = data.get("shadowing") or {}
    if not isinstance(shadowing, dict):
        raise ContentError(
            file, "must be a mapping with days, sessions_per_day and minutes", field="shadowing"
        )
    resolved = []
    for index, step in enumerate(steps):
        if (
            not isinstance(step, dict)
            or not isinstance(step.get("module"), str)
            or not isinstance(step.get("day", 0), int)
            or step.get("day", 0) < 0
        ):
            raise ContentError(
                file, "each step needs a module slug and a day (0 or more)", field=f"modules[{index}]"
            )
        module = db.session.scalar(select(Module).where(Module.slug == step["module"]))
        if module is None:
            raise ContentError(
                file, f"no training module with the slug {step['module']!r}", field=f"modules[{index}]"
            )
        resolved.append((module, step.get("day", 0)))
    if len({m.id for m, _ in resolved}) != len(resolved):
        raise ContentError(file, "a module appears twice", field="modules")
    numbers = {}
    for name, default in (("days", 0), ("sessions_per_day", 0), ("minutes", 90)):
        value = shadowing.get(name, default)
        if not isinstance(value, int) or value < 0:
            raise ContentError(file, "must be a whole number, 0 or more", field=f"shadowing.{name}")
        numbers[name] = value
    path = db.session.scalar(select(Path).where(Path.slug == slug))
    wanted = {
        "title": title,
        "summary": str(data.get("summary") or "").strip(),
        "role": str(data.get("role") or "member"),
        "shadow_days": numbers["days"],
        "shadow_sessions_per_day": numbers["sessions_per_day"],
        "shadow_minutes": numbers["minutes"],
    }
    steps_now = [(s.module_id, s.day_offset) for s in path.steps] if path else None
    if (
        path is not None
        and steps_now == [(m.id, d) for m, d in resolved]
        and all(getattr(path, k) == v for k, v in wanted.items())
    ):
        report.add("training paths", "unchanged")
        return
    outcome = "updated" if path else "created"
    path = path or Path(slug=slug)
    for key, value in wanted.items():
        setattr(path, key, value)
    db.session.add(path)
    db.session.flush()
    existing = {s.module_id: s for s in path.steps}
    path.steps = [existing.get(m.id) or PathModule(module_id=m.id) for m, _ in resolved]
    for position, (step, (_, day)) in enumerate(zip(path.steps, resolved, strict=False)):
        step.position, step.day_offset = position, day
    db.session.flush()
    report.add("training paths", outcome)


def import_content(root: FilePath, report: ImportReport) -> None:
    """Load content/training/modules/*.md, then content/training/paths/*.yml (paths refer to modules)."""
    folder = FilePath(root) / "training"
    for file in sorted((folder / "modules").glob("*.md")):
        _import_module(file, report)
    for file in sorted((folder / "paths").glob("*.yml")):
        _import_path(file, report)


def export_content(root: FilePath) -> int:
    """Write every module and path under root/training/ in the format import reads; returns the file count."""
    folder = FilePath(root) / "training"
    count = 0
    for module in db.session.scalars(select(Module).order_by(Module.slug)):
        meta, body = _module_data(module)
        write_front_matter(folder / "modules" / file_name(module.slug, ".md"), meta, body)
        count += 1
    for path in db.session.scalars(select(Path).order_by(Path.slug)):
        data = {
            "title": path.title,
            "slug": path.slug,
            "role": path.role,
            "summary": path.summary,
            "modules": [{"module": step.module.slug, "day": step.day_offset} for step in path.steps],
        }
        if path.shadow_days:
            data["shadowing"] = {
                "days": path.shadow_days,
                "sessions_per_day": path.shadow_sessions_per_day,
                "minutes": path.shadow_minutes,
            }
        write_yaml(folder / "paths" / file_name(path.slug, ".yml"), data)
        count += 1
    return count
