"""POST /api/metrics: batches of ticket rows in kms's own field names, with a token or a session."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_login import current_user

from kms.auth.permissions import requires
from kms.errors import KmsError
from kms.extensions import unit_of_work
from kms.metrics import services
from kms.metrics.views import bp


@bp.post("/api/metrics")
@requires("metrics.api")
def api_import():
    """Import {"rows": [...]}: all or nothing; a ticket id sent again is not counted twice (corrected if its
    values changed). 200 with the counts; 400 naming the row and field, or listing the unknown reps."""
    try:
        document = request.get_json(silent=True)
    except RecursionError:
        document = None
    try:
        with unit_of_work():
            report = services.import_api_batch(
                document, actor=current_user, time_zone=current_app.config["KMS_METRICS_TIME_ZONE"]
            )
    except KmsError as error:
        body = {"error": error.message, "status": error.status}
        if getattr(error, "field", None):
            body["field"] = error.field
        if isinstance(error, services.UnknownReps):
            body["unknown"] = error.unknown
        return jsonify(body), error.status
    return jsonify(rows=report.rows, added=report.added, updated=report.updated, unchanged=report.unchanged)
