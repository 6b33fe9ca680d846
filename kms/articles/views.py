"""Articles pages (filled in by the articles issue)."""
from flask import Blueprint

bp = Blueprint("articles", __name__)
