"""Slack and Microsoft Teams: team channels hearing events, questions answered from chat, and outgoing
webhooks for integrators. On top of notify, search and jobs; nothing imports it."""

from __future__ import annotations

from datetime import timedelta

from kms import jobs
from kms.integrations import worker
from kms.integrations.services.delivery import DISABLED_KIND
from kms.integrations.views import bp
from kms.integrations.views.chat import SIGNED
from kms.notify.kinds import Kind, add_kind
from kms.web import register_signed_endpoints

__all__ = ["bp", "init_app"]

DELIVERY_EVERY = timedelta(seconds=5)
DISABLED = Kind(DISABLED_KIND, "A webhook or team channel was switched off after failing", "inapp")


def init_app(app) -> None:
    """Register the settings pages (linked from Users) and the chat endpoints (signature-checked, so exempt
    from the CSRF check), the notice kind for a switched-off webhook or channel, and the delivery job."""
    app.register_blueprint(bp)
    register_signed_endpoints(app, *SIGNED)
    add_kind(DISABLED)
    jobs.register(
        app,
        worker.JOB_NAME,
        worker.run,
        every=DELIVERY_EVERY,
        description="Posts events to team channels (Slack, Teams) and outgoing webhooks; retries failures.",
        lease=timedelta(minutes=2),
    )
