"""Admin pages: chat app secrets, team channels, outgoing webhooks and their delivery logs."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.errors import Invalid
from kms.extensions import unit_of_work
from kms.forms import field_error
from kms.integrations.forms import ActionForm, ChannelForm, ChatSecretsForm, WebhookForm
from kms.integrations.services import admin
from kms.integrations.services.delivery import target_name
from kms.integrations.views import bp
from kms.notify.kinds import EVENT_KINDS

SECRET_NAMES = ("slack_signing_secret", "slack_bot_token", "teams_security_token")


def _site_key():
    return current_app.config["SECRET_KEY"]


def _event_choices(form) -> None:
    form.events.choices = list(EVENT_KINDS.items())


def _page(status: int = 200, new_secret: str | None = None, new_webhook=None, **forms):
    channel_form = forms.get("channel_form") or ChannelForm(formdata=None)
    webhook_form = forms.get("webhook_form") or WebhookForm(formdata=None)
    _event_choices(channel_form)
    _event_choices(webhook_form)
    response = render_template(
        "integrations/settings.html",
        status=admin.chat_status(site_key=_site_key()),
        chat_form=forms.get("chat_form") or ChatSecretsForm(formdata=None),
        channel_form=channel_form,
        webhook_form=webhook_form,
        action_form=ActionForm(),
        channels=admin.list_channels(),
        webhooks=admin.list_webhooks(),
        event_labels=EVENT_KINDS,
        new_secret=new_secret,
        new_webhook=new_webhook,
    )
    # A page showing a new secret must not stay in any cache.
    return response, status, {"Cache-Control": "no-store"}


@bp.get("/admin/integrations")
@requires("integrations.manage")
def settings():
    return _page()


@bp.post("/admin/integrations/chat")
@requires("integrations.manage")
def save_chat():
    form = ChatSecretsForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                admin.save_chat_secrets(
                    values={name: getattr(form, name).data for name in SECRET_NAMES},
                    clear={name for name in SECRET_NAMES if getattr(form, f"clear_{name}").data},
                    site_key=_site_key(),
                    actor=current_user,
                )
        except Invalid as error:
            field_error(form, error)
        else:
            flash("Chat settings saved.", "success")
            return redirect(url_for("integrations.settings"), 303)
    return _page(400, chat_form=form)


@bp.post("/admin/integrations/channels")
@requires("integrations.manage")
def add_channel():
    form = ChannelForm()
    _event_choices(form)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                channel = admin.add_channel(
                    team=form.team.data,
                    kind=form.kind.data,
                    url=form.url.data,
                    events=form.events.data or [],
                    site_key=_site_key(),
                    actor=current_user,
                )
                name = target_name(channel)
        except Invalid as error:
            field_error(form, error)
        else:
            flash(f"Added the {name}.", "success")
            return redirect(url_for("integrations.settings"), 303)
    return _page(400, channel_form=form)


@bp.post("/admin/integrations/webhooks")
@requires("integrations.manage")
def add_webhook():
    form = WebhookForm()
    _event_choices(form)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                webhook, secret = admin.add_webhook(
                    url=form.url.data,
                    events=form.events.data or [],
                    description=form.description.data or "",
                    site_key=_site_key(),
                    actor=current_user,
                )
        except Invalid as error:
            field_error(form, error)
        else:
            # Shown on this response only; never stored in the clear, never shown again.
            return _page(201, new_secret=secret, new_webhook=webhook)
    return _page(400, webhook_form=form)


def _action(target_kind: str, target_id: int, verb: str):
    with unit_of_work():
        target = admin.get_channel(target_id) if target_kind == "channel" else admin.get_webhook(target_id)
        name = target_name(target)
        if verb == "enable":
            admin.enable_target(target, actor=current_user)
        else:
            admin.remove_target(target, actor=current_user)
    flash(f"{'Switched on' if verb == 'enable' else 'Removed'}: the {name}.", "success")
    return redirect(url_for("integrations.settings"), 303)


@bp.post("/admin/integrations/channels/<int:channel_id>/enable")
@requires("integrations.manage")
def enable_channel(channel_id: int):
    return _action("channel", channel_id, "enable")


@bp.post("/admin/integrations/channels/<int:channel_id>/remove")
@requires("integrations.manage")
def remove_channel(channel_id: int):
    return _action("channel", channel_id, "remove")


@bp.post("/admin/integrations/webhooks/<int:webhook_id>/enable")
@requires("integrations.manage")
def enable_webhook(webhook_id: int):
    return _action("webhook", webhook_id, "enable")


@bp.post("/admin/integrations/webhooks/<int:webhook_id>/remove")
@requires("integrations.manage")
def remove_webhook(webhook_id: int):
    return _action("webhook", webhook_id, "remove")


def _log_page(target, back_endpoint: str):
    return render_template(
        "integrations/log.html",
        target=target,
        name=target_name(target),
        deliveries=admin.delivery_log(target),
        action_form=ActionForm(),
        is_channel=back_endpoint == "integrations.channel_log",
    )


@bp.get("/admin/integrations/channels/<int:channel_id>")
@requires("integrations.manage")
def channel_log(channel_id: int):
    return _log_page(admin.get_channel(channel_id), "integrations.channel_log")


@bp.get("/admin/integrations/webhooks/<int:webhook_id>")
@requires("integrations.manage")
def webhook_log(webhook_id: int):
    return _log_page(admin.get_webhook(webhook_id), "integrations.webhook_log")


@bp.post("/admin/integrations/deliveries/<int:delivery_id>/retry")
@requires("integrations.manage")
def retry_delivery(delivery_id: int):
    with unit_of_work():
        delivery = admin.retry_delivery(delivery_id, actor=current_user)
        if delivery.channel_id is not None:
            back = url_for("integrations.channel_log", channel_id=delivery.channel_id)
        else:
            back = url_for("integrations.webhook_log", webhook_id=delivery.webhook_id)
    flash("The delivery will be sent again at the next run of the delivery job.", "success")
    return redirect(back, 303)
