"""An article's text as the page shows it: Markdown rendered once per revision, kept in process memory.

The page is the one readers open most; rendering (Python-Markdown, then the sanitizer) costs more than the
rest of a view. A revision's text never changes, so its HTML is kept by revision id (a draft's by article id
and version, which every save bumps) and by the renderer's version, so that a changed renderer never serves
HTML it would no longer produce. Least recently shown pages leave first; nothing needs a migration.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from kms import markdown
from kms.articles.models import ArticleStatus
from kms.extensions import db

# Bump when kms.markdown renders the same text differently (extensions, allowlist, players).
RENDERER_VERSION = 1
PAGES_KEPT = 512

_pages: OrderedDict[tuple, tuple[str, str]] = OrderedDict()
_lock = threading.Lock()


def html_key(page) -> tuple:
    """What identifies the text an ArticlePage shows: its published revision, else the article's version (and
    the database, since ids only mean something within one)."""
    article = page.article
    if article.status == ArticleStatus.PUBLISHED and article.published_revision_id is not None:
        return (db.engine.url, "revision", article.published_revision_id, RENDERER_VERSION)
    return (db.engine.url, "article", article.id, article.version, RENDERER_VERSION)


def article_html(page) -> tuple[str, str]:
    """(sanitized body HTML, table of contents HTML) of the text an ArticlePage shows, rendered once."""
    key = html_key(page)
    with _lock:
        cached = _pages.get(key)
        if cached is not None:
            _pages.move_to_end(key)
            return cached
    rendered = markdown.render_with_toc(page.body)
    with _lock:
        _pages[key] = rendered
        while len(_pages) > PAGES_KEPT:
            _pages.popitem(last=False)
    return rendered


def forget_rendered_pages() -> None:
    """Drop every kept page (tests, or after changing the renderer without restarting)."""
    with _lock:
        _pages.clear()
