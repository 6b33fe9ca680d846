"""The article page, the one readers open most: rendered from explicit values only, and kept per those values.

`templates/articles/show.html` (with base.html, the handbook sub-menu and the macros it uses) is rendered in a
strict environment: no app globals, filters or context processors, and a name it is not given is an error. It
sees only what `_given` passes, so those values are the key of a kept copy, and a kept copy is exactly what a
fresh rendering would give. Anything that can change without a new revision (verification, owner, flags, the
reader's permissions and time zone...) is one of those values. Two parts differ on every request and are put
in each time: the CSRF token of the page's forms and the site header (kms.navigation.site_header, which keeps
its own copies).

A second, smaller key skips even the page's statement: the page at the current generation of what article
pages are built from (kms.generations, read with the session's user in the same statement), for this slug and
this kind of reader. While no transaction writing to those tables commits, on any server, the page stays what it
was; its verification label ("Verified 3 days ago") moves with the clock, so such a page is kept until the
label would change.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, get_flashed_messages, request, session
from flask_login import current_user
from jinja2 import StrictUndefined
from jinja2.defaults import DEFAULT_FILTERS, DEFAULT_TESTS
from markupsafe import Markup, escape

from kms.articles.models import ArticleStatus
from kms.articles.services.overview import Person, ProcessRef
from kms.articles.views.common import article_html
from kms.auth.models import Role
from kms.auth.permissions import allowed
from kms.auth.services import user_fact
from kms.extensions import utcnow
from kms.generations import current as current_generation
from kms.generations import written
from kms.navigation import site_header
from kms.sessions import csrf_token
from kms.web import local_time, page_url

TEMPLATE = "articles/show.html"
PAGES = "kms.articles.article_pages"  # app.extensions key: the kept pages by what they show
STRICT_ENV = "kms.articles.strict_env"
PAGES_KEPT = 256
BY_GENERATION = "kms.articles.article_pages_by_generation"  # app.extensions key: (key) -> (pieces, until)
GENERATION = "article_pages"  # the kms.generations counter of what article pages are built from
ASKED = ("handbook.write", "handbook.review", "handbook.categories", "user.manage")
# Unguessable, so no article text or typed comment can contain one.
CSRF_MARK = f"kms-csrf-token-{secrets.token_hex(16)}"
HEADER_MARK = f"kms-site-header-{secrets.token_hex(16)}"
_MARKS = re.compile(f"({CSRF_MARK}|{HEADER_MARK})")


@dataclass(frozen=True, slots=True)
class Answers:
    """can() for the page: the reader's answers to the actions the page asks about (ASKED), nothing else."""

    granted: frozenset[str]

    def __call__(self, action: str) -> bool:
        if action not in ASKED:
            raise KeyError(f"the article page does not ask about {action!r}: add it to ASKED")
        return action in self.granted


@dataclass(frozen=True, slots=True)
class FlagLine:
    """An open flag as the page shows it."""

    id: int
    comment: str
    by: str
    date: str  # in the reader's time zone


@dataclass(frozen=True, slots=True)
class Shown:
    """Everything the article page template is given: the key of a kept copy."""

    title: str
    slug: str
    category: str
    tags: tuple[str, ...]
    language: str
    status: ArticleStatus
    has_pending: bool
    stub: bool
    own_words: int | None
    words_needed: int
    flags: tuple[FlagLine, ...]
    owner: Person | None
    process: ProcessRef | None
    verification_due: bool
    verification_text: str
    verify_interval_days: int
    version: int
    revision_count: int
    body: Markup
    toc: Markup
    # The reader's part
    can: Answers
    may_resolve: bool  # resolve flags: an editor who is an admin or the owner, or nobody owns the article
    flag_comment: str
    flag_error: str | None
    messages: tuple[tuple[str, str], ...]  # flashed (category, message)
    # The links' host, scheme and prefix, and the app's version in the footer
    host: str | None
    scheme: str | None
    prefix: str | None
    kms_version: str


def generation_key(slug: str) -> tuple | None:
    """The key of this reader's page of `slug` at the current generation of article pages: everything of the
    reader the page depends on (role, and who they are where that decides "resolve flag"; time zone; the
    links' host, scheme and prefix). None when the page must be rendered: a flashed message waits to show,
    or this request's own transaction has changed what pages are built from and not committed yet."""
    if "_flashes" in session or written(GENERATION):
        return None
    user = current_user._get_current_object()
    generation = user_fact(user, GENERATION, lambda: current_generation(GENERATION))
    environ = request.environ
    return (
        slug,
        generation,
        user.role,
        user.id if allowed(user, "handbook.write") else None,
        user.time_zone,
        environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
        environ.get("wsgi.url_scheme"),
        environ.get("SCRIPT_NAME"),
    )


def kept_article_page(key: tuple | None) -> str | None:
    """The page kept under generation_key's key, with this request's CSRF token and site header; None when
    none is kept or its verification label has moved on since."""
    if key is None:
        return None
    entry = current_app.extensions.get(BY_GENERATION, {}).get(key)
    if entry is None or (entry[1] is not None and utcnow() >= entry[1]):
        return None
    return _filled(entry[0])


def article_page_html(
    page,
    flag_comment: str = "",
    flag_error: str | None = None,
    key: tuple | None = None,
    now: datetime | None = None,
) -> str:
    """The whole article page for this request's reader, from a kept copy when one was rendered with the same
    values. A page showing what the reader typed or a flashed message is rendered but not kept. With a key
    from generation_key (read before the page's statement), the page is kept under it too, until its
    verification label, worked out at `now`, would change."""
    app = current_app._get_current_object()
    shown = _shown(page, flag_comment, flag_error)
    kept = app.extensions.setdefault(PAGES, {})
    pieces = kept.get(shown)
    keep = not (flag_comment or flag_error or shown.messages)
    if pieces is None:
        html = _strict_env(app).get_template(TEMPLATE).render(_given(shown))
        pieces = tuple(_MARKS.split(html))  # text at even places, marks at odd ones
        if keep:
            _keep(kept, shown, pieces)
    if keep and key is not None:
        _keep(
            app.extensions.setdefault(BY_GENERATION, {}),
            key,
            (pieces, _label_until(page.article.verified_at, now or utcnow())),
        )
    return _filled(pieces)


def _keep(kept: dict, key, value) -> None:
    if len(kept) >= PAGES_KEPT:
        kept.clear()
    kept[key] = value


def _filled(pieces: tuple[str, ...]) -> str:
    fill = {CSRF_MARK: escape(csrf_token()), HEADER_MARK: site_header()}
    out = list(pieces)
    out[1::2] = [fill[mark] for mark in pieces[1::2]]
    return "".join(out)


def _label_until(verified_at: datetime | None, now: datetime) -> datetime | None:
    """When a verification label worked out at `now` next changes: it counts whole days since verified_at, and
    the article falls due a whole number of days after it (None: never verified, the label never moves)."""
    if verified_at is None:
        return None
    days = max(0, (now - verified_at).days)
    return verified_at + timedelta(days=days + 1)


def _shown(page, flag_comment: str, flag_error: str | None) -> Shown:
    user = current_user._get_current_object()
    article, environ = page.article, request.environ
    granted = frozenset(action for action in ASKED if allowed(user, action))
    body, toc = article_html(page)
    return Shown(
        title=page.title,
        slug=article.slug,
        category=article.category,
        tags=tuple(article.tags),
        language=article.language,
        status=article.status,
        has_pending=page.has_pending,
        stub=page.stub,
        own_words=page.own_words,
        words_needed=page.words_needed,
        flags=tuple(
            FlagLine(
                flag.id,
                flag.comment,
                flag.user.name if flag.user else "someone",
                local_time(flag.created_at, "%Y-%m-%d"),
            )
            for flag in page.flags
        ),
        owner=article.owner,
        process=article.process,
        verification_due=page.verification_due,
        verification_text=page.verification_text,
        verify_interval_days=article.verify_interval_days,
        version=article.version,
        revision_count=page.revision_count,
        body=Markup(body),
        toc=Markup(toc),
        can=Answers(granted),
        may_resolve="handbook.write" in granted
        and (user.role == Role.ADMIN or article.owner_id == user.id or not article.owner_id),
        flag_comment=flag_comment,
        flag_error=flag_error,
        messages=tuple(get_flashed_messages(with_categories=True)),
        host=environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
        scheme=environ.get("wsgi.url_scheme"),
        prefix=environ.get("SCRIPT_NAME"),
        kms_version=current_app.config["KMS_VERSION"],
    )


def _given(shown: Shown) -> dict:
    """The template's names: the shown values, and the functions base.html and the macros call, each answering
    from those values only (links by host, scheme and prefix; the CSRF token and site header as marks)."""
    messages = shown.messages

    def flashed(with_categories: bool = False) -> list:
        return list(messages) if with_categories else [message for _category, message in messages]

    return {
        "page": shown,
        "can": shown.can,
        "nav_endpoint": "articles.show",
        "url_for": page_url,
        "csrf_token": lambda: CSRF_MARK,
        "site_header": lambda: HEADER_MARK,
        "get_flashed_messages": flashed,
        "config": {"KMS_VERSION": shown.kms_version},
    }


def _strict_env(app):
    """The app's Jinja environment (loader, autoescaping) without its globals, filters or tolerance of unknown
    names: a template rendered here can show only what it is given."""
    env = app.extensions.get(STRICT_ENV)
    if env is None:
        env = app.jinja_env.overlay(undefined=StrictUndefined, cache_size=20)
        env.globals = {}
        env.filters = dict(DEFAULT_FILTERS)
        env.tests = dict(DEFAULT_TESTS)
        app.extensions[STRICT_ENV] = env
    return env
