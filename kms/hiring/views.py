"""Hiring pages (filled in by the hiring issue)."""
from flask import Blueprint

bp = Blueprint("hiring", __name__)
