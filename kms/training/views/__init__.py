"""Training pages and JSON API: the blueprint, and at the bottom the route modules (grouped by topic) that add
its routes."""

from flask import Blueprint

# Pages live under /training; the JSON API under /api/ (where personal tokens are accepted), so routes spell
# out their full path instead of using a url_prefix.
bp = Blueprint("training", __name__)

# The routes, added to bp on import.
from kms.training.views import api, learning, manage, shadowing  # noqa: E402

__all__ = ["api", "bp", "learning", "manage", "shadowing"]
