"""Admin settings for single sign-on: providers, group -> role/team rules, SSO-only mode."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.errors import Invalid
from kms.extensions import unit_of_work
from kms.sso import services
from kms.sso.forms import DeleteForm, GroupRuleForm, ProviderForm, SsoSettingsForm
from kms.sso.views import bp
from kms.sso.views.login import env_provider


def _field_error(form, error: Invalid) -> None:
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def _page(status: int = 200, **forms):
    settings = services.get_settings()
    settings_form = forms.get("settings_form") or SsoSettingsForm(
        formdata=None,
        sso_only=settings.sso_only,
        break_glass=settings.break_glass_emails,
        unmapped_role=settings.unmapped_role,
    )
    rows = services.list_provider_rows()
    key = current_app.config["SECRET_KEY"]
    return render_template(
        "sso/admin.html",
        env=env_provider(),
        providers=rows,
        unreadable={row.id for row in rows if not services.secret_readable(row, site_key=key)},
        rules=services.list_rules(),
        provider_form=forms.get("provider_form") or ProviderForm(),
        rule_form=forms.get("rule_form") or GroupRuleForm(),
        settings_form=settings_form,
        delete_form=DeleteForm(),
    ), status


@bp.get("/admin/sso")
@requires("user.manage")
def settings():
    return _page()


@bp.post("/admin/sso/settings")
@requires("user.manage")
def save_settings():
    form = SsoSettingsForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.update_settings(
                    sso_only=form.sso_only.data,
                    break_glass=form.break_glass.data or "",
                    unmapped_role=form.unmapped_role.data,
                    providers=len(services.list_providers(env_provider())),
                    actor=current_user,
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            flash("Single sign-on settings saved.", "success")
            return redirect(url_for("sso.settings"))
    return _page(400, settings_form=form)


@bp.post("/admin/sso/providers")
@requires("user.manage")
def add_provider():
    form = ProviderForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                provider = services.add_provider(
                    slug=form.slug.data,
                    label=form.label.data,
                    issuer=form.issuer.data,
                    client_id=form.client_id.data,
                    client_secret=form.client_secret.data or "",
                    scopes=form.scopes.data or "",
                    groups_claim=form.groups_claim.data or "",
                    site_key=current_app.config["SECRET_KEY"],
                    actor=current_user,
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            flash(
                f"Added {provider.label}. Its callback address is "
                f"{url_for('sso.callback', provider=provider.slug, _external=True)}",
                "success",
            )
            return redirect(url_for("sso.settings"))
    return _page(400, provider_form=form)


@bp.post("/admin/sso/providers/<int:provider_id>/delete")
@requires("user.manage")
def delete_provider(provider_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        services.delete_provider(provider_id, actor=current_user)
    flash("Provider removed.", "success")
    return redirect(url_for("sso.settings"))


@bp.post("/admin/sso/rules")
@requires("user.manage")
def add_rule():
    form = GroupRuleForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                rule = services.add_rule(
                    group_name=form.group_name.data,
                    role=form.role.data,
                    team=form.team.data or "",
                    actor=current_user,
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            flash(f"Members of {rule.group_name} now get {rule.role.value} at their next sign-in.", "success")
            return redirect(url_for("sso.settings"))
    return _page(400, rule_form=form)


@bp.post("/admin/sso/rules/<int:rule_id>/delete")
@requires("user.manage")
def delete_rule(rule_id: int):
    if not DeleteForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        services.delete_rule(rule_id, actor=current_user)
    flash("Group rule removed; it stops applying at each member's next sign-in.", "success")
    return redirect(url_for("sso.settings"))
