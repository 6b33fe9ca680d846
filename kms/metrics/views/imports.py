"""The CSV import page."""

from __future__ import annotations

from flask import current_app, render_template, request

from kms.auth.permissions import requires
from kms.metrics.views import bp

IMPORT_ENDPOINTS = frozenset({"metrics.import_page"})


def raise_import_limit() -> None:
    """The import page takes bodies up to KMS_METRICS_MAX_MB (other routes keep KMS_MAX_REQUEST_KB)."""
    if request.endpoint in IMPORT_ENDPOINTS:
        request.max_content_length = int(current_app.config["KMS_METRICS_MAX_MB"]) * 1024 * 1024 + 64 * 1024


@bp.route("/metrics/import", methods=["GET", "POST"])
@requires("metrics.import")
def import_page():
    return render_template("metrics/import.html")
