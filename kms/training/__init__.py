"""Training: modules, lessons, quizzes, onboarding paths, assignments and shadowing."""
from kms.training.views import bp

__all__ = ["bp"]
