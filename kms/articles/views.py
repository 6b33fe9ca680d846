"""Handbook pages (filled in by the handbook issue)."""
from flask import Blueprint

from kms.articles import models  # noqa: F401 - registers the tables with the metadata

bp = Blueprint("articles", __name__)
