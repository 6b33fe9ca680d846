"""Process inventory pages: list with filters, add, edit, reassign, retire; categories."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kms.articles import services
from kms.articles.forms import CategoryForm, ConfirmForm, ProcessForm, ReassignForm
from kms.articles.models import ProcessStatus
from kms.articles.views import bp
from kms.articles.views.common import field_error, owner_choices
from kms.auth.permissions import requires
from kms.errors import Invalid
from kms.extensions import unit_of_work, utcnow
from kms.forms import error_summary
from kms.web import id_arg, page_arg

PER_PAGE = 100


@bp.get("/handbook/processes")
@requires("handbook.read")
def processes():
    page = page_arg()
    owner = request.args.get("owner", "")
    filters = {
        "category": request.args.get("category") or None,
        "status": request.args.get("status") or None,
        "owner_id": id_arg("owner"),
        "unassigned": owner == "none",
    }
    if filters["status"] and filters["status"] not in {s.value for s in ProcessStatus}:
        filters["status"] = None
    rows, total = services.list_processes(**filters, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template(
        "articles/processes.html",
        processes=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        filters=filters,
        owner=owner,
        categories=services.category_names(),
        owners=services.list_owners(),
        statuses=[s.value for s in ProcessStatus],
        today=utcnow().date(),
        confirm=ConfirmForm(),
    )


def _process_form(form: ProcessForm, owner_id: int | None = None) -> None:
    form.category.choices = [(name, name) for name in services.category_names()]
    form.owner_id.choices = owner_choices(services.list_owners(keep=owner_id))


def _fields(form: ProcessForm) -> services.ProcessFields:
    return services.ProcessFields(
        name=form.name.data,
        category=form.category.data,
        frequency=form.frequency.data,
        owner_id=form.owner_id.data,
        target_date=form.target_date.data,
        notes=form.notes.data or "",
        status=form.status.data,
    )


@bp.route("/handbook/processes/new", methods=["GET", "POST"])
@requires("process.manage")
def new_process():
    form = ProcessForm()
    _process_form(form)
    if request.method == "GET":
        form.owner_id.data = current_user.id
    if form.validate_on_submit():
        try:
            with unit_of_work():
                process = services.create_process(_fields(form), actor=current_user)
        except Invalid as error:
            field_error(form, error)
        else:
            flash(f"Added “{process.name}” to the inventory.", "success")
            return redirect(url_for("articles.processes"))
    status = 400 if request.method == "POST" else 200
    return render_template("articles/process_form.html", form=form, process=None), status


@bp.route("/handbook/processes/<int:process_id>", methods=["GET", "POST"])
@requires("process.manage")
def edit_process(process_id: int):
    process = services.get_process(process_id)
    form = ProcessForm(obj=process if request.method == "GET" else None)
    _process_form(form, process.owner_id)
    if request.method == "GET":
        form.status.data = (
            process.status.value if process.status.value in dict(form.status.choices) else "undocumented"
        )
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.update_process(process.id, _fields(form), actor=current_user)
        except Invalid as error:
            field_error(form, error)
        else:
            flash(f"Saved “{form.name.data}”.", "success")
            return redirect(url_for("articles.processes"))
    reassign = ReassignForm(formdata=None, owner_id=process.owner_id)
    reassign.owner_id.choices = owner_choices(services.list_owners(keep=process.owner_id), "— unassigned —")
    status = 400 if request.method == "POST" else 200
    return render_template(
        "articles/process_form.html", form=form, process=process, reassign=reassign, confirm=ConfirmForm()
    ), status


@bp.post("/handbook/processes/<int:process_id>/reassign")
@requires("process.manage")
def reassign_process(process_id: int):
    form = ReassignForm()
    form.owner_id.choices = owner_choices(services.list_owners())
    if not form.validate_on_submit():
        raise Invalid(error_summary(form), field="owner_id")
    try:
        with unit_of_work():
            process = services.reassign_process(process_id, form.owner_id.data, actor=current_user)
    except Invalid as error:
        flash(error.message, "error")
        return redirect(url_for("articles.edit_process", process_id=process_id))
    flash(f"“{process.name}” now belongs to {process.owner.name if process.owner else 'nobody'}.", "success")
    return redirect(url_for("articles.edit_process", process_id=process_id))


@bp.post("/handbook/processes/<int:process_id>/retire")
@requires("process.manage")
def retire_process(process_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        process = services.retire_process(process_id, actor=current_user)
    flash(f"Retired “{process.name}”: it no longer counts toward coverage.", "success")
    return redirect(url_for("articles.processes"))


@bp.post("/handbook/processes/<int:process_id>/reinstate")
@requires("process.manage")
def reinstate_process(process_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        process = services.reinstate_process(process_id, actor=current_user)
    flash(f"“{process.name}” is back in the inventory.", "success")
    return redirect(url_for("articles.edit_process", process_id=process_id))


@bp.route("/handbook/categories", methods=["GET", "POST"])
@requires("handbook.categories")
def categories():
    form = CategoryForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                category = services.save_category(
                    form.name.data, requires_review=form.requires_review.data, actor=current_user
                )
        except Invalid as error:
            field_error(form, error)
        else:
            flash(f"Saved category “{category.name}”.", "success")
            return redirect(url_for("articles.categories"))
    return render_template(
        "articles/categories.html",
        form=form,
        categories=services.list_categories(),
        counts=services.article_count_by_category(),
    ), 400 if form.errors else 200
