"""Training pages (filled in by the training issue)."""
from flask import Blueprint

bp = Blueprint("training", __name__)
