"""Handbook pages and JSON API: the blueprint and its route modules."""
from kms.articles.views import api, pages, processes  # noqa: F401 - each module adds its routes to bp
from kms.articles.views.blueprint import bp

__all__ = ["bp"]
