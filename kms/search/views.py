"""Search pages and the JSON search API (filled in by the search issue)."""
from flask import Blueprint

bp = Blueprint("search", __name__)
