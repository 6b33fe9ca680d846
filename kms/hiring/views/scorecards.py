"""The scorecard pages: fill in (draft or submit), read, and amend with a logged reason."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.errors import Conflict, Invalid
from kms.extensions import unit_of_work
from kms.hiring import services
from kms.hiring.models import RATINGS, Recommendation
from kms.hiring.views import bp
from kms.hiring.views.common import _field_error, _scorecard_form, _scorecard_input

# --- scorecards -----------------------------------------------------------------------------------------


@bp.route("/hiring/scorecards/<int:assignment_id>", methods=["GET", "POST"])
@requires("hiring.interview")
def scorecard(assignment_id: int):
    with unit_of_work():  # reading someone's scorecard is audited
        context = services.open_scorecard(assignment_id, actor=current_user)
    if request.method == "GET" or not context.mine:
        if request.method == "POST":
            abort(404)
        form = _scorecard_form(context, formdata=False)
        return render_template(
            "hiring/scorecard.html",
            ctx=context,
            form=form,
            amending=False,
            ratings=RATINGS,
            recommendations=list(Recommendation),
        )
    form = _scorecard_form(context)
    action = request.form.get("action")
    if action not in {"draft", "submit"}:
        raise Invalid("The form's action must be draft or submit; reload the page.", field="action")
    if form.validate_on_submit():
        try:
            if action == "draft":
                with unit_of_work():
                    services.save_draft(assignment_id, _scorecard_input(form), actor=current_user)
                flash("Draft saved. Only you can see it until you submit.", "success")
                return redirect(url_for("hiring.scorecard", assignment_id=assignment_id))
            with unit_of_work():
                services.submit_scorecard(assignment_id, _scorecard_input(form), actor=current_user)
        except Invalid as error:
            _field_error(form, error)
        except Conflict as error:
            flash(error.message, "error")
            return redirect(url_for("hiring.scorecard", assignment_id=assignment_id))
        else:
            flash("Scorecard submitted and locked. You can now see the debrief.", "success")
            return redirect(url_for("hiring.debrief", candidate_id=context.candidate_id))
    return render_template(
        "hiring/scorecard.html",
        ctx=context,
        form=form,
        amending=False,
        ratings=RATINGS,
        recommendations=list(Recommendation),
    ), 400


@bp.route("/hiring/scorecards/<int:assignment_id>/amend", methods=["GET", "POST"])
@requires("hiring.interview")
def amend_scorecard(assignment_id: int):
    with unit_of_work():  # audited
        context = services.open_scorecard(assignment_id, actor=current_user)
    if not context.mine or not context.submitted:
        abort(404)
    form = _scorecard_form(context, formdata=request.method == "POST")
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.amend_scorecard(
                    assignment_id, _scorecard_input(form), form.reason.data, actor=current_user
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            flash("Amendment saved; the earlier version stays in the log.", "success")
            return redirect(url_for("hiring.scorecard", assignment_id=assignment_id))
    return render_template(
        "hiring/scorecard.html",
        ctx=context,
        form=form,
        amending=True,
        ratings=RATINGS,
        recommendations=list(Recommendation),
    ), 400 if form.errors else 200
