"""Metrics: helpdesk ticket rows in (CSV presets, custom mappings, the JSON API), per-rep daily aggregates."""

from kms.auth.permissions import allowed
from kms.metrics import commands, models  # noqa: F401 - models: the tables exist whenever the app does
from kms.metrics.views import bp
from kms.metrics.views.imports import raise_import_limit
from kms.navigation import NavEntry, add_nav_entry


def sees_metrics_menu(user) -> bool:
    return allowed(user, "metrics.import")


NAV = NavEntry("Metrics", "metrics.import_page", order=35, visible=sees_metrics_menu)


def init_app(app) -> None:
    """Add metrics to the app: the import page and API, the menu entry for leads, `kms metrics ...`."""
    app.register_blueprint(bp)
    app.before_request(raise_import_limit)
    add_nav_entry(app, NAV)
    app.cli.add_command(commands.metrics_group)


__all__ = ["bp", "init_app"]
