"""Media: uploaded images and files, stored once by content hash, served with the permission of their owner."""

from __future__ import annotations

from kms.media import hooks
from kms.media.jobs import init_jobs
from kms.media.storage import from_settings
from kms.media.views import bp
from kms.media.views.files import attachments_panel, raise_upload_limit, upload_form_block

__all__ = ["bp", "init_app"]


def init_app(app) -> None:
    """Register the blueprint, the storage KMS_STORAGE_URL names, the session hooks and template helpers."""
    app.register_blueprint(bp)
    hooks.init_app(app, from_settings(app.config, app.config["KMS_INSTANCE_DIR"]))
    # First of the before-request functions: the body limit must be raised before anything reads the form.
    app.before_request_funcs.setdefault(None, []).insert(0, raise_upload_limit)
    app.add_template_global(upload_form_block, "media_upload_form")
    app.add_template_global(attachments_panel, "media_attachments")
    init_jobs(app)
