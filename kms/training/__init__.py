"""Training: modules, lessons, quizzes, onboarding paths, assignments and shadowing."""

from kms.articles.services.notices import on_publish
from kms.auth.landing import add_landing_rule
from kms.navigation import NavEntry, add_nav_entry
from kms.training import jobs
from kms.training.services import notices
from kms.training.views import bp
from kms.training.views.common import onboarding_landing, team_landing

NAV = NavEntry("Training", "training.index", order=20)


def init_app(app) -> None:
    """Add training to the app: its pages and API, its menu entry, where new hires and managers land, its
    reminder jobs, and the notice to learners when an article they studied gets a new published revision."""
    app.register_blueprint(bp)
    add_nav_entry(app, NAV)
    add_landing_rule(app, 10, onboarding_landing)
    add_landing_rule(app, 30, team_landing)
    jobs.init_jobs(app)
    on_publish(notices.article_changed)


__all__ = ["bp", "init_app"]
