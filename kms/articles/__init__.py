"""Handbook: process inventory, articles, revisions, verification and documentation coverage."""

from kms import generations
from kms.articles import jobs
from kms.articles.services import article_page_tables
from kms.articles.views import bp
from kms.articles.views.article_page import GENERATION
from kms.articles.views.common import admin_home, author_queue
from kms.auth import add_user_fact
from kms.auth.landing import add_landing_rule
from kms.navigation import NavEntry, add_nav_entry

NAV = NavEntry("Handbook", "articles.index", order=10)


def init_app(app) -> None:
    """Add the handbook to the app: its pages and API, its menu entry, where authors and admins land, and the
    verification-due job; article pages kept until what they show changes."""
    app.register_blueprint(bp)
    add_nav_entry(app, NAV)
    add_landing_rule(app, 20, author_queue)
    add_landing_rule(app, 40, admin_home)
    jobs.init_jobs(app)
    # An article page is kept per generation of the tables it is built from, read with the session's user.
    generations.watch(GENERATION, article_page_tables())
    add_user_fact(app, GENERATION, lambda _users: generations.generation_expression(GENERATION))


__all__ = ["bp", "init_app"]
