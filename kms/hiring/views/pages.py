"""Hiring pages: the board and openings, candidates, interviews, decisions, hiring, privacy, rubric, audit."""

from __future__ import annotations

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.errors import Conflict, Invalid
from kms.extensions import unit_of_work
from kms.hiring import services
from kms.hiring.forms import (
    CandidateForm,
    DecisionForm,
    HireForm,
    InterviewForm,
    OpeningForm,
    StageForm,
    TraitEditForm,
)
from kms.hiring.models import RATINGS, Stage
from kms.hiring.views import bp
from kms.hiring.views.common import _field_error, _local_to_utc
from kms.web import id_arg

# --- home: the board for leads, "my interviews" for interviewers -----------------------------------------


@bp.get("/hiring/")
@requires("hiring.interview")
def index():
    mine = services.my_interviews(actor=current_user)
    if not services.is_lead(current_user):
        return render_template("hiring/my_interviews.html", mine=mine)
    return _render_board(mine)


def _render_board(mine, opening_form=None, status: int = 200):
    opening_id = id_arg("opening")
    with unit_of_work():  # viewing the board is audited
        board = services.board(actor=current_user, opening_id=opening_id)
    return render_template(
        "hiring/index.html",
        board=board,
        stages=list(Stage),
        openings=services.list_openings(actor=current_user),
        opening_id=opening_id,
        mine=mine,
        opening_form=opening_form or OpeningForm(),
        hires=services.hired_users_with_summaries(actor=current_user),
    ), status


@bp.post("/hiring/openings")
@requires("hiring.manage")
def create_opening():
    form = OpeningForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.create_opening(form.title.data, form.team.data, actor=current_user)
        except Invalid as error:
            _field_error(form, error)
        else:
            flash(f"Opening '{form.title.data.strip()}' created.", "success")
            return redirect(url_for("hiring.index"))
    # The board again with the form as typed and the message next to the field (a redirect would lose both).
    return _render_board(services.my_interviews(actor=current_user), opening_form=form, status=400)


@bp.get("/hiring/openings/<int:opening_id>/compare")
@requires("hiring.manage")
def compare(opening_id: int):
    with unit_of_work():  # audited
        opening, traits, rows = services.compare_opening(opening_id, actor=current_user)
    return render_template("hiring/compare.html", opening=opening, traits=traits, rows=rows)


# --- candidates -----------------------------------------------------------------------------------------


def _opening_choices(form) -> None:
    form.opening_id.choices = [
        (o.id, o.title + ("" if o.is_open else " (closed)"))
        for o in services.list_openings(actor=current_user)
    ]


@bp.route("/hiring/candidates/new", methods=["GET", "POST"])
@requires("hiring.manage")
def new_candidate():
    form = CandidateForm()
    _opening_choices(form)
    if not form.opening_id.choices:
        flash("Create an opening first: candidates apply to an opening.", "info")
        return redirect(url_for("hiring.index"))
    if form.validate_on_submit():
        try:
            with unit_of_work():
                candidate = services.create_candidate(
                    **_candidate_fields(form),
                    actor=current_user,
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            flash("Candidate added. Next: schedule an interview and assign interviewers.", "success")
            return redirect(url_for("hiring.candidate", candidate_id=candidate.id))
    return render_template(
        "hiring/candidate_form.html", form=form, candidate=None
    ), 400 if form.errors else 200


def _candidate_fields(form: CandidateForm) -> dict:
    """The candidate form's values, as create_candidate and update_candidate take them."""
    names = ("opening_id", "name", "email", "phone", "source", "notes")
    return {name: getattr(form, name).data for name in names}


@bp.route("/hiring/candidates/<int:candidate_id>/edit", methods=["GET", "POST"])
@requires("hiring.manage")
def edit_candidate(candidate_id: int):
    with unit_of_work():  # audited
        page = services.candidate_page(candidate_id, actor=current_user)
    form = CandidateForm(obj=page.candidate if request.method == "GET" else None)
    _opening_choices(form)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.update_candidate(
                    candidate_id,
                    **_candidate_fields(form),
                    actor=current_user,
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            flash("Saved.", "success")
            return redirect(url_for("hiring.candidate", candidate_id=candidate_id))
    return render_template(
        "hiring/candidate_form.html", form=form, candidate=page.candidate
    ), 400 if form.errors else 200


def _interview_form_choices(form: InterviewForm) -> None:
    people = [(0, "—")] + [(u.id, f"{u.name} ({u.role.value})") for u in services.interviewer_choices()]
    rubric = services.current_rubric()
    traits = [(t.key, t.name) for t in rubric.traits] if rubric else []
    for row in form.interviewers:
        row.form.user_id.choices = people
        row.form.traits.choices = traits


def _render_candidate(candidate_id: int, *, interview_form=None, decision_form=None, status: int = 200):
    with unit_of_work():  # audited
        page = services.candidate_page(candidate_id, actor=current_user)
    if interview_form is None:
        interview_form = InterviewForm(formdata=None)
    _interview_form_choices(interview_form)
    stage_form = StageForm(formdata=None, stage=page.candidate.stage.value)
    return render_template(
        "hiring/candidate.html",
        page=page,
        c=page.candidate,
        interview_form=interview_form,
        stage_form=stage_form,
        decision_form=decision_form or DecisionForm(formdata=None),
    ), status


@bp.get("/hiring/candidates/<int:candidate_id>")
@requires("hiring.interview")
def candidate(candidate_id: int):
    return _render_candidate(candidate_id)


@bp.post("/hiring/candidates/<int:candidate_id>/stage")
@requires("hiring.manage")
def set_stage(candidate_id: int):
    form = StageForm()
    try:
        with unit_of_work():
            services.set_stage(candidate_id, form.stage.data or "", actor=current_user)
    except Invalid as error:
        flash(error.message, "error")
    else:
        flash("Stage updated.", "success")
    return redirect(url_for("hiring.candidate", candidate_id=candidate_id))


@bp.post("/hiring/candidates/<int:candidate_id>/interviews")
@requires("hiring.manage")
def schedule_interview(candidate_id: int):
    form = InterviewForm()
    _interview_form_choices(form)
    if form.validate_on_submit():
        chosen = [
            (row.form.user_id.data, list(row.form.traits.data or []))
            for row in form.interviewers
            if row.form.user_id.data
        ]
        try:
            with unit_of_work():
                services.schedule_interview(
                    candidate_id,
                    title=form.title.data,
                    scheduled_at=_local_to_utc(form.scheduled_at.data),
                    interviewers=chosen,
                    actor=current_user,
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            flash("Interview scheduled. Each interviewer now sees it under Hiring.", "success")
            return redirect(url_for("hiring.candidate", candidate_id=candidate_id))
    return _render_candidate(candidate_id, interview_form=form, status=400)


@bp.post("/hiring/assignments/<int:assignment_id>/remove")
@requires("hiring.manage")
def remove_assignment(assignment_id: int):
    with unit_of_work():
        candidate_id = services.remove_assignment(assignment_id, actor=current_user)
    flash("Interviewer removed.", "success")
    return redirect(url_for("hiring.candidate", candidate_id=candidate_id))


@bp.post("/hiring/candidates/<int:candidate_id>/decision")
@requires("hiring.manage")
def decide(candidate_id: int):
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                candidate = services.record_decision(
                    candidate_id, form.decision.data, form.reason.data, actor=current_user
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            if candidate.stage == Stage.OFFER:
                flash("Decision recorded: hire. Next: create the account and onboarding.", "success")
                return redirect(url_for("hiring.hire", candidate_id=candidate_id))
            flash("Decision recorded: reject.", "success")
            return redirect(url_for("hiring.debrief", candidate_id=candidate_id))
    with unit_of_work():  # audited
        result = services.debrief(candidate_id, actor=current_user)
    return render_template("hiring/debrief.html", d=result, decision_form=form), 400


@bp.route("/hiring/candidates/<int:candidate_id>/hire", methods=["GET", "POST"])
@requires("hiring.manage")
def hire(candidate_id: int):
    with unit_of_work():  # audited
        page = services.candidate_page(candidate_id, actor=current_user)
    suggested = services.suggested_path(candidate_id, actor=current_user)
    form = HireForm(email=page.candidate.email, time_zone=current_user.time_zone, path_id=suggested or 0)
    paths = services.onboarding_paths()
    form.path_id.choices = [(0, "— none now —")] + paths
    check = services.hire_check(candidate_id, actor=current_user)
    if form.validate_on_submit():
        try:
            with unit_of_work():  # account, stage and onboarding path: all of it or nothing
                result = services.hire_candidate(
                    candidate_id,
                    email=form.email.data or "",
                    start_date=form.start_date.data,
                    time_zone=(form.time_zone.data or "UTC").strip(),
                    path_id=form.path_id.data or None,
                    create_account=form.create_account.data,
                    confirmed=form.confirm.data,
                    invite_hours=int(current_app.config["KMS_INVITE_HOURS"]),
                    actor=current_user,
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            link = (
                url_for("auth.accept_invite", token=result.invite_token, _external=True)
                if result.invite_token
                else None
            )
            return render_template(
                "hiring/hired.html",
                result=result,
                link=link,
                hours=current_app.config["KMS_INVITE_HOURS"],
                name=page.candidate.name,
            )
    return render_template(
        "hiring/hire.html",
        c=page.candidate,
        form=form,
        paths=paths,
        check=check,
        suggested=dict(paths).get(suggested),
    ), 400 if form.errors else 200


@bp.post("/hiring/candidates/<int:candidate_id>/delete")
@requires("hiring.manage")
def delete_candidate(candidate_id: int):
    with unit_of_work():
        services.delete_candidate(candidate_id, actor=current_user)
    flash("The candidate and everything about them (interviews, scorecards) are deleted.", "success")
    return redirect(url_for("hiring.index"))


@bp.get("/hiring/candidates/<int:candidate_id>/export.json")
@requires("hiring.manage")
def export_candidate(candidate_id: int):
    with unit_of_work():  # audited
        data = services.export_candidate(candidate_id, actor=current_user)
    response = jsonify(data)
    response.headers["Content-Disposition"] = f"attachment; filename=candidate-{candidate_id}.json"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/hiring/candidates/<int:candidate_id>/debrief")
@requires("hiring.interview")
def debrief(candidate_id: int):
    with unit_of_work():  # audited
        result = services.debrief(candidate_id, actor=current_user)
    return render_template("hiring/debrief.html", d=result, decision_form=DecisionForm(formdata=None))


# --- new hires, rubric, audit ---------------------------------------------------------------------------


@bp.get("/hiring/new-hires/<int:user_id>")
@requires("hiring.manage")
def new_hire(user_id: int):
    with unit_of_work():  # audited
        summary = services.new_hire_summary(user_id, actor=current_user)
    return render_template("hiring/new_hire.html", s=summary)


@bp.get("/hiring/rubric")
@requires("hiring.interview")
def rubric():
    services.require_hiring_access(current_user)
    number = id_arg("version")
    version = services.rubric_version(number) if number else services.current_rubric()
    return render_template("hiring/rubric.html", version=version, versions=services.list_versions())


@bp.route("/hiring/rubric/<key>/edit", methods=["GET", "POST"])
@requires("hiring.rubric")
def edit_trait(key: str):
    version = services.current_rubric()
    trait = next((t for t in version.traits if t.key == key), None) if version else None
    if trait is None:
        abort(404)
    form = TraitEditForm()
    if request.method == "GET":
        form = TraitEditForm(
            formdata=None,
            base_version=str(version.number),
            name=trait.name,
            definition=trait.definition,
            questions="\n".join(trait.questions),
            strong_answer=trait.strong_answer,
            weak_answer=trait.weak_answer,
            green_flags="\n".join(trait.green_flags),
            red_flags="\n".join(trait.red_flags),
            guidance=trait.guidance,
            position=trait.position,
            **{f"scale_{n}": trait.anchor(n) for n in RATINGS},
        )
    elif form.validate_on_submit():
        fields = {
            name: form[name].data
            for name in (
                "name",
                "definition",
                "questions",
                "strong_answer",
                "weak_answer",
                "green_flags",
                "red_flags",
                "guidance",
            )
        }
        fields["scale"] = {str(n): form[f"scale_{n}"].data for n in RATINGS}
        fields["position"] = form.position.data if form.position.data is not None else trait.position
        try:
            with unit_of_work():
                new = services.update_trait(
                    key,
                    fields,
                    base_version=form.base_version.data or 0,
                    note=form.note.data,
                    actor=current_user,
                )
        except Invalid as error:
            _field_error(form, error)
        except Conflict as error:
            flash(error.message, "error")
            return render_template("hiring/trait_edit.html", form=form, trait=trait, version=version), 409
        else:
            flash(
                f"Saved as rubric version {new.number}. Scorecards keep the version they were scored on.",
                "success",
            )
            return redirect(url_for("hiring.rubric"))
    return render_template(
        "hiring/trait_edit.html", form=form, trait=trait, version=version
    ), 400 if form.errors else 200


@bp.get("/hiring/audit")
@requires("hiring.audit")
def audit_log():
    with unit_of_work():  # reading the audit log is itself audited
        entries = services.list_audit(actor=current_user)
    return render_template("hiring/audit.html", entries=entries)
