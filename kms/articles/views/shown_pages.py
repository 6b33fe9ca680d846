"""Article pages as sent, kept per reader and page state, so a reader who opens a page again costs the session,
the permission check and the page's query, not a template render.

A kept page never holds a CSRF token: the token of the request that rendered it is swapped for a marker, and
each request puts its own token back. The key (see pages._shown_page_key) holds everything the page shows, so
an edit, approval, flag, verification, rename or a change of the reader's role or name makes a new entry.
"""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable

from flask_wtf.csrf import generate_csrf

PAGES_KEPT = 256


class ShownPages:
    """A bounded, least-recently-used store of rendered pages with their CSRF tokens taken out."""

    def __init__(self, size: int = PAGES_KEPT):
        self.size = size
        self._pages: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        self._marker = f"\x00csrf-{secrets.token_hex(8)}\x00"

    def get(self, key: tuple, render: Callable[[], str]) -> str:
        """The page for ``key`` with this request's CSRF token, rendered by ``render`` when not kept."""
        token = generate_csrf()
        with self._lock:
            kept = self._pages.get(key)
            if kept is not None:
                self._pages.move_to_end(key)
        if kept is not None:
            return kept.replace(self._marker, token)
        html = render()
        with self._lock:
            self._pages[key] = html.replace(token, self._marker)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return html

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()


shown_pages = ShownPages()
