"""Helpers the handbook's route modules share: landing rules, the coverage target, owner choices."""

from flask import current_app, url_for

from kms.articles import services
from kms.auth.models import Role
from kms.extensions import unit_of_work
from kms.forms import field_error  # one helper for every feature; the route modules import it from here

__all__ = ["admin_home", "article_html", "author_queue", "coverage_target", "field_error", "owner_choices"]


def author_queue(user) -> str | None:
    """Authors land on the processes they own: their documentation queue."""
    return url_for("articles.processes", owner=user.id) if user.role == Role.AUTHOR else None


def admin_home(user) -> str | None:
    """Admins land on the handbook home with the coverage bar."""
    return url_for("articles.index") if user.role == Role.ADMIN else None


def coverage_target() -> int:
    return int(current_app.config.get("KMS_COVERAGE_TARGET", 80))


def owner_choices(owners, blank: str = "— nobody yet —") -> list[tuple]:
    """Select options for an owner; a deactivated one (only ever the current owner) is marked as such."""
    return [("", blank)] + [
        (user.id, user.name if user.active else f"{user.name} (not active)") for user in owners
    ]


def article_html(page) -> tuple[str, str]:
    """An article page's text as HTML: stored with its revision; rendered (and stored) when the renderer
    changed since, or when the text is no revision's."""
    stored = services.stored_article_html(page)
    if stored is not None:
        return stored
    with unit_of_work():
        return services.render_article_html(page)
