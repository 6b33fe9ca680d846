"""A person's notifications and preferences, and the unsubscribe link of every e-mail."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kms.auth.models import User
from kms.auth.permissions import requires
from kms.errors import Invalid
from kms.extensions import db, unit_of_work, utcnow
from kms.notify import services
from kms.notify.compose import read_unsubscribe_token
from kms.notify.forms import ActionForm
from kms.notify.kinds import CHANNELS, DIGEST, KINDS
from kms.notify.services import inbox
from kms.notify.views import bp
from kms.web import page_arg


def _checked_form() -> ActionForm:
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    return form


@bp.get("/notifications")
@requires("notify.own")
def index():
    items, page, pages = inbox.page_of(current_user.id, page_arg())
    return render_template(
        "notify/index.html",
        items=items,
        page=page,
        pages=pages,
        unread=inbox.unread_count(current_user.id),
        kinds=KINDS,
        form=ActionForm(),
    )


@bp.post("/notifications/<int:notification_id>/read")
@requires("notify.own")
def mark_read(notification_id: int):
    _checked_form()
    with unit_of_work():
        item = inbox.mark_read(notification_id, actor=current_user, now=utcnow())
    if request.form.get("open") and item.link_endpoint:
        try:
            return redirect(url_for(item.link_endpoint, **(item.link_values or {})))
        except Exception:  # noqa: BLE001 - a link whose page no longer exists: stay on the list
            flash("That page no longer exists.", "info")
    return redirect(url_for("notify.index", page=request.form.get("page", 1, type=int)))


@bp.post("/notifications/read-all")
@requires("notify.own")
def mark_all_read():
    _checked_form()
    with unit_of_work():
        count = inbox.mark_all_read(actor=current_user, now=utcnow())
    flash(f"{count} notification{'s' if count != 1 else ''} marked read.", "success")
    return redirect(url_for("notify.index"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
@requires("notify.own")
def preferences():
    form = ActionForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        chosen = {
            kind.name: request.form.get(kind.name, "")
            for kind, _ in services.preferences_for(current_user)
            if kind.name in request.form
        }
        try:
            with unit_of_work():
                services.set_preferences(current_user, chosen)
        except Invalid as error:
            flash(error.message, "error")
            status = 400
        else:
            flash("Notification settings saved.", "success")
            return redirect(url_for("notify.preferences"))
    return render_template(
        "notify/preferences.html",
        rows=services.preferences_for(current_user),
        channels=CHANNELS,
        form=form,
    ), status


def _unsubscribe_target(token: str):
    found = read_unsubscribe_token(token)
    user = db.session.get(User, found[0]) if found else None
    if user is None or not user.active:
        return None, None
    return user, found[1]


@bp.route("/notifications/unsubscribe/<token>", methods=["GET", "POST"])
@requires("public")
def unsubscribe(token: str):
    """The List-Unsubscribe link: the signed token names the person and the kind; no login needed.

    A POST (the one-click unsubscribe mail programs send, RFC 8058, or the button on the page) stops e-mail
    for that kind (it stays in kms); for the digest, every kind that went to the digest stays in kms only."""
    user, kind = _unsubscribe_target(token)
    if user is None:
        return render_template("notify/unsubscribe.html", done=False, invalid=True), 404
    kinds = (
        [k.name for k, channel in services.preferences_for(user) if channel == "digest"]
        if kind == DIGEST
        else [kind]
    )
    label = "the daily digest" if kind == DIGEST else (KINDS[kind].label if kind in KINDS else kind)
    if request.method == "POST":
        with unit_of_work():
            services.set_preferences(user, {name: "inapp" for name in kinds if name in KINDS})
        return render_template("notify/unsubscribe.html", done=True, invalid=False, label=label)
    return render_template(
        "notify/unsubscribe.html", done=False, invalid=False, label=label, form=ActionForm()
    )
