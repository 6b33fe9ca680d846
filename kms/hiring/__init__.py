"""Hiring: the traits rubric, candidates, interviews, independent scorecards and debriefs."""
from kms.hiring.views import bp

__all__ = ["bp"]
