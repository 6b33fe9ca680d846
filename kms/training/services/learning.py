"""Learning: lesson completion and acknowledgement, quizzes, module completion, "updated since you learned it"."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from kms.articles.models import Article, Revision
from kms.auth.models import User
from kms.errors import Conflict, Forbidden, Invalid, NotFound
from kms.extensions import db, utcnow
from kms.training.models import (
    AttemptAnswer,
    Lesson,
    LessonCompletion,
    Module,
    ModuleCompletion,
    Question,
    QuestionKind,
    QuizAttempt,
    StudiedRevision,
)
from kms.training.services._common import add_months, can_see_learner, learner, lock_users, module_percent
from kms.training.services.catalog import get_lesson, get_module


@dataclass
class ModuleProgress:
    """Where one learner stands in one module right now (expired completions count as not complete)."""

    module: Module
    done_lesson_ids: set[int]
    quiz_required: bool
    quiz_passed: bool
    completion: ModuleCompletion | None
    complete: bool
    expired: bool
    attempts_used: int
    last_attempt: QuizAttempt | None = None

    @property
    def lessons_total(self) -> int:
        return len(self.module.lessons)

    @property
    def lessons_done(self) -> int:
        return sum(1 for lesson in self.module.lessons if lesson.id in self.done_lesson_ids)

    @property
    def percent(self) -> int:
        return module_percent(self)

    @property
    def next_lesson(self) -> Lesson | None:
        return next((lesson for lesson in self.module.lessons if lesson.id not in self.done_lesson_ids), None)

    @property
    def attempts_left(self) -> int | None:
        if not self.module.max_attempts:
            return None
        return max(0, self.module.max_attempts - self.attempts_used)


def _progress(module: Module, user_id: int, now: datetime) -> ModuleProgress:
    completion = db.session.scalar(
        select(ModuleCompletion).where(
            ModuleCompletion.user_id == user_id, ModuleCompletion.module_id == module.id
        )
    )
    expired = completion is not None and not completion.valid_at(now)
    # After a completion expires, only work done since then counts toward re-certification.
    since = completion.expires_at if expired else None
    done = {
        lesson_id
        for lesson_id, at in db.session.execute(
            select(LessonCompletion.lesson_id, LessonCompletion.completed_at)
            .join(Lesson)
            .where(LessonCompletion.user_id == user_id, Lesson.module_id == module.id)
        )
        if since is None or at >= since
    }
    attempts = select(QuizAttempt).where(QuizAttempt.user_id == user_id, QuizAttempt.module_id == module.id)
    if since is not None:
        attempts = attempts.where(QuizAttempt.submitted_at >= since)
    attempts = list(db.session.scalars(attempts.order_by(QuizAttempt.submitted_at, QuizAttempt.id)))
    quiz_required = bool(module.questions)
    return ModuleProgress(
        module=module,
        done_lesson_ids=done,
        quiz_required=quiz_required,
        quiz_passed=any(a.passed for a in attempts),
        completion=completion,
        complete=completion is not None and not expired,
        expired=expired,
        attempts_used=len(attempts),
        last_attempt=attempts[-1] if attempts else None,
    )


def module_progress(
    module_id: int, *, actor, user_id: int | None = None, now: datetime | None = None
) -> ModuleProgress:
    """A learner's progress in a module; learners see their own, leads their team's."""
    user = learner(user_id if user_id is not None else actor.id, actor)
    return _progress(get_module(module_id, actor=actor), user.id, now or utcnow())


def _refresh_completion(module: Module, user_id: int, now: datetime) -> bool:
    """Record (or renew) the module completion once every lesson is done and the quiz passed."""
    state = _progress(module, user_id, now)
    if state.complete:
        return True
    finished = state.lessons_done == state.lessons_total and (state.quiz_passed or not state.quiz_required)
    if not finished or (state.lessons_total == 0 and not state.quiz_required):
        return False
    completion = state.completion or ModuleCompletion(user_id=user_id, module_id=module.id)
    completion.completed_at = now
    completion.expires_at = add_months(now, module.recertify_months) if module.recertify_months else None
    db.session.add(completion)
    return True


@dataclass
class LessonDone:
    completion: LessonCompletion
    module_complete: bool


def complete_lesson(
    lesson_id: int,
    *,
    actor,
    acknowledge: bool = False,
    seen_revisions: dict[int, int] | None = None,
    now: datetime | None = None,
) -> LessonDone:
    """Mark a lesson done for the actor, recording the published revision of each linked article.

    Required-reading lessons need `acknowledge`. When `seen_revisions` (article id -> revision id shown
    to the learner) no longer matches what is published, nothing is saved (Conflict). Doing a lesson
    twice keeps one row; the module completion is recorded in the same transaction.
    """
    now = now or utcnow()
    lock_users(actor.id)
    lesson = get_lesson(lesson_id)
    module = get_module(lesson.module_id, actor=actor)
    if lesson.acknowledge and not acknowledge:
        raise Invalid(
            "This lesson is required reading: confirm that you have read and understood it.",
            field="acknowledge",
        )
    current = {
        link.article_id: (link.article, link.article.published_revision) for link in lesson.article_links
    }
    if seen_revisions is not None:
        for article_id, (article, revision) in current.items():
            if revision is not None and seen_revisions.get(article_id) != revision.id:
                raise Conflict(
                    f"“{article.title}” changed while you were reading it. Read the new "
                    "version, then confirm again."
                )
    completion = db.session.scalar(
        select(LessonCompletion).where(
            LessonCompletion.user_id == actor.id, LessonCompletion.lesson_id == lesson.id
        )
    )
    if completion is None:
        completion = LessonCompletion(user_id=actor.id, lesson_id=lesson.id)
        db.session.add(completion)
    completion.completed_at = now
    if lesson.acknowledge:
        completion.acknowledged_at = now
    _record_studied(completion, current)
    db.session.flush()
    finished = _refresh_completion(module, actor.id, now)
    db.session.flush()
    return LessonDone(completion=completion, module_complete=finished)


def _record_studied(completion: LessonCompletion, current: dict) -> None:
    existing = {row.article_id: row for row in completion.studied}
    for article_id, (_, revision) in current.items():
        row = existing.pop(article_id, None)
        if row is None:
            row = StudiedRevision(article_id=article_id)
            completion.studied.append(row)
        row.revision_id = revision.id if revision is not None else None
        row.revision_number = revision.number if revision is not None else 0
    for stale in existing.values():
        completion.studied.remove(stale)


@dataclass
class ReviewFlag:
    lesson_id: int
    lesson_title: str
    module_id: int
    article_id: int
    article_title: str
    studied_number: int
    current_number: int


def review_flags(user_id: int) -> list[ReviewFlag]:
    """Lessons whose linked article got a newer published revision than the one the learner studied (1 query)."""
    published = aliased(Revision)
    rows = db.session.execute(
        select(
            Lesson.id,
            Lesson.title,
            Lesson.module_id,
            Article.id,
            Article.title,
            StudiedRevision.revision_number,
            published.number,
        )
        .select_from(LessonCompletion)
        .join(StudiedRevision, StudiedRevision.completion_id == LessonCompletion.id)
        .join(Lesson, Lesson.id == LessonCompletion.lesson_id)
        .join(Article, Article.id == StudiedRevision.article_id)
        .join(published, published.id == Article.published_revision_id)
        .where(LessonCompletion.user_id == user_id, published.number > StudiedRevision.revision_number)
        .order_by(Lesson.module_id, Lesson.position, Article.title)
    )
    return [ReviewFlag(*row) for row in rows]


@dataclass
class ArticleDiff:
    article: Article
    studied: Revision | None
    current: Revision
    lines: list[tuple[str, str]] = field(default_factory=list)  # (kind: add|del|hunk|same, text)


def lesson_changes(lesson_id: int, *, actor) -> list[ArticleDiff]:
    """For each linked article that changed since the actor studied the lesson: the diff, studied -> current."""
    completion = db.session.scalar(
        select(LessonCompletion).where(
            LessonCompletion.user_id == actor.id, LessonCompletion.lesson_id == lesson_id
        )
    )
    if completion is None:
        raise NotFound("You have not completed this lesson yet.")
    diffs = []
    for row in completion.studied:
        article = db.session.get(Article, row.article_id)
        current = article.published_revision if article else None
        if current is None or current.number <= row.revision_number:
            continue
        studied = db.session.get(Revision, row.revision_id) if row.revision_id else None
        before = studied.body if studied else ""
        lines = []
        for line in list(
            difflib.unified_diff(before.splitlines(), current.body.splitlines(), lineterm="", n=2)
        )[2:]:
            kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "same")
            lines.append((kind, line[1:] if kind != "hunk" else "…"))
        if studied is not None and studied.title != current.title:
            lines.insert(0, ("add", f"Title: {current.title}"))
            lines.insert(0, ("del", f"Title: {studied.title}"))
        diffs.append(ArticleDiff(article=article, studied=studied, current=current, lines=lines))
    return diffs


def review_lesson(lesson_id: int, *, actor, now: datetime | None = None) -> LessonCompletion:
    """The learner reviewed the changes: their studied revisions become the current ones (clears the flag)."""
    lock_users(actor.id)
    lesson = get_lesson(lesson_id)
    completion = db.session.scalar(
        select(LessonCompletion).where(
            LessonCompletion.user_id == actor.id, LessonCompletion.lesson_id == lesson.id
        )
    )
    if completion is None:
        raise NotFound("You have not completed this lesson yet.")
    _record_studied(
        completion,
        {link.article_id: (link.article, link.article.published_revision) for link in lesson.article_links},
    )
    completion.reviewed_at = now or utcnow()
    db.session.flush()
    return completion


# Quizzes -------------------------------------------------------------------------------------------------


@dataclass
class QuizChoiceView:
    id: int
    text: str


@dataclass
class QuizQuestionView:
    """What the quiz page may show: never whether a choice is correct."""

    id: int
    text: str
    multiple: bool
    choices: list[QuizChoiceView]


def quiz_questions(module_id: int, *, actor) -> list[QuizQuestionView]:
    """A module's quiz as the learner sees it: questions and choices, never which are right."""
    module = get_module(module_id, actor=actor)
    return [
        QuizQuestionView(
            id=q.id,
            text=q.text,
            multiple=q.kind == QuestionKind.MULTIPLE,
            choices=[QuizChoiceView(id=c.id, text=c.text) for c in q.choices],
        )
        for q in module.questions
    ]


def grade(questions: list[Question], answers: dict[int, set[int]]) -> int:
    """Number of questions answered exactly right (all correct choices and nothing else)."""
    return sum(1 for q in questions if answers.get(q.id, set()) == {c.id for c in q.choices if c.correct})


def submit_quiz(
    module_id: int, answers: dict[int, list[int]], *, actor, now: datetime | None = None
) -> QuizAttempt:
    """Grade a knowledge check on the server and store the attempt with every answer and its score.

    Question ids must belong to the module and choice ids to their question (Invalid otherwise, nothing
    saved); unanswered questions count as wrong. Refused (Forbidden) once the attempt limit is used up.
    """
    now = now or utcnow()
    lock_users(actor.id)
    module = get_module(module_id, actor=actor)
    questions = {q.id: q for q in module.questions}
    if not questions:
        raise NotFound("This module has no quiz.")
    picked: dict[int, set[int]] = {}
    for question_id, choice_ids in answers.items():
        question = questions.get(question_id)
        if question is None:
            raise Invalid("The answers name a question that is not part of this quiz.", field="answers")
        allowed = {c.id for c in question.choices}
        chosen = set(choice_ids)
        if not chosen <= allowed:
            raise Invalid("The answers name a choice that does not belong to its question.", field="answers")
        if question.kind == QuestionKind.SINGLE and len(chosen) > 1:
            raise Invalid(f"Question {question.position + 1} takes one answer only.", field="answers")
        if chosen:
            picked[question_id] = chosen
    state = _progress(module, actor.id, now)
    if state.attempts_left == 0:
        raise Forbidden(
            f"You have used all {module.max_attempts} attempts for this quiz. Ask your manager "
            "if you need another try."
        )
    correct = grade(list(questions.values()), picked)
    score = correct * 100 // len(questions)
    attempt = QuizAttempt(
        module_id=module.id,
        user_id=actor.id,
        submitted_at=now,
        correct=correct,
        total=len(questions),
        score=score,
        passed=score >= module.pass_mark,
        answers=[
            AttemptAnswer(question_id=q, choice_id=c) for q, chosen in picked.items() for c in sorted(chosen)
        ],
    )
    db.session.add(attempt)
    db.session.flush()
    if attempt.passed:
        _refresh_completion(module, actor.id, now)
    db.session.flush()
    return attempt


@dataclass
class AnsweredQuestion:
    question: Question
    chosen: set[int]
    right: bool


@dataclass
class AttemptResult:
    attempt: QuizAttempt
    module: Module
    questions: list[AnsweredQuestion]
    reveal: bool  # show the correct choices: passed, or no attempts left
    progress: ModuleProgress


def attempt_result(attempt_id: int, *, actor, now: datetime | None = None) -> AttemptResult:
    """A stored attempt with explanations; visible to the learner and the leads who see their training."""
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None:
        raise NotFound("No such attempt.")
    owner = db.session.get(User, attempt.user_id)
    if owner is None or not can_see_learner(actor, owner):
        raise NotFound("No such attempt.")
    module = db.session.get(Module, attempt.module_id)
    chosen: dict[int, set[int]] = {}
    for answer in attempt.answers:
        chosen.setdefault(answer.question_id, set()).add(answer.choice_id)
    answered = [
        AnsweredQuestion(
            question=q,
            chosen=chosen.get(q.id, set()),
            right=chosen.get(q.id, set()) == {c.id for c in q.choices if c.correct},
        )
        for q in module.questions
    ]
    progress = _progress(module, owner.id, now or utcnow())
    return AttemptResult(
        attempt=attempt,
        module=module,
        questions=answered,
        progress=progress,
        reveal=attempt.passed or progress.attempts_left == 0 or actor.id != owner.id,
    )


def attempts_for(module_id: int, user_id: int) -> list[QuizAttempt]:
    """One learner's attempts at a module's quiz, newest first."""
    return list(
        db.session.scalars(
            select(QuizAttempt)
            .where(QuizAttempt.module_id == module_id, QuizAttempt.user_id == user_id)
            .order_by(QuizAttempt.submitted_at.desc(), QuizAttempt.id.desc())
        )
    )


def attempt_count(module_id: int) -> int:
    """How many quiz attempts a module has had (editors are warned before changing its quiz)."""
    return (
        db.session.scalar(select(func.count(QuizAttempt.id)).where(QuizAttempt.module_id == module_id)) or 0
    )
