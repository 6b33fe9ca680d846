"""The main menu, contributed by the features: each adds its entry in its init_app, the base only lists them.

An entry names its page (an endpoint), its place in the menu (`order`, lowest first), who sees it (`visible`,
asked with the logged-in user) and which pages it stands for (`current`, asked with the request's endpoint; by
default every page of the entry's blueprint), so the menu marks where the reader is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from flask_login import current_user

EXTENSION = "kms.navigation"


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


def nav_entries() -> list[NavEntry]:
    """The menu entries the logged-in user may see, in order; none for a visitor who is not logged in."""
    if not current_user.is_authenticated:
        return []
    return [
        entry
        for entry in current_app.extensions.get(EXTENSION, ())
        if entry.endpoint in current_app.view_functions and entry.visible(current_user)
    ]


def init_app(app) -> None:
    """Make the menu available to templates as nav_entries()."""
    app.extensions.setdefault(EXTENSION, [])
    app.add_template_global(nav_entries, "nav_entries")
