"""Quiz scoring edge cases: no answer, every answer, retakes, attempt limits, foreign ids."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kms.errors import Forbidden, Invalid
from kms.extensions import db
from kms.training import services
from kms.training.models import AttemptAnswer, QuizAttempt
from tests.training.conftest import right_answers, wrong_answers


def test_submitting_no_answers_scores_zero_and_is_stored(make_module, make_user):
    learner, module = make_user(), make_module()
    attempt = services.submit_quiz(module.id, {}, actor=learner)
    assert (attempt.score, attempt.correct, attempt.total, attempt.passed) == (0, 0, 2, False)
    assert db.session.scalar(select(func.count(QuizAttempt.id))) == 1
    assert db.session.scalar(select(func.count()).select_from(AttemptAnswer)) == 0


def test_ticking_every_choice_of_a_multiple_choice_question_is_wrong(make_module, make_user):
    learner, module = make_user(), make_module()
    single, multiple = module.questions
    answers = {
        single.id: [c.id for c in single.choices if c.correct],
        multiple.id: [c.id for c in multiple.choices],
    }
    attempt = services.submit_quiz(module.id, answers, actor=learner)
    assert attempt.correct == 1 and attempt.score == 50


def test_every_answer_right_scores_full_marks_and_stores_each_choice(make_module, make_user):
    learner, module = make_user(), make_module()
    attempt = services.submit_quiz(module.id, right_answers(module), actor=learner)
    assert (attempt.score, attempt.passed) == (100, True)
    assert db.session.scalar(select(func.count()).select_from(AttemptAnswer)) == 3


def test_two_answers_to_a_single_choice_question_are_refused(make_module, make_user):
    learner, module = make_user(), make_module()
    single = module.questions[0]
    with pytest.raises(Invalid):
        services.submit_quiz(module.id, {single.id: [c.id for c in single.choices[:2]]}, actor=learner)
    assert db.session.scalar(select(func.count(QuizAttempt.id))) == 0


def test_retakes_are_each_stored_and_a_later_pass_counts(make_module, make_user):
    learner, module = make_user(), make_module(pass_mark=100)
    first = services.submit_quiz(module.id, wrong_answers(module), actor=learner)
    second = services.submit_quiz(module.id, right_answers(module), actor=learner)
    assert (first.passed, second.passed) == (False, True)
    assert [a.id for a in services.attempts_for(module.id, learner.id)] == [second.id, first.id]
    assert services.module_progress(module.id, actor=learner).quiz_passed


def test_the_attempt_limit_refuses_one_more_try(make_module, make_user):
    learner, module = make_user(), make_module(max_attempts=2)
    services.submit_quiz(module.id, wrong_answers(module), actor=learner)
    services.submit_quiz(module.id, wrong_answers(module), actor=learner)
    with pytest.raises(Forbidden):
        services.submit_quiz(module.id, right_answers(module), actor=learner)
    assert services.module_progress(module.id, actor=learner).attempts_left == 0


def test_a_question_from_another_module_is_refused(make_module, make_user):
    learner, module, other = make_user(), make_module(), make_module(title="Other")
    with pytest.raises(Invalid):
        services.submit_quiz(module.id, right_answers(other), actor=learner)
    assert db.session.scalar(select(func.count(QuizAttempt.id))) == 0


def test_a_choice_from_another_question_is_refused(make_module, make_user):
    learner, module = make_user(), make_module()
    single, multiple = module.questions
    with pytest.raises(Invalid):
        services.submit_quiz(module.id, {single.id: [multiple.choices[0].id]}, actor=learner)


def test_the_quiz_page_has_no_correct_answer_markers(client, login_as, make_module):
    module = make_module()
    login_as()
    html = client.get(f"/training/modules/{module.id}/quiz").get_data(as_text=True)
    assert "Pick the refund window" in html and "30 days" in html
    for marker in ("correct", "data-answer", "Thirty days", "Lead and finance"):
        assert marker not in html.lower().replace("select all", "")


def test_posting_a_foreign_question_id_answers_400_and_saves_nothing(client, login_as, make_module):
    module, other = make_module(), make_module(title="Other")
    login_as()
    foreign = other.questions[0]
    response = client.post(
        f"/training/modules/{module.id}/quiz", data={f"q-{foreign.id}": foreign.choices[0].id}
    )
    assert response.status_code == 400
    garbage = client.post(f"/training/modules/{module.id}/quiz", data={"q-1": "x"})
    assert garbage.status_code == 400
    assert db.session.scalar(select(func.count(QuizAttempt.id))) == 0


def test_submitting_the_quiz_page_shows_the_score_and_explanations(client, login_as, make_module):
    module = make_module()
    login_as()
    single, multiple = module.questions
    data = {
        f"q-{single.id}": next(c.id for c in single.choices if c.correct),
        f"q-{multiple.id}": [c.id for c in multiple.choices if c.correct],
    }
    response = client.post(f"/training/modules/{module.id}/quiz", data=data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "100%" in html and "Passed" in html and "Thirty days." in html


def test_another_learner_cannot_open_my_attempt(client, make_user, login_as, make_module):
    module, mine = make_module(), make_user()
    attempt = services.submit_quiz(module.id, {}, actor=mine)
    login_as()
    assert client.get(f"/training/attempts/{attempt.id}").status_code == 404
