"""Search pages and the JSON search API: the blueprint; its routes come from the module
imported at the bottom."""

from flask import Blueprint

bp = Blueprint("search", __name__)

from kms.search.views import pages  # noqa: E402 - the routes, added to bp on import

__all__ = ["bp", "pages"]
