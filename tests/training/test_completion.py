"""Completion rules: lessons, required reading, the quiz, and re-certification."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from kms.errors import Conflict, Invalid
from kms.extensions import db
from kms.training import services
from kms.training.models import LessonCompletion, ModuleCompletion
from tests.training.conftest import right_answers, wrong_answers


def _do_lessons(module, learner, **kwargs):
    for lesson in module.lessons:
        services.complete_lesson(lesson.id, actor=learner, acknowledge=lesson.acknowledge, **kwargs)


def test_module_completes_when_all_lessons_are_done_and_the_quiz_is_passed(make_module, make_user):
    learner, module = make_user(), make_module()
    _do_lessons(module, learner)
    assert not services.module_progress(module.id, actor=learner).complete
    services.submit_quiz(module.id, right_answers(module), actor=learner)
    progress = services.module_progress(module.id, actor=learner)
    assert progress.complete and progress.percent == 100


def test_a_failed_quiz_does_not_complete_the_module(make_module, make_user):
    learner, module = make_user(), make_module()
    _do_lessons(module, learner)
    attempt = services.submit_quiz(module.id, wrong_answers(module), actor=learner)
    progress = services.module_progress(module.id, actor=learner)
    assert not attempt.passed and not progress.complete and progress.percent < 100


def test_passing_the_quiz_before_the_lessons_completes_the_module_with_the_last_lesson(
    make_module, make_user
):
    learner, module = make_user(), make_module()
    services.submit_quiz(module.id, right_answers(module), actor=learner)
    assert not services.module_progress(module.id, actor=learner).complete
    done = None
    for lesson in module.lessons:
        done = services.complete_lesson(lesson.id, actor=learner)
    assert done.module_complete


def test_a_module_without_quiz_completes_with_its_lessons(make_module, make_user):
    learner, module = make_user(), make_module(quiz=False, lessons=3)
    _do_lessons(module, learner)
    assert services.module_progress(module.id, actor=learner).complete


def test_doing_a_lesson_twice_keeps_one_completion_and_one_module_completion(make_module, make_user):
    learner, module = make_user(), make_module(quiz=False, lessons=1)
    for _ in range(3):
        services.complete_lesson(module.lessons[0].id, actor=learner)
    assert db.session.scalar(select(func.count(LessonCompletion.id))) == 1
    assert db.session.scalar(select(func.count(ModuleCompletion.id))) == 1


def test_required_reading_needs_the_acknowledgement(make_module, make_user, make_article):
    learner = make_user()
    module = make_module(quiz=False, lessons=1, articles=[make_article()], acknowledge=True)
    with pytest.raises(Invalid) as error:
        services.complete_lesson(module.lessons[0].id, actor=learner)
    assert error.value.field == "acknowledge"
    assert not services.module_progress(module.id, actor=learner).done_lesson_ids


def test_acknowledgement_records_the_revision_read(make_module, make_user, make_article):
    learner, article = make_user(), make_article()
    module = make_module(quiz=False, lessons=1, articles=[article], acknowledge=True)
    done = services.complete_lesson(
        module.lessons[0].id,
        actor=learner,
        acknowledge=True,
        seen_revisions={article.id: article.published_revision_id},
    )
    assert done.completion.acknowledged_at is not None
    assert [(s.article_id, s.revision_number) for s in done.completion.studied] == [(article.id, 1)]


def test_acknowledging_an_article_that_changed_while_reading_saves_nothing(
    make_module, make_user, make_article, publish_revision
):
    learner, article = make_user(), make_article()
    module = make_module(quiz=False, lessons=1, articles=[article], acknowledge=True)
    seen = {article.id: article.published_revision_id}
    publish_revision(article, "A new step.")
    with pytest.raises(Conflict):
        services.complete_lesson(module.lessons[0].id, actor=learner, acknowledge=True, seen_revisions=seen)
    assert db.session.scalar(select(func.count(LessonCompletion.id))) == 0


def test_recertification_expires_the_completion_and_old_work_does_not_renew_it(make_module, make_user):
    learner, module = make_user(), make_module(recertify_months=6)
    start = datetime(2026, 1, 31, 10, tzinfo=UTC)
    _do_lessons(module, learner, now=start)
    services.submit_quiz(module.id, right_answers(module), actor=learner, now=start)
    completion = db.session.scalar(select(ModuleCompletion))
    assert completion.expires_at == datetime(2026, 7, 31, 10, tzinfo=UTC)
    assert services.module_progress(module.id, actor=learner, now=datetime(2026, 7, 1, tzinfo=UTC)).complete
    later = datetime(2026, 8, 2, tzinfo=UTC)
    expired = services.module_progress(module.id, actor=learner, now=later)
    assert not expired.complete and expired.expired and expired.lessons_done == 0 and not expired.quiz_passed


def test_recertifying_after_expiry_renews_the_completion(make_module, make_user):
    learner, module = make_user(), make_module(recertify_months=12)
    first, later = datetime(2025, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    _do_lessons(module, learner, now=first)
    services.submit_quiz(module.id, right_answers(module), actor=learner, now=first)
    _do_lessons(module, learner, now=later)
    services.submit_quiz(module.id, right_answers(module), actor=learner, now=later)
    progress = services.module_progress(module.id, actor=learner, now=later)
    assert progress.complete and progress.completion.expires_at == datetime(2027, 4, 1, tzinfo=UTC)
