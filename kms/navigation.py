"""The main menu, contributed by the features: each adds its entry in its init_app, the base only lists them.

An entry names its page (an endpoint), its place in the menu (`order`, lowest first), who sees it (`visible`,
asked with the logged-in user) and which pages it stands for (`current`, asked with the request's endpoint; by
default every page of the entry's blueprint), so the menu marks where the reader is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from kms.sessions import csrf_token

EXTENSION = "kms.navigation"
HEADERS = "kms.navigation.headers"  # app.extensions key: rendered headers by what they show
HEADERS_KEPT = 1024
# app.extensions key: per endpoint, the menu entries whose page exists, each marked current or not
MENUS = "kms.navigation.menus"
HEADER_TEMPLATE = "_site_header.html"
CSRF_MARK = "kms-csrf-token-of-this-request"


def _everyone(_user) -> bool:
    return True


@dataclass(frozen=True)
class NavEntry:
    """One link of the main menu."""

    label: str
    endpoint: str
    order: int
    visible: Callable[[object], bool] = _everyone
    current: Callable[[str], bool] | None = field(default=None, compare=False)

    def is_current(self, endpoint: str | None) -> bool:
        """True when the page at `endpoint` belongs to this entry."""
        if not endpoint:
            return False
        if self.current is not None:
            return self.current(endpoint)
        return endpoint.partition(".")[0] == self.endpoint.partition(".")[0]


def add_nav_entry(app, entry: NavEntry) -> None:
    """Put a feature's entry in the app's main menu."""
    entries = app.extensions.setdefault(EXTENSION, [])
    entries.append(entry)
    entries.sort(key=lambda item: item.order)
    app.extensions.pop(MENUS, None)


def nav_entries() -> list[NavEntry]:
    """The menu entries the logged-in user may see, in order; none for a visitor who is not logged in."""
    if not current_user.is_authenticated:
        return []
    return [
        entry
        for entry in current_app.extensions.get(EXTENSION, ())
        if entry.endpoint in current_app.view_functions and entry.visible(current_user)
    ]


def site_header() -> Markup:
    """The logged-in part of the page header: menu, search box, notification bell, name and log-out form.

    Every page shows it and it changes only with what is computed here (the entries this user sees and which is
    current, the bell's count, the name, the search query on search pages, the links' host and prefix): those
    values are the key of a kept copy and the only values the template gets, so a kept copy is exactly what a
    fresh rendering would give. The log-out form's CSRF token is this request's, put in on every call."""
    if not current_user.is_authenticated:
        return Markup("")
    app = current_app._get_current_object()
    user = current_user._get_current_object()
    views, endpoint, environ = app.view_functions, request.endpoint, request.environ
    menu = _menu_for(app, endpoint)
    entries = tuple(line for entry, line in menu if entry.visible(user))
    search = "search.results" in views
    query = request.args.get("q", "") if search and request.blueprint == "search" else ""
    unread = app.jinja_env.globals.get("unread_notifications")  # the bell, when notify is installed
    bell = (unread(), endpoint == "notify.index") if unread and "notify.index" in views else None
    key = (
        environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
        environ.get("wsgi.url_scheme"),
        environ.get("SCRIPT_NAME"),
        entries,
        search,
        query,
        bell,
        user.name,
    )
    kept = app.extensions.setdefault(HEADERS, {})
    parts = kept.get(key)
    if parts is None:
        parts = _render_header(entries, search, query, bell, user.name)
        # A search page's header echoes the query: not kept, so typed text never fills the process's memory.
        if not query:
            if len(kept) >= HEADERS_KEPT:
                kept.clear()
            kept[key] = parts
    before, after = parts
    return Markup(f"{before}{escape(csrf_token())}{after}")


def _menu_for(app, endpoint: str | None) -> tuple:
    """(entry, (label, endpoint, is current)) for each menu entry whose page exists, on a page at `endpoint`:
    the same for every request to that page, so worked out once per endpoint (who sees each is asked per
    request)."""
    menus = app.extensions.setdefault(MENUS, {})
    menu = menus.get(endpoint)
    if menu is None:
        views = app.view_functions
        menu = tuple(
            (entry, (entry.label, entry.endpoint, entry.is_current(endpoint)))
            for entry in app.extensions.get(EXTENSION, ())
            if entry.endpoint in views
        )
        menus[endpoint] = menu
    return menu


def _render_header(entries, search: bool, query: str, bell, name: str) -> tuple[str, str]:
    html = render_template(
        HEADER_TEMPLATE,
        entries=[(label, url_for(endpoint), current) for label, endpoint, current in entries],
        search=url_for("search.results") if search else None,
        suggest=url_for("search.suggest") if "search.suggest" in current_app.view_functions else None,
        query=query,
        bell=(bell[0], url_for("notify.index"), bell[1]) if bell else None,
        name=name,
        account=url_for("auth.account"),
        logout=url_for("auth.logout"),
        csrf=CSRF_MARK,
    )
    before, after = html.split(CSRF_MARK)
    return before, after


def init_app(app) -> None:
    """Make the menu available to templates as nav_entries(), and the logged-in header as site_header()."""
    app.extensions.setdefault(EXTENSION, [])
    app.add_template_global(nav_entries, "nav_entries")
    app.add_template_global(site_header, "site_header")
