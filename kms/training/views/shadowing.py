"""Shadowing pages: sessions, hosts and availability, the planner, notes and feedback, .ics downloads."""

from __future__ import annotations

from datetime import datetime

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kms.auth import services as auth_services
from kms.auth.permissions import allowed, requires
from kms.errors import Conflict, Invalid
from kms.extensions import unit_of_work, utcnow
from kms.training import services
from kms.training.forms import (
    FORMATS,
    AvailabilityForm,
    ConfirmForm,
    HostForm,
    NotesForm,
    PlanForm,
    SessionForm,
    parse_windows,
)
from kms.training.services._common import zone
from kms.training.services.shadowing import describe_windows
from kms.training.views import bp
from kms.training.views.common import field_error, viewer_to_utc
from kms.web import counted, form_int, id_arg


@bp.get("/training/shadowing")
@requires("training.learn")
def shadowing():
    lead = allowed(current_user, "training.manage")
    return render_template(
        "training/shadowing.html",
        lead=lead,
        now=utcnow(),
        mine=services.sessions_for(current_user.id, actor=current_user),
        team=services.team_sessions(actor=current_user, since=utcnow()) if lead else [],
    )


def _host_form(form: HostForm) -> HostForm:
    form.user_id.choices = [
        (u.id, f"{u.name} ({u.team or 'no team'}, {u.time_zone})")
        for u in auth_services.list_users()
        if u.active
    ]
    return form


@bp.route("/training/shadowing/hosts", methods=["GET", "POST"])
@requires("training.manage")
def hosts():
    form = _host_form(HostForm())
    status = 200
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.set_host(form.user_id.data, note=form.note.data, actor=current_user)
                services.set_availability(
                    form.user_id.data, parse_windows(form.windows.data), actor=current_user
                )
        except Invalid as error:
            field_error(form, error)
            status = 400
        else:
            flash("Host saved.", "success")
            return redirect(url_for("training.hosts"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "training/hosts.html",
        form=form,
        hosts=services.list_hosts(include_inactive=True),
        describe=describe_windows,
    ), status


@bp.route("/training/shadowing/hosts/<int:user_id>", methods=["GET", "POST"])
@requires("training.manage")
def host(user_id: int):
    found = {h.user_id: h for h in services.list_hosts(include_inactive=True)}.get(user_id)
    if found is None:
        abort(404)
    form = AvailabilityForm(obj=found if request.method == "GET" else None)
    if request.method == "GET":
        form.windows.data = "\n".join(
            f"{['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][w.weekday]} "
            f"{w.start_time:%H:%M}-{w.end_time:%H:%M}"
            for w in found.windows
        )
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.set_host(
                    user_id,
                    active=form.active.data,
                    note=form.note.data,
                    windows=parse_windows(form.windows.data),
                    actor=current_user,
                )
        except Invalid as error:
            field_error(form, error)
        else:
            flash("Availability saved.", "success")
            return redirect(url_for("training.hosts"))
    return render_template(
        "training/host.html", host=found, form=form
    ), 400 if request.method == "POST" else 200


def _session_form(form: SessionForm) -> SessionForm:
    form.trainee_id.choices = [(u.id, u.name) for u in services.managed_people(actor=current_user)]
    form.host_id.choices = [
        (h.user_id, f"{h.user.name} — {describe_windows(h)}") for h in services.list_hosts()
    ]
    return form


def _session_fields(form) -> dict:
    """A session form's values as schedule_session and update_session take them (times turned to UTC; Invalid
    names the time field a viewer's clock cannot have)."""
    return dict(
        starts_at=viewer_to_utc(form.starts_at.data, "starts_at"),
        ends_at=viewer_to_utc(form.ends_at.data, "ends_at"),
        host_id=form.host_id.data,
        focus=form.focus.data,
        format=form.format.data,
        meeting_url=form.meeting_url.data,
    )


@bp.route("/training/shadowing/new", methods=["GET", "POST"])
@requires("training.manage")
def new_session():
    form = _session_form(SessionForm(trainee_id=id_arg("trainee_id")))
    if form.validate_on_submit():
        try:
            fields = _session_fields(form)
            with unit_of_work():
                session = services.schedule_session(
                    trainee_id=form.trainee_id.data, **fields, actor=current_user
                )
        except (Invalid, Conflict) as error:
            field_error(form, error)
        else:
            flash("Session scheduled.", "success")
            return redirect(url_for("training.session", session_id=session.id))
    return render_template("training/session_new.html", form=form), 400 if request.method == "POST" else 200


@bp.get("/training/shadowing/<int:session_id>")
@requires("training.learn")
def session(session_id: int):
    found = services.get_session(session_id, actor=current_user)
    return _render_session(found)


def _render_session(found, edit_form=None, notes_form=None, status: int = 200):
    lead = allowed(current_user, "training.manage")
    if lead and edit_form is None:
        edit_form = _session_form(
            SessionForm(
                formdata=None,
                trainee_id=found.trainee_id,
                host_id=found.host_id,
                focus=found.focus,
                format=found.format.value,
                meeting_url=found.meeting_url,
            )
        )
        edit_form.starts_at.data = _local(found.starts_at)
        edit_form.ends_at.data = _local(found.ends_at)
    if notes_form is None:
        mine = found.trainee_notes if current_user.id == found.trainee_id else found.host_feedback
        notes_form = NotesForm(formdata=None, notes=mine)
    return render_template(
        "training/session.html",
        session=found,
        edit_form=edit_form,
        notes_form=notes_form,
        confirm=ConfirmForm(),
        lead=lead,
        formats=dict(FORMATS),
    ), status


def _local(moment: datetime) -> datetime:
    return moment.astimezone(zone(current_user.time_zone)).replace(tzinfo=None)


@bp.post("/training/shadowing/<int:session_id>/edit")
@requires("training.manage")
def edit_session(session_id: int):
    found = services.get_session(session_id, actor=current_user)
    form = _session_form(SessionForm())
    if found.trainee_id not in {value for value, _ in form.trainee_id.choices}:
        form.trainee_id.choices.append((found.trainee_id, found.trainee.name))
    if form.validate_on_submit():
        try:
            fields = _session_fields(form)
            with unit_of_work():
                services.update_session(found.id, **fields, actor=current_user)
        except (Invalid, Conflict) as error:
            field_error(form, error)
        else:
            flash("Session changed; calendars get the new time.", "success")
            return redirect(url_for("training.session", session_id=found.id))
    return _render_session(found, edit_form=form, status=400)


@bp.post("/training/shadowing/<int:session_id>/status")
@requires("training.learn")
def session_status(session_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        found = services.set_session_status(session_id, request.form.get("status", ""), actor=current_user)
    flash(f"Session {found.status.value}.", "success")
    return redirect(url_for("training.session", session_id=found.id))


@bp.post("/training/shadowing/<int:session_id>/notes")
@requires("training.learn")
def session_notes(session_id: int):
    form = NotesForm()
    found = services.get_session(session_id, actor=current_user)
    if form.validate_on_submit():
        try:
            with unit_of_work():
                services.save_session_notes(found.id, form.notes.data or "", actor=current_user)
        except Invalid as error:
            field_error(form, error)
        else:
            flash("Notes saved.", "success")
            return redirect(url_for("training.session", session_id=found.id))
    return _render_session(found, notes_form=form, status=400)


@bp.get("/training/shadowing/<int:session_id>.ics")
@requires("training.learn")
def session_ics(session_id: int):
    return Response(
        services.session_ics(session_id, actor=current_user),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'attachment; filename="shadowing-{session_id}.ics"'},
    )


@bp.route("/training/shadowing/plan/<int:user_id>", methods=["GET", "POST"])
@requires("training.manage")
def plan(user_id: int):
    onboarding = services.my_onboarding(user_id, actor=current_user)
    trainee = onboarding.user
    path = next((p for p in onboarding.paths if p.shadow_days), None)
    form = PlanForm(
        formdata=None,
        days=path.shadow_days if path else 2,
        sessions_per_day=path.shadow_sessions_per_day if path else 4,
        minutes=path.shadow_minutes if path else 90,
    )
    outcome, status = None, 200
    if request.method == "POST" and request.form.get("action") == "confirm":
        return _confirm_plan(trainee, form)
    if request.method == "POST":
        form = PlanForm()
        if form.validate_on_submit():
            try:
                outcome = services.propose_plan(
                    user_id,
                    days=form.days.data,
                    sessions_per_day=form.sessions_per_day.data,
                    minutes=form.minutes.data,
                    first_day=form.first_day.data,
                    window_days=form.window_days.data or 21,
                    actor=current_user,
                )
            except Invalid as error:
                field_error(form, error)
                status = 400
        else:
            status = 400
    return _render_plan(trainee, form, outcome, status)


def _render_plan(trainee, form, outcome, status=200, rows=None):
    hosts = services.list_hosts()
    if rows is None and outcome is not None:
        rows = [
            {
                "keep": True,
                "host_id": p.host_id,
                "starts_at": _local(p.starts_at),
                "ends_at": _local(p.ends_at),
                "format": FORMATS[i % len(FORMATS)][0],
                "focus": "",
            }
            for i, p in enumerate(outcome.proposals)
        ]
    return render_template(
        "training/plan.html",
        trainee=trainee,
        form=form,
        rows=rows,
        hosts=hosts,
        outcome=outcome,
        formats=FORMATS,
        confirm=ConfirmForm(),
    ), status


def _confirm_plan(trainee, form):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    rows, planned = [], []
    count = form_int("count", "count (the number of proposed sessions)", high=80)
    for i in range(count):
        row = {
            "keep": request.form.get(f"keep-{i}") == "y",
            "host_id": form_int(f"host-{i}", f"Session {i + 1}: host-{i} (the host)", required=False),
            "format": request.form.get(f"format-{i}", ""),
            "focus": request.form.get(f"focus-{i}", ""),
        }
        try:
            row["starts_at"] = datetime.strptime(request.form.get(f"start-{i}", ""), "%Y-%m-%dT%H:%M")
            row["ends_at"] = datetime.strptime(request.form.get(f"end-{i}", ""), "%Y-%m-%dT%H:%M")
        except ValueError:
            abort(400, description=f"Session {i + 1}: enter start and end as date and time.")
        rows.append(row)
    try:
        for row in rows:
            if row["keep"]:
                planned.append(
                    services.PlannedSession(
                        host_id=row["host_id"] or 0,
                        starts_at=viewer_to_utc(row["starts_at"], "starts_at"),
                        ends_at=viewer_to_utc(row["ends_at"], "ends_at"),
                        format=row["format"],
                        focus=row["focus"],
                    )
                )
        with unit_of_work():
            booked = services.confirm_plan(trainee.id, planned, actor=current_user)
    except (Invalid, Conflict) as error:
        flash(error.message, "error")
        return _render_plan(trainee, form, None, 400 if isinstance(error, Invalid) else 409, rows=rows)
    flash(f"Booked {counted(len(booked), 'shadowing session')} for {trainee.name}.", "success")
    return redirect(url_for("training.person", user_id=trainee.id))
