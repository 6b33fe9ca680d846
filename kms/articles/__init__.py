"""Handbook: process inventory, articles, revisions, verification and documentation coverage."""
from kms.articles.views import bp

__all__ = ["bp"]
