"""Search pages and the JSON search API: results, type-ahead suggestions, content-gap report."""

from __future__ import annotations

import re

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from kms.auth.permissions import allowed, requires
from kms.errors import Invalid
from kms.extensions import unit_of_work
from kms.search import services
from kms.search.forms import GapDismissForm, GapProcessForm, RebuildForm
from kms.search.indexer import EXTENSION
from kms.search.views import bp
from kms.web import api_int_arg, id_arg, int_arg

PAGELEN = 10
API_MAX_PAGELEN = 50
_MARK_RE = re.compile(r"</?mark>")


def _index():
    return current_app.extensions[EXTENSION]


def _filters() -> dict[str, str]:
    return {name: request.args.get(name, "")[:100] for name in services.FILTERS if request.args.get(name)}


def safe_html(fragment: str) -> Markup:
    """The engine's snippets are escaped text with <mark> around matches; anything else is escaped."""
    if "<" in _MARK_RE.sub("", fragment or ""):
        return escape(_MARK_RE.sub("", fragment))
    return Markup(fragment or "")


def _search_url(query: str, filters: dict[str, str]):
    """A URL maker for the results page: search_url(page=2), search_url(tag="x"), search_url(tag=None)."""

    def make(q: str | None = None, page: int | None = None, **changes: str | None) -> str:
        args = {**filters, **changes}
        return url_for(
            "search.results",
            q=query if q is None else q,
            page=page,
            **{name: value for name, value in args.items() if value},
        )

    return make


def _local_url(path: str) -> str:
    return request.script_root + path


def _secret() -> str | bytes:
    return current_app.secret_key or b""


def _result_url(outcome):
    """Links on the results page: through /search/open (which notes the click) when the search was logged."""

    def make(url: str) -> str:
        if outcome is None or outcome.log_id is None:
            return _local_url(url)
        return url_for("search.open_result", s=outcome.log_id, to=url)

    return make


@bp.get("/search")
@requires("search.query")
def results():
    query = request.args.get("q", "")[: services.MAX_QUERY]
    filters = _filters()
    outcome = None
    if query.strip() or filters:
        with unit_of_work():  # the search is logged
            outcome = services.search(
                _index(),
                query,
                actor=current_user,
                filters=filters,
                page=int_arg("page", 1, low=1, high=1000),
                pagelen=PAGELEN,
                secret=_secret(),
            )
    return render_template(
        "search/results.html",
        query=query,
        filters=filters,
        outcome=outcome,
        type_labels=services.TYPE_LABELS,
        safe_html=safe_html,
        local_url=_local_url,
        result_url=_result_url(outcome),
        search_url=_search_url(query, filters),
    )


@bp.get("/search/open")
@requires("search.query")
def open_result():
    """A result link: note that the search found something worth opening, then go to the page.

    Only paths on this site are followed (never another host), so the link cannot be used to send
    someone elsewhere under this site's name."""
    target = services.local_target(request.args.get("to"))
    with unit_of_work():
        services.record_open(id_arg("s"), actor=current_user, secret=_secret())
    return redirect(_local_url(target), code=303)


@bp.get("/search/suggest")
@requires("search.query")
def suggest():
    try:
        items = services.suggest(_index(), request.args.get("q", ""), actor=current_user)
    except services.SearchUnavailable as error:
        return jsonify(suggestions=[], error=error.message), 503
    return jsonify(suggestions=[{"title": s.title, "type": s.type, "url": _local_url(s.url)} for s in items])


@bp.get("/api/search")
@requires("search.query")
def api():
    query = request.args.get("q", "")
    if not query.strip() and not _filters():
        raise Invalid("Give a query: /api/search?q=words", field="q")
    with unit_of_work():  # the search is logged
        outcome = services.search(
            _index(),
            query,
            actor=current_user,
            filters=_filters(),
            page=api_int_arg("page", 1, low=1, high=1000),
            pagelen=api_int_arg("per_page", PAGELEN, low=1, high=API_MAX_PAGELEN),
            source="api",
            secret=_secret(),
        )
    result = outcome.result
    base = request.url_root.rstrip("/")
    return jsonify(
        query=outcome.query,
        total=result.total,
        page=result.page,
        pages=result.pages,
        did_you_mean=result.suggestion,
        fuzzy=result.fuzzy,
        facets={
            name: [
                {"value": value, "label": outcome.label(name, value), "count": count}
                for value, count in values
            ]
            for name, values in result.facets.items()
        },
        results=[
            {
                "id": hit.id,
                "type": hit.type,
                "title": hit.title,
                "slug": outcome.slugs.get(hit.id),
                "url": base + hit.url,
                "snippet": str(safe_html(hit.snippet)),
                "score": round(hit.score, 4),
                "category": hit.fields.get("category"),
                "language": hit.fields.get("language"),
            }
            for hit in result.hits
        ],
    )


@bp.get("/search/gaps")
@requires("search.gaps")
def gaps():
    days = int_arg("days", services.GAP_DAYS, low=1, high=365)
    categories = services.gap_categories()
    return render_template(
        "search/gaps.html",
        gaps=services.gap_report(days=days),
        days=days,
        categories=categories,
        can_create=allowed(current_user, "process.manage"),
        can_dismiss=allowed(current_user, "search.gaps.dismiss"),
        few=services.FEW_RESULTS,
        askers=services.GAP_ASKERS,
    )


@bp.post("/search/gaps/dismiss")
@requires("search.gaps.dismiss")
def dismiss_gap():
    form = GapDismissForm()
    if not form.validate_on_submit():
        flash("Choose a search to dismiss.", "error")
        return redirect(url_for("search.gaps")), 303
    try:
        with unit_of_work():
            query = services.dismiss_gap(form.query.data, actor=current_user)
    except Invalid as error:
        flash(error.message, "error")
        return redirect(url_for("search.gaps")), 303
    flash(f"“{query}” is off the report until people search for it again.", "success")
    return redirect(url_for("search.gaps")), 303


@bp.post("/search/gaps/process")
@requires("process.manage")
def create_process():
    form = GapProcessForm()
    form.category.choices = [(name, name) for name in services.gap_categories()]
    if not form.validate_on_submit():
        flash("Choose a query and a category to create a process.", "error")
        return redirect(url_for("search.gaps")), 303
    try:
        with unit_of_work():
            process = services.create_process_for_gap(
                form.query.data, category=form.category.data, actor=current_user
            )
    except Invalid as error:
        flash(error.message, "error")
        return redirect(url_for("search.gaps")), 303
    flash(f"Added “{process.name}” to the processes to document.", "success")
    return redirect(url_for("search.gaps")), 303


@bp.get("/search/health")
@requires("search.health")
def health():
    index = _index()
    return render_template(
        "search/health.html",
        quarantined=services.quarantined_documents(index),
        waiting=index.outbox_size(),
        max_attempts=services.MAX_ATTEMPTS,
        servers=services.log_servers(index),
        rebuild=services.rebuild_progress(index),
        rebuild_form=RebuildForm(),
    )


@bp.post("/search/health/rebuild")
@requires("search.rebuild")
def rebuild():
    """Start rebuilding this server's index in the background; /search/health then shows its progress."""
    if not RebuildForm().validate_on_submit():
        flash("The form expired; try again.", "error")
    elif services.start_rebuild(_index(), started_by=f"{current_user.name} (web)") is None:
        flash("A rebuild is already running; its progress is below.", "info")
    else:
        flash("Rebuilding the search index; searches keep using the current one until it is done.", "success")
    return redirect(url_for("search.health")), 303
