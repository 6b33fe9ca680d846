"""Admin -> Mail: why e-mail is off (if it is), what is queued, and the messages that failed or may have."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.extensions import unit_of_work, utcnow
from kms.notify.forms import ActionForm
from kms.notify.kinds import KINDS
from kms.notify.sender import mail_off_reason, smtp_settings
from kms.notify.services import outbox
from kms.notify.views import bp
from kms.notify.views.pages import _checked_form


@bp.get("/admin/mail")
@requires("mail.manage")
def mail():
    reason = mail_off_reason()
    return render_template(
        "notify/mail_admin.html",
        off_reason=reason,
        server=None if reason else smtp_settings().describe(),
        base_url=current_app.config.get("KMS_BASE_URL") or "",
        mail_from=current_app.config.get("KMS_MAIL_FROM"),
        counts=outbox.status_counts(),
        problems=outbox.problem_messages(),
        kinds=KINDS,
        form=ActionForm(),
    )


@bp.post("/admin/mail/<int:message_id>/retry")
@requires("mail.manage")
def retry(message_id: int):
    _checked_form()
    with unit_of_work():
        outbox.retry_message(message_id, actor=current_user, now=utcnow())
    flash("The message will be sent again with the next run of the sender.", "success")
    return redirect(url_for("notify.mail"))


@bp.post("/admin/mail/<int:message_id>/drop")
@requires("mail.manage")
def drop(message_id: int):
    _checked_form()
    with unit_of_work():
        outbox.drop_message(message_id, actor=current_user)
    flash("The message was dropped; it will not be sent.", "success")
    return redirect(url_for("notify.mail"))
