"""The manager's one-click actions: confirm a top performer as shadowing host, assign a refresher; the
refresher rules page and the team's re-certification cadence."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.errors import Invalid
from kms.extensions import unit_of_work
from kms.forms import field_error
from kms.metrics.forms_coaching import AssignRefresherForm, ButtonForm, CadenceForm, ConfirmHostForm, RuleForm
from kms.metrics.services import ranking, refreshers
from kms.metrics.views import bp
from kms.metrics.views.dashboards import today
from kms.training import services as training


def _back():
    target = request.form.get("next", "")
    if target.startswith("/metrics/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("metrics.team"))


@bp.post("/metrics/hosts/confirm")
@requires("metrics.coach")
def confirm_host():
    form = ConfirmHostForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work():
        host = ranking.confirm_host(form.user_id.data, form.metric.data, actor=current_user)
        name, windows = host.user.name, bool(host.windows)
    label = ranking.metric(form.metric.data).label
    message = f"{name} is now a shadowing host for {label}."
    if not windows:
        message += " Set their availability on the hosts page so the planner can book them."
    flash(message, "success")
    return _back()


@bp.post("/metrics/refreshers/assign")
@requires("metrics.coach")
def assign_refresher():
    form = AssignRefresherForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work():
        assignment = refreshers.assign_refresher(
            form.user_id.data, form.module_id.data, actor=current_user, today=today()
        )
        title, due = assignment.module.title, assignment.due_on
    flash(f"Assigned “{title}”, due {due:%d %b %Y}.", "success")
    return _back()


def _module_choices() -> list[tuple[int, str]]:
    return [
        (m.id, m.title)
        for m in training.list_modules(actor=current_user, include_unpublished=True)
        if m.status.value == "published"
    ]


def _rule_form() -> RuleForm:
    form = RuleForm()
    form.metric.choices = list(refreshers.RULE_METRICS.items())
    form.module_id.choices = _module_choices()
    return form


def _cadence_form() -> CadenceForm:
    form = CadenceForm(prefix="cadence")
    form.module_id.choices = _module_choices()
    return form


def _render_rules(form: RuleForm, cadence: CadenceForm, status: int = 200):
    team = None if current_user.role.value == "admin" else current_user.team or ""
    return render_template(
        "metrics/rules.html",
        form=form,
        cadence_form=cadence,
        button=ButtonForm(),
        rules=refreshers.list_rules(actor=current_user, team=team),
        describe=refreshers.describe,
    ), status


@bp.route("/metrics/rules", methods=["GET", "POST"])
@requires("metrics.coach")
def rules():
    form = _rule_form()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                with unit_of_work():
                    refreshers.create_rule(
                        metric=form.metric.data,
                        threshold=float(form.threshold.data),
                        window_days=form.window_days.data,
                        min_count=form.min_count.data,
                        module_id=form.module_id.data,
                        actor=current_user,
                    )
            except Invalid as error:
                field_error(form, error)
            else:
                flash("Rule added.", "success")
                return redirect(url_for("metrics.rules"))
        return _render_rules(form, _cadence_form(), 400)
    return _render_rules(form, _cadence_form())


@bp.post("/metrics/rules/<int:rule_id>/delete")
@requires("metrics.coach")
def delete_rule(rule_id: int):
    if not ButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        refreshers.delete_rule(rule_id, actor=current_user)
    flash("Rule deleted.", "success")
    return redirect(url_for("metrics.rules"))


@bp.post("/metrics/rules/starter")
@requires("metrics.rules.all")
def starter_rules():
    if not ButtonForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        added = refreshers.seed_starter_rules()
    flash(f"Added {added} starter rule{'' if added == 1 else 's'}.", "success")
    return redirect(url_for("metrics.rules"))


@bp.post("/metrics/cadence")
@requires("metrics.coach")
def set_cadence():
    form = _cadence_form()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                entry = refreshers.set_cadence(
                    request.form.get("team"), form.module_id.data, form.every_months.data, actor=current_user
                )
                title = entry.module.title
        except Invalid as error:
            field_error(form, error)
        else:
            flash(f"“{title}” is now re-certified every {form.every_months.data} months.", "success")
            return redirect(url_for("metrics.team"))
    return _render_rules(_rule_form(), form, 400)
