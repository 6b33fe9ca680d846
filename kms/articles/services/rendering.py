"""An article page's text as HTML: the HTML stored with the revision shown (kms.articles.rendering), read in the
page's one statement; rendered and stored once more when the renderer's version changed since.

A revision's text never changes, so its HTML is valid until the renderer changes; there is no other copy to keep
in step (no per-process page cache).
"""

from __future__ import annotations

from sqlalchemy import or_, update

from kms import markdown
from kms.articles.models import Revision
from kms.articles.rendering import RENDERER_VERSION, render_body
from kms.extensions import db


def stored_article_html(page) -> tuple[str, str] | None:
    """(body HTML, table of contents HTML) stored with the revision an ArticlePage shows, or None when there is
    none for this renderer (then call render_article_html inside a unit of work)."""
    if page.html is not None and page.html_version == RENDERER_VERSION:
        return page.html, page.toc or ""
    return None


def render_article_html(page) -> tuple[str, str]:
    """Render the page's text now and store the HTML with its revision (when the text is a revision's and
    was formatted in time), so the next view reads it. Flushes; the caller commits."""
    html, toc = render_body(page.body)
    if page.revision_id is not None and not markdown.shown_as_typed(html):
        db.session.execute(
            update(Revision)
            .where(
                Revision.id == page.revision_id,
                or_(Revision.rendered_version.is_(None), Revision.rendered_version != RENDERER_VERSION),
            )
            .values(rendered_html=html, rendered_toc=toc, rendered_version=RENDERER_VERSION)
            .execution_options(synchronize_session=False)
        )
    return html, toc
