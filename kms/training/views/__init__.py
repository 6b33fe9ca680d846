"""Training pages and JSON API; the routes are grouped by topic, all on one blueprint `bp`."""
from kms.training.views import api, learning, manage, shadowing  # noqa: F401 - importing registers the routes
from kms.training.views._blueprint import bp

__all__ = ["bp"]
