"""Metrics: helpdesk ticket rows in (CSV presets, custom mappings, the JSON API), per-rep daily aggregates."""

from kms.auth.permissions import allowed
from kms.metrics import commands, models, models_coaching  # noqa: F401 - models: the tables exist whenever the app does
from kms.metrics.views import bp
from kms.metrics.views.dashboards import DASHBOARD_ENDPOINTS
from kms.metrics.views.imports import raise_import_limit
from kms.navigation import NavEntry, add_nav_entry


def sees_metrics_menu(user) -> bool:
    return allowed(user, "metrics.import")


NAV = NavEntry(
    "Metrics",
    "metrics.import_page",
    order=35,
    visible=sees_metrics_menu,
    current=lambda endpoint: endpoint.startswith("metrics.") and endpoint not in DASHBOARD_ENDPOINTS,
)
# Everyone has a performance page (their own figures beside the team's); leads land on their team's.
PERFORMANCE = NavEntry(
    "Performance", "metrics.overview", order=34, current=lambda endpoint: endpoint in DASHBOARD_ENDPOINTS
)


def init_app(app) -> None:
    """Add metrics to the app: the import page and API, the menu entry for leads, `kms metrics ...`."""
    app.register_blueprint(bp)
    # First of all: the CSRF check reads the body, and must read it under the import page's larger limit.
    app.before_request_funcs.setdefault(None, []).insert(0, raise_import_limit)
    add_nav_entry(app, NAV)
    add_nav_entry(app, PERFORMANCE)
    app.cli.add_command(commands.metrics_group)


__all__ = ["bp", "init_app"]
