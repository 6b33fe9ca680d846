"""Training stays current: a newer published revision flags a completed lesson until the learner reviews it."""

from __future__ import annotations

import pytest

from kms.errors import NotFound
from kms.training import services
from tests.conftest import login


@pytest.fixture
def studied(make_user, make_article, make_module):
    learner, article = make_user(), make_article(body="Refund within 30 days.\nAsk for the order number.\n")
    module = make_module(quiz=False, lessons=1, articles=[article])
    services.complete_lesson(module.lessons[0].id, actor=learner)
    return learner, article, module.lessons[0]


def test_a_new_published_revision_flags_the_lesson_for_learners_who_completed_it(
    studied, publish_revision, make_user
):
    learner, article, lesson = studied
    assert services.review_flags(learner.id) == []
    publish_revision(article, "Refund within 14 days.\nAsk for the order number.\n")
    [flag] = services.review_flags(learner.id)
    assert (flag.lesson_id, flag.studied_number, flag.current_number) == (lesson.id, 1, 2)
    assert services.review_flags(make_user().id) == []  # never completed: nothing to review


def test_the_diff_shows_what_changed_since_the_studied_revision(studied, publish_revision):
    learner, article, lesson = studied
    publish_revision(article, "Refund within 14 days.\nAsk for the order number.\n")
    [diff] = services.lesson_changes(lesson.id, actor=learner)
    assert ("del", "Refund within 30 days.") in diff.lines and ("add", "Refund within 14 days.") in diff.lines
    assert (diff.studied.number, diff.current.number) == (1, 2)


def test_reviewing_clears_the_flag_until_the_next_revision(studied, publish_revision):
    learner, article, lesson = studied
    publish_revision(article, "v2")
    services.review_lesson(lesson.id, actor=learner)
    assert services.review_flags(learner.id) == [] and services.lesson_changes(lesson.id, actor=learner) == []
    publish_revision(article, "v3")
    assert [f.current_number for f in services.review_flags(learner.id)] == [3]


def test_someone_who_never_did_the_lesson_has_no_changes_to_review(studied, make_user):
    _, _, lesson = studied
    with pytest.raises(NotFound):
        services.lesson_changes(lesson.id, actor=make_user())


def test_the_flag_shows_on_my_onboarding_and_one_click_shows_the_diff(client, studied, publish_revision):
    learner, article, lesson = studied
    publish_revision(article, "Refund within 14 days.\nAsk for the order number.\n")
    login(client, learner)
    home = client.get("/training/me").get_data(as_text=True)
    assert "Updated since you learned it" in home and f"/training/lessons/{lesson.id}/changes" in home
    diff = client.get(f"/training/lessons/{lesson.id}/changes").get_data(as_text=True)
    assert "Refund within 14 days." in diff and "Refund within 30 days." in diff
    client.post(f"/training/lessons/{lesson.id}/review")
    assert "Updated since you learned it" not in client.get("/training/me").get_data(as_text=True)
