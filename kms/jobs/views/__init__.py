"""/admin/jobs: the scheduled jobs, how their last run went, who runs them now, and "Run now"."""

from flask import Blueprint, current_app, flash, redirect, render_template, url_for

from kms.auth.permissions import requires
from kms.errors import KmsError, NotFound
from kms.extensions import db, utcnow
from kms.jobs import services
from kms.jobs.registry import jobs_of, lease_name
from kms.jobs.worker import make_owner

bp = Blueprint("jobs", __name__)


@bp.get("/admin/jobs")
@requires("jobs.view")
def index():
    app = current_app._get_current_object()
    rows = services.leases()
    now = utcnow()
    jobs = []
    for _name, job in sorted(jobs_of(app).items()):
        row = rows.get(lease_name(app, job))
        held = row and row.owner and row.leased_until and row.leased_until > now
        jobs.append({"job": job, "row": row, "held_by": row.owner if held else None})
    db.session.rollback()
    return render_template("jobs/index.html", jobs=jobs)


@bp.post("/admin/jobs/<name>/run")
@requires("jobs.view")
def run(name: str):
    """Runs the job in this request (respecting a lease held by a worker) and shows the outcome."""
    app = current_app._get_current_object()
    if name not in jobs_of(app):
        raise NotFound(f"There is no job named {name!r}.")
    try:
        outcome = services.run_job_outcome(app, name, owner=make_owner())
    except KmsError as error:
        flash(error.message, "error")
    else:
        flash(outcome.line(), "error" if outcome.error else "success")
    return redirect(url_for("jobs.index"))


__all__ = ["bp"]
