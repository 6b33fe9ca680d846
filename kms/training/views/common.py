"""Helpers the training route modules share: landing rules and reading a time the viewer typed."""

from __future__ import annotations

from flask import url_for

from kms.auth.models import Role
from kms.forms import field_error  # one helper for every feature; the route modules import it from here
from kms.training.services import onboarding_in_progress
from kms.web import viewer_to_utc  # likewise: one rule for daylight-saving gaps, in kms.timezones

__all__ = ["field_error", "onboarding_landing", "team_landing", "viewer_to_utc"]


def onboarding_landing(user) -> str | None:
    """Anyone with an onboarding path still to finish lands on My onboarding."""
    return url_for("training.my_onboarding") if onboarding_in_progress(user.id) else None


def team_landing(user) -> str | None:
    """Managers land on their team view."""
    return url_for("training.team") if user.role == Role.MANAGER else None
