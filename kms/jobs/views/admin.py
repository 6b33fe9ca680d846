"""/admin/jobs: the scheduled jobs, how their last run went, who runs them now, and "Run now"."""

from flask import current_app, flash, redirect, render_template, url_for

from kms.auth.permissions import requires
from kms.errors import KmsError, NotFound
from kms.extensions import db, utcnow
from kms.jobs import services
from kms.jobs.forms import RunJobForm
from kms.jobs.registry import jobs_of, lease_name
from kms.jobs.views import bp
from kms.jobs.worker import make_owner


@bp.get("/admin/jobs")
@requires("jobs.view")
def index():
    app = current_app._get_current_object()
    rows = services.leases()
    db.session.rollback()  # a read: end it
    now = utcnow()
    jobs = []
    for _name, job in sorted(jobs_of(app).items()):
        row = rows.get(lease_name(app, job))
        held = row is not None and row.owner and row.leased_until and row.leased_until > now
        jobs.append({"job": job, "row": row, "held_by": row.owner if held else None})
    return render_template("jobs/index.html", jobs=jobs, form=RunJobForm())


@bp.post("/admin/jobs/<name>/run")
@requires("jobs.view")
def run(name: str):
    """Runs the job in this request (not while a worker runs it) and shows how it ended."""
    app = current_app._get_current_object()
    if name not in jobs_of(app):
        raise NotFound(f"There is no job named {name!r}.")
    if not RunJobForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("jobs.index"))
    try:
        outcome = services.run_job_outcome(app, name, owner=make_owner())
    except KmsError as error:
        flash(error.message, "error")
    else:
        flash(outcome.line(), "error" if outcome.error else "success")
    return redirect(url_for("jobs.index"))
