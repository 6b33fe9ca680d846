"""Account pages: first-run setup, login/logout, invites, profile and API tokens, user admin, /api/me."""

from __future__ import annotations

import re

from flask import abort, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_login import confirm_login, current_user, login_fresh, login_user, logout_user

from kms.auth import resets, services
from kms.auth.forms import (
    ChangePasswordForm,
    ConfirmForm,
    EditUserForm,
    ForgotPasswordForm,
    LoginForm,
    NewUserForm,
    ProfileForm,
    ReauthenticateForm,
    SetPasswordForm,
    SetupForm,
    TokenForm,
)
from kms.auth.gates import password_refusal
from kms.auth.landing import landing_url
from kms.auth.mailer import send_account_link
from kms.auth.permissions import requires
from kms.auth.redirects import safe_next
from kms.auth.views import bp
from kms.errors import Invalid, NotFound, TooManyAttempts
from kms.extensions import db, limiter, login_manager, unit_of_work, utcnow
from kms.forms import field_error as _field_error  # one helper for every feature, by the name used below


@bp.get("/")
@requires("site.home")
def home():
    """Land each person where their work is (rules the features registered), else the handbook."""
    url = landing_url(current_app, current_user)
    if url:
        return redirect(url)
    target = "articles.index" if "articles.index" in current_app.view_functions else "auth.account"
    return redirect(url_for(target))


@bp.get("/healthz")
@requires("public")
def healthz():
    from sqlalchemy import text

    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - report, never raise, from a health check
        current_app.logger.exception("health check: database unreachable")
        database = "unreachable"
    status = 200 if database == "ok" else 503
    return jsonify(
        status="ok" if status == 200 else "degraded",
        version=current_app.config["KMS_VERSION"],
        database=database,
    ), status


@bp.route("/setup", methods=["GET", "POST"])
@requires("public")
def setup():
    if services.user_count():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                user = services.create_first_admin(
                    form.email.data, form.name.data, form.password.data, form.time_zone.data.strip()
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            session.clear()
            login_user(user)
            flash("Welcome to kms. Next: invite your team from Users.", "success")
            return redirect(url_for("auth.users"))
    return render_template("auth/setup.html", form=form)


DEVICE_COOKIE = "kms_device"
DEVICE_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _device_token() -> str:
    """This browser's device cookie, or a new one (set on a successful login by _remember_device)."""
    token = request.cookies.get(DEVICE_COOKIE, "")
    return token if DEVICE_TOKEN.match(token) else services.new_device_token()


def _authenticate(email: str, password: str):
    """services.authenticate with the configured throttling (shared by every worker) and this client."""
    g.device_token = _device_token()
    policy = services.LoginPolicy(
        free_failures=int(current_app.config["KMS_LOGIN_MAX_FAILURES"]),
        longest_wait_minutes=int(current_app.config["KMS_LOGIN_LOCK_MINUTES"]),
    )
    with (
        unit_of_work()
    ):  # a refused attempt is counted and kept: the unit commits, then the refusal is raised
        try:
            return services.authenticate(
                email, password, address=request.remote_addr or "", device=g.device_token, policy=policy
            )
        except (Invalid, TooManyAttempts) as error:
            refused = error
    raise refused


def _remember_device(response):
    """The device cookie: a browser that logged in before is not held back by failures from elsewhere."""
    response.set_cookie(
        DEVICE_COOKIE,
        g.device_token,
        max_age=365 * 86400,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def _locked_out(error: TooManyAttempts, template: str, form):
    """429 with Retry-After, the form shown again with the reason."""
    flash(error.message, "error")
    response = current_app.make_response((render_template(template, form=form), 429))
    response.headers["Retry-After"] = str(error.retry_after)
    return response


@bp.route("/login", methods=["GET", "POST"])
@requires("public")
@limiter.limit(lambda: current_app.config["KMS_LOGIN_RATE"], methods=["POST"])
def login():
    if not services.user_count():
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("auth.home")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = _authenticate(form.email.data, form.password.data)
        except TooManyAttempts as error:
            return _locked_out(error, "auth/login.html", form)
        except Invalid as error:
            flash(error.message, "error")
            status = 401
        else:
            refusal = password_refusal(current_app, user)
            if refusal:  # asked only after a correct password, so it tells nothing about other accounts
                flash(refusal, "error")
                return render_template("auth/login.html", form=form), 403
            session.clear()  # a fresh session on login; nothing from before carries over
            session.permanent = True  # expires after KMS_SESSION_HOURS without activity
            login_user(user, remember=form.remember.data)
            return _remember_device(redirect(safe_next(request.args.get("next"), url_for("auth.home"))))
    return render_template("auth/login.html", form=form), status


@bp.route("/reauthenticate", methods=["GET", "POST"])
@requires("account.self")
@limiter.limit(lambda: current_app.config["KMS_LOGIN_RATE"], methods=["POST"])
def reauthenticate():
    """Confirm the password of a session restored from a remember-me cookie, then go on to `next`."""
    target = safe_next(request.args.get("next"), url_for("auth.home"))
    form = ReauthenticateForm()
    status = 200
    refusal = password_refusal(current_app, current_user)
    if refusal and request.method == "POST":
        flash(refusal, "error")
        return render_template("auth/reauthenticate.html", form=form), 403
    if form.validate_on_submit():
        try:
            _authenticate(current_user.email, form.password.data)
        except TooManyAttempts as error:
            return _locked_out(error, "auth/reauthenticate.html", form)
        except Invalid:
            form.password.errors = ["That is not your password."]
            status = 401
        else:
            confirm_login()
            return _remember_device(redirect(target))
    return render_template("auth/reauthenticate.html", form=form), status


@bp.post("/logout")
@requires("account.self")
def logout():
    with unit_of_work():
        services.end_all_sessions(current_user)
    logout_user()
    flash("You are logged out on every device.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@requires("public")
def accept_invite(token: str):
    try:
        invited = services.user_for_invite(token)
    except NotFound as error:  # expired, used or unknown: a friendly page
        return render_template("auth/invite_invalid.html", message=str(error)), 404
    form = SetPasswordForm()
    if password_refusal(current_app, invited) and request.method == "POST":
        abort(403)  # the page says to sign in with the provider; no password can be set
    if form.validate_on_submit():
        try:
            with unit_of_work():
                user = services.accept_invite(token, form.password.data)
        except Invalid as error:
            _field_error(form, error)
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            login_user(user)
            flash(f"Welcome, {user.name}. Your password is set.", "success")
            return redirect(url_for("auth.home"))
    return render_template("auth/invite_accept.html", form=form, invited=invited)


FORGOT_ANSWER = (
    "If {email} belongs to a kms account, an e-mail with a link to choose a new password is on its way. "
    "The link works once and expires in {minutes} minutes. Nothing arrived? Check the spam folder, or ask an admin."
)


@bp.route("/password/forgot", methods=["GET", "POST"])
@requires("public")
@limiter.limit(lambda: current_app.config["KMS_LOGIN_RATE"], methods=["POST"])
def forgot_password():
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        minutes = int(current_app.config["KMS_RESET_MINUTES"])
        try:
            with unit_of_work():
                asked = resets.request_reset(
                    form.email.data,
                    address=request.remote_addr or "",
                    now=utcnow(),
                    minutes=minutes,
                    per_hour=int(current_app.config["KMS_RESET_PER_HOUR"]),
                )
                if asked.user is not None and not password_refusal(current_app, asked.user):
                    send_account_link(
                        current_app,
                        asked.user,
                        "reset",
                        "auth.reset_password",
                        {"token": asked.token},
                        expires_at=asked.expires_at,
                        actor=asked.user,
                    )
        except TooManyAttempts as error:
            return _locked_out(error, "auth/forgot_password.html", form)
        flash(FORGOT_ANSWER.format(email=services.normalise_email(form.email.data), minutes=minutes), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@requires("public")
def reset_password(token: str):
    """Choose a new password from a reset link (one-time, expiring, void once the password changed)."""
    try:
        user = resets.user_for_reset(token, now=utcnow())
    except NotFound as error:
        return render_template("auth/invite_invalid.html", message=str(error), forgot=True), 404
    if password_refusal(current_app, user):
        return render_template("auth/invite_invalid.html", message=password_refusal(current_app, user)), 403
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                user = resets.reset_password(token, form.password.data, now=utcnow())
        except Invalid as error:
            _field_error(form, error)
        except NotFound as error:  # used by another tab a moment ago
            return render_template("auth/invite_invalid.html", message=str(error), forgot=True), 404
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash(
                "Your password is changed and every other session has ended. Log in with the new password.",
                "success",
            )
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user)


@bp.route("/account", methods=["GET", "POST"])
@requires("account.self")
def account():
    profile = ProfileForm(prefix="profile", obj=current_user if request.method == "GET" else None)
    password = ChangePasswordForm(prefix="password")
    token_form = TokenForm(prefix="token")
    new_secret = None
    if request.method == "POST":
        action = request.form.get("action")
        if action == "profile" and profile.validate_on_submit():
            try:
                with unit_of_work():
                    services.update_profile(
                        current_user, name=profile.name.data, time_zone=profile.time_zone.data
                    )
            except Invalid as error:
                _field_error(profile, error)
            else:
                flash("Profile saved.", "success")
                return redirect(url_for("auth.account"))
        elif action == "password" and password_refusal(current_app, current_user):
            flash(password_refusal(current_app, current_user), "error")
        elif action == "password" and password.validate_on_submit():
            try:
                with unit_of_work():
                    user = services.change_password(
                        current_user, password.current_password.data, password.password.data
                    )
            except Invalid as error:
                _field_error(password, error)
            else:
                session.clear()
                login_user(user)  # this browser stays logged in; every other session has ended
                flash("Password changed. Other devices have been logged out.", "success")
                return redirect(url_for("auth.account"))
        elif action == "token" and not login_fresh():
            return login_manager.needs_refresh()  # a token opens the API, hiring included: password first
        elif action == "token" and token_form.validate_on_submit():
            try:
                with unit_of_work():
                    _, new_secret = services.create_token(current_user, token_form.name.data)
            except Invalid as error:
                _field_error(token_form, error)
            else:
                token_form = TokenForm(prefix="token", formdata=None)
        elif action not in {"profile", "password", "token"}:
            raise Invalid(
                "The form's action must be profile, password or token; reload the page.", field="action"
            )
    if profile.name.data is None:
        profile.process(obj=current_user)
    return render_template(
        "auth/account.html",
        profile=profile,
        password=password,
        token_form=token_form,
        tokens=services.list_tokens(current_user),
        new_secret=new_secret,
        confirm=ConfirmForm(),
        fresh_login=login_fresh(),
    )


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires("account.self")
def revoke_token(token_id: int):
    with unit_of_work():
        services.revoke_token(token_id, actor=current_user)
    flash("Token revoked. Anything using it stops working now.", "success")
    return redirect(url_for("auth.account"))


@bp.get("/admin/users")
@requires("user.manage")
def users():
    return render_template(
        "auth/users.html", users=services.list_users(), form=NewUserForm(), confirm=ConfirmForm()
    )


@bp.post("/admin/users")
@requires("user.manage")
def create_user():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            with unit_of_work():
                user, token = services.create_user(
                    form.email.data,
                    form.name.data,
                    form.role.data,
                    actor=current_user,
                    team=form.team.data,
                    start_date=form.start_date.data,
                    time_zone=form.time_zone.data.strip(),
                    invite_hours=int(current_app.config["KMS_INVITE_HOURS"]),
                )
                mail_problem = _mail_invite(user, token)
        except Invalid as error:
            _field_error(form, error)
        else:
            return _invite_link_page(user, token, mail_problem)
    return render_template(
        "auth/users.html", users=services.list_users(), form=form, confirm=ConfirmForm()
    ), 400


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@requires("user.manage")
def edit_user(user_id: int):
    user = services.get_user(user_id)
    form = EditUserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.update_user(
                    user.id,
                    actor=current_user,
                    role=form.role.data,
                    team=form.team.data,
                    start_date=form.start_date.data,
                    active=form.active.data,
                )
        except Invalid as error:
            _field_error(form, error)
        else:
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("auth.users"))
    status = 400 if request.method == "POST" else 200  # refused: the form again, as typed
    return render_template("auth/user_edit.html", user=user, form=form, confirm=ConfirmForm()), status


@bp.post("/admin/users/<int:user_id>/invite")
@requires("user.manage")
def reissue_invite(user_id: int):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    user = services.get_user(user_id)
    with unit_of_work():
        token = services.reissue_invite(
            user.id, actor=current_user, hours=int(current_app.config["KMS_INVITE_HOURS"])
        )
        mail_problem = _mail_invite(user, token)
    return _invite_link_page(user, token, mail_problem)


def _mail_invite(user, token: str) -> str | None:
    """Queue the invite e-mail in the current unit of work; None when queued, else why none goes out."""
    return send_account_link(
        current_app,
        user,
        "invite",
        "auth.accept_invite",
        {"token": token},
        expires_at=user.invite_expires_at,
        actor=current_user,
    )


def _invite_link_page(user, token: str, mail_problem: str | None):
    """The link is always shown to the admin too (the e-mail may be slow, filtered, or off)."""
    return render_template(
        "auth/invite_link.html",
        user=user,
        link=url_for("auth.accept_invite", token=token, _external=True),
        hours=current_app.config["KMS_INVITE_HOURS"],
        mail_problem=mail_problem,
    )


@bp.get("/api/me")
@requires("api.me")
def api_me():
    user = current_user
    return jsonify(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role.value,
        team=user.team,
        start_date=user.start_date.isoformat() if user.start_date else None,
        time_zone=user.time_zone,
        active=user.active,
    )
