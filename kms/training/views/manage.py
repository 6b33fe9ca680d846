"""Pages for authors and leads: module authoring, assignments, the team view and its CSV export."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.errors import Conflict, Invalid
from kms.extensions import unit_of_work
from kms.training import services
from kms.training.forms import (
    AssignModuleForm,
    AssignPathForm,
    ConfirmForm,
    LessonForm,
    ModuleForm,
    QuestionForm,
    parse_choices,
)
from kms.training.views import bp
from kms.training.views.common import field_error
from kms.web import counted, id_arg, page_arg


def _filters() -> dict:
    return {"team": request.args.get("team") or None, "start_month": request.args.get("month") or None}


def render_team():
    view = services.team_view(actor=current_user, page=page_arg(), **_filters())
    return render_template("training/team.html", view=view)


@bp.get("/training/team")
@requires("training.manage")
def team():
    return render_team()


@bp.get("/training/team.csv")
@requires("training.manage")
def team_csv():
    view = services.team_view(actor=current_user, **_filters())  # no page: everyone matching the filters
    return Response(
        services.team_csv(view),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="training-team.csv"'},
    )


@bp.get("/training/people/<int:user_id>")
@requires("training.manage")
def person(user_id: int):
    onboarding = services.my_onboarding(user_id, actor=current_user)
    return render_template(
        "training/onboarding.html", onboarding=onboarding, own=False, confirm=ConfirmForm()
    )


# Assignments ------------------------------------------------------------------------------------------------


def _assign_forms(path_form=None, module_form=None):
    people = [
        (u.id, f"{u.name} ({u.team or 'no team'})") for u in services.managed_people(actor=current_user)
    ]
    path_form = path_form or AssignPathForm(formdata=None, user_id=id_arg("user_id"))
    module_form = module_form or AssignModuleForm(formdata=None, user_id=id_arg("user_id"))
    path_form.user_id.choices = module_form.user_id.choices = people
    path_form.path_id.choices = [(p.id, p.title) for p in services.list_paths()]
    module_form.module_id.choices = [
        (m.id, m.title)
        for m in services.list_modules(actor=current_user, include_unpublished=True)
        if m.status.value == "published"
    ]
    return path_form, module_form


@bp.get("/training/assign")
@requires("training.manage")
def assign():
    path_form, module_form = _assign_forms()
    return render_template(
        "training/assign.html", path_form=path_form, module_form=module_form, paths=services.list_paths()
    )


@bp.post("/training/assign/path")
@requires("training.manage")
def assign_path():
    path_form, module_form = _assign_forms(path_form=AssignPathForm())
    if path_form.validate_on_submit():
        try:
            with unit_of_work():
                made = services.assign_path(
                    path_form.user_id.data, path_form.path_id.data, actor=current_user
                )
        except Invalid as error:
            field_error(path_form, error)
        else:
            flash(f"Assigned {counted(len(made), 'module')} with due dates.", "success")
            return redirect(url_for("training.person", user_id=path_form.user_id.data))
    return render_template(
        "training/assign.html", path_form=path_form, module_form=module_form, paths=services.list_paths()
    ), 400


@bp.post("/training/assign/module")
@requires("training.manage")
def assign_module():
    path_form, module_form = _assign_forms(module_form=AssignModuleForm())
    if module_form.validate_on_submit():
        try:
            with unit_of_work():
                services.assign_module(
                    module_form.user_id.data,
                    module_form.module_id.data,
                    module_form.due_on.data,
                    actor=current_user,
                )
        except Invalid as error:
            field_error(module_form, error)
        else:
            flash("Module assigned.", "success")
            return redirect(url_for("training.person", user_id=module_form.user_id.data))
    return render_template(
        "training/assign.html", path_form=path_form, module_form=module_form, paths=services.list_paths()
    ), 400


@bp.post("/training/assignments/<int:assignment_id>/delete")
@requires("training.manage")
def remove_assignment(assignment_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user_id = services.remove_assignment(assignment_id, actor=current_user)
    flash("Assignment removed.", "success")
    return redirect(url_for("training.person", user_id=user_id))


# Authoring -------------------------------------------------------------------------------------------------


def _module_fields(form: ModuleForm) -> dict:
    return {
        "title": form.title.data,
        "summary": form.summary.data,
        "intro": form.intro.data,
        "audience": form.audience.data,
        "minutes": form.minutes.data,
        "recertify_months": form.recertify_months.data,
        "pass_mark": form.pass_mark.data,
        "max_attempts": form.max_attempts.data,
        "tags": (form.tags.data or "").split(","),
    }


@bp.route("/training/modules/new", methods=["GET", "POST"])
@requires("training.edit")
def new_module():
    form = ModuleForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                module = services.create_module(actor=current_user, **_module_fields(form))
        except Invalid as error:
            field_error(form, error)
        else:
            flash("Draft module created. Add lessons, then publish it.", "success")
            return redirect(url_for("training.edit_module", module_id=module.id))
    return render_template("training/module_new.html", form=form), 400 if request.method == "POST" else 200


@bp.route("/training/modules/<int:module_id>/edit", methods=["GET", "POST"])
@requires("training.edit")
def edit_module(module_id: int):
    module = services.get_module(module_id, actor=current_user)
    form = ModuleForm(obj=module if request.method == "GET" else None)
    if request.method == "GET":
        form.audience.data, form.tags.data = module.audience, ", ".join(module.tags)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    services.update_module(module.id, actor=current_user, **_module_fields(form))
            except Invalid as error:
                field_error(form, error)
            else:
                flash("Module saved.", "success")
                return redirect(url_for("training.edit_module", module_id=module.id))
        status = 400
    return render_template(
        "training/module_edit.html", module=module, form=form, confirm=ConfirmForm()
    ), status


@bp.post("/training/modules/<int:module_id>/status")
@requires("training.edit")
def module_status(module_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        module = services.set_module_status(module_id, request.form.get("status", ""), actor=current_user)
    flash(f"{module.title} is now {module.status.value}.", "success")
    return redirect(url_for("training.edit_module", module_id=module.id))


def _lesson_args(form: LessonForm) -> dict:
    return {
        "title": form.title.data,
        "body": form.body.data or "",
        "acknowledge": form.acknowledge.data,
        "article_slugs": [s.strip() for s in (form.articles.data or "").split(",") if s.strip()],
    }


@bp.route("/training/modules/<int:module_id>/lessons/new", methods=["GET", "POST"])
@requires("training.edit")
def new_lesson(module_id: int):
    module = services.get_module(module_id, actor=current_user)
    form = LessonForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.add_lesson(module.id, actor=current_user, **_lesson_args(form))
        except Invalid as error:
            field_error(form, error)
        else:
            flash("Lesson added.", "success")
            return redirect(url_for("training.edit_module", module_id=module.id))
    return render_template(
        "training/lesson_form.html", module=module, form=form, lesson=None
    ), 400 if request.method == "POST" else 200


@bp.route("/training/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@requires("training.edit")
def edit_lesson(lesson_id: int):
    lesson = services.get_lesson(lesson_id)
    form = LessonForm(obj=lesson if request.method == "GET" else None)
    if request.method == "GET":
        form.articles.data = ", ".join(link.article.slug for link in lesson.article_links)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.update_lesson(lesson.id, actor=current_user, **_lesson_args(form))
        except Invalid as error:
            field_error(form, error)
        else:
            flash("Lesson saved.", "success")
            return redirect(url_for("training.edit_module", module_id=lesson.module_id))
    return render_template(
        "training/lesson_form.html", module=lesson.module, form=form, lesson=lesson
    ), 400 if request.method == "POST" else 200


@bp.post("/training/lessons/<int:lesson_id>/delete")
@requires("training.edit")
def delete_lesson(lesson_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        module_id = services.delete_lesson(lesson_id, actor=current_user)
    flash("Lesson deleted.", "success")
    return redirect(url_for("training.edit_module", module_id=module_id))


@bp.post("/training/lessons/<int:lesson_id>/move")
@requires("training.edit")
def move_lesson(lesson_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if request.form.get("direction") not in {"up", "down"}:
        raise Invalid("direction must be up or down.", field="direction")
    with unit_of_work():
        module = services.move_lesson(
            lesson_id, -1 if request.form["direction"] == "up" else 1, actor=current_user
        )
    return redirect(url_for("training.edit_module", module_id=module.id) + f"#lesson-{lesson_id}")


def _question_args(form: QuestionForm) -> dict:
    return {
        "text": form.text.data,
        "kind": form.kind.data,
        "explanation": form.explanation.data or "",
        "choices": parse_choices(form.choices.data),
    }


@bp.route("/training/modules/<int:module_id>/questions/new", methods=["GET", "POST"])
@requires("training.edit")
def new_question(module_id: int):
    module = services.get_module(module_id, actor=current_user)
    form = QuestionForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.add_question(module.id, actor=current_user, **_question_args(form))
        except Invalid as error:
            field_error(form, error)
        else:
            flash("Question added.", "success")
            return redirect(url_for("training.edit_module", module_id=module.id) + "#quiz")
    return render_template(
        "training/question_form.html", module=module, form=form, question=None
    ), 400 if request.method == "POST" else 200


@bp.route("/training/questions/<int:question_id>/edit", methods=["GET", "POST"])
@requires("training.edit")
def edit_question(question_id: int):
    question = services.get_question(question_id)
    form = QuestionForm(obj=question if request.method == "GET" else None)
    if request.method == "GET":
        form.kind.data = question.kind.value
        form.choices.data = "\n".join(("* " if c.correct else "") + c.text for c in question.choices)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.update_question(question.id, actor=current_user, **_question_args(form))
        except (Invalid, Conflict) as error:
            field_error(form, error)
        else:
            flash("Question saved.", "success")
            return redirect(url_for("training.edit_module", module_id=question.module_id) + "#quiz")
    return render_template(
        "training/question_form.html", module=question.module, form=form, question=question
    ), 400 if request.method == "POST" else 200


@bp.post("/training/questions/<int:question_id>/delete")
@requires("training.edit")
def delete_question(question_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        module_id = services.delete_question(question_id, actor=current_user)
    flash("Question deleted.", "success")
    return redirect(url_for("training.edit_module", module_id=module_id) + "#quiz")
