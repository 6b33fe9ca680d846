"""Learner pages: my onboarding, the catalog, modules, lessons, review of changes, quizzes, calendar feed."""

from __future__ import annotations

import re

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kms.auth.permissions import allowed, requires
from kms.errors import Conflict, Invalid
from kms.extensions import unit_of_work
from kms.markdown import ARTICLE_LINK_BASE
from kms.training import services
from kms.training.forms import AcknowledgeForm, ConfirmForm
from kms.training.views import bp
from kms.training.views.common import field_error
from kms.training.views.manage import render_team
from kms.validate import whole_number

ANSWER_KEY = re.compile(r"^q-(\d{1,12})$")


@bp.get("/training/")
@requires("training.learn")
def index():
    if allowed(current_user, "training.manage"):
        return render_team()
    return my_onboarding()


@bp.get("/training/me")
@requires("training.learn")
def my_onboarding():
    onboarding = services.my_onboarding(current_user.id, actor=current_user)
    return render_template("training/onboarding.html", onboarding=onboarding, own=True)


@bp.get("/training/modules")
@requires("training.learn")
def modules():
    everything = allowed(current_user, "training.edit") and request.args.get("all") == "1"
    return render_template(
        "training/modules.html",
        everything=everything,
        modules=services.list_modules(actor=current_user, include_unpublished=everything),
    )


@bp.get("/training/modules/<int:module_id>")
@requires("training.learn")
def module(module_id: int):
    progress = services.module_progress(module_id, actor=current_user)
    return render_template(
        "training/module.html",
        module=progress.module,
        progress=progress,
        attempts=services.attempts_for(module_id, current_user.id),
        confirm=ConfirmForm(),
    )


def _seen_value(lesson) -> str:
    return ",".join(
        f"{link.article_id}:{link.article.published_revision_id}"
        for link in lesson.article_links
        if link.article.published_revision_id
    )


def _parse_seen(value: str) -> dict[int, int]:
    """The hidden `seen` field ("article_id:revision_id,..."); Invalid naming it when the page sent garbage."""
    seen = {}
    for part in (value or "").split(","):
        if part:
            article, _, revision = part.partition(":")
            label = "seen (the article versions this page showed)"
            seen[whole_number(article, "seen", label, low=1)] = whole_number(revision, "seen", label, low=1)
    return seen


@bp.get("/training/lessons/<int:lesson_id>")
@requires("training.learn")
def lesson(lesson_id: int):
    lesson = services.get_lesson(lesson_id)
    progress = services.module_progress(lesson.module_id, actor=current_user)
    form = AcknowledgeForm(seen=_seen_value(lesson))
    return _render_lesson(lesson, progress, form)


def _render_lesson(lesson, progress, form, status: int = 200):
    flags = [f for f in services.review_flags(current_user.id) if f.lesson_id == lesson.id]
    return render_template(
        "training/lesson.html",
        lesson=lesson,
        module=progress.module,
        progress=progress,
        form=form,
        flags=flags,
        article_base=ARTICLE_LINK_BASE,
    ), status


@bp.post("/training/lessons/<int:lesson_id>/complete")
@requires("training.learn")
def complete_lesson(lesson_id: int):
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        abort(400)
    seen = _parse_seen(form.seen.data)  # garbage there is a 400 naming the field: nothing typed is lost
    try:
        with unit_of_work():
            done = services.complete_lesson(
                lesson_id, actor=current_user, acknowledge=form.acknowledge.data, seen_revisions=seen
            )
    except (Invalid, Conflict) as error:
        lesson = services.get_lesson(lesson_id)
        field_error(form, error)
        form.seen.data = _seen_value(lesson)
        return _render_lesson(
            lesson, services.module_progress(lesson.module_id, actor=current_user), form, error.status
        )
    lesson = services.get_lesson(lesson_id)
    if done.module_complete:
        flash(f"Module complete: {lesson.module.title}.", "success")
        return redirect(url_for("training.module", module_id=lesson.module_id))
    flash(f"Lesson done: {lesson.title}.", "success")
    progress = services.module_progress(lesson.module_id, actor=current_user)
    if progress.next_lesson is not None:
        return redirect(url_for("training.lesson", lesson_id=progress.next_lesson.id))
    return redirect(url_for("training.module", module_id=lesson.module_id))


@bp.get("/training/lessons/<int:lesson_id>/changes")
@requires("training.learn")
def lesson_changes(lesson_id: int):
    lesson = services.get_lesson(lesson_id)
    return render_template(
        "training/changes.html",
        lesson=lesson,
        confirm=ConfirmForm(),
        diffs=services.lesson_changes(lesson_id, actor=current_user),
    )


@bp.post("/training/lessons/<int:lesson_id>/review")
@requires("training.learn")
def review_lesson(lesson_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        services.review_lesson(lesson_id, actor=current_user)
    flash("Marked as reviewed. The lesson is up to date again.", "success")
    return redirect(url_for("training.my_onboarding"))


def _parse_answers() -> dict[int, list[int]]:
    answers: dict[int, list[int]] = {}
    for key in request.form:
        if key == "csrf_token":
            continue
        match = ANSWER_KEY.match(key)
        if not match:
            raise Invalid(f"The quiz has no field {key[:40]!r}; reload the quiz and answer again.", field=key)
        label = f"The answer {key} (a choice of the quiz)"
        question = whole_number(match.group(1), key, label, low=1)
        answers[question] = [whole_number(v, key, label, low=1) for v in request.form.getlist(key)]
    return answers


@bp.route("/training/modules/<int:module_id>/quiz", methods=["GET", "POST"])
@requires("training.learn")
def quiz(module_id: int):
    form = ConfirmForm()
    progress = services.module_progress(module_id, actor=current_user)
    questions = services.quiz_questions(module_id, actor=current_user)
    if not questions:
        abort(404)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        with unit_of_work():
            attempt = services.submit_quiz(module_id, _parse_answers(), actor=current_user)
        return redirect(url_for("training.attempt", attempt_id=attempt.id))
    return render_template(
        "training/quiz.html", module=progress.module, progress=progress, questions=questions, form=form
    )


@bp.get("/training/attempts/<int:attempt_id>")
@requires("training.learn")
def attempt(attempt_id: int):
    return render_template(
        "training/attempt.html", result=services.attempt_result(attempt_id, actor=current_user)
    )


@bp.get("/training/calendar")
@requires("training.learn")
def calendar():
    return render_template(
        "training/calendar.html",
        feed=services.active_feed(actor=current_user),
        form=ConfirmForm(),
        new_url=None,
    )


@bp.post("/training/calendar")
@requires("training.learn")
def new_calendar_feed():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        token = services.create_feed(actor=current_user)
    return render_template(
        "training/calendar.html",
        feed=services.active_feed(actor=current_user),
        form=ConfirmForm(),
        new_url=url_for("training.feed", token=token, _external=True),
    )


@bp.post("/training/calendar/revoke")
@requires("training.learn")
def revoke_calendar_feed():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        services.revoke_feed(actor=current_user)
    flash("Calendar link turned off. Calendars subscribed to it stop updating.", "success")
    return redirect(url_for("training.calendar"))


@bp.get("/training/calendar/<token>.ics")
@requires("public")
def feed(token: str):
    body = services.feed_ics(token)
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": 'inline; filename="kms-training.ics"',
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )
