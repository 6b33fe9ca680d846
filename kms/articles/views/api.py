"""Handbook JSON API: articles, processes and coverage, with session or Bearer-token auth and page permissions."""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_login import current_user

from kms.articles import services
from kms.articles.models import ArticleStatus, ProcessStatus
from kms.articles.views import bp
from kms.articles.views.common import article_html, coverage_target
from kms.auth.permissions import requires
from kms.errors import Invalid
from kms.web import DB_INT_MAX, api_id_arg, api_int_arg

MAX_LIMIT = 500


def _page() -> tuple[int, int]:
    return (
        api_int_arg("limit", 100, low=1, high=MAX_LIMIT),
        api_int_arg("offset", 0, low=0, high=DB_INT_MAX),
    )


def _article_summary(article) -> dict:
    return {
        "slug": article.slug,
        "title": article.title,
        "category": article.category,
        "language": article.language,
        "status": article.status.value,
        "tags": article.tags,
        "version": article.version,
        "owner": article.owner.email if article.owner else None,
        "process": article.process.name if article.process else None,
        "updated_at": article.updated_at.isoformat() if article.updated_at else None,
        "url": url_for("articles.show", slug=article.slug, _external=True),
        "api_url": url_for("articles.api_article", slug=article.slug, _external=True),
    }


@bp.get("/api/articles")
@requires("handbook.read")
def api_articles():
    status = request.args.get("status") or None
    if status and status not in {s.value for s in ArticleStatus}:
        raise Invalid("status must be draft, published or archived.", field="status")
    limit, offset = _page()
    rows, total = services.list_articles(
        viewer=current_user,
        category=request.args.get("category") or None,
        tag=request.args.get("tag") or None,
        status=status,
        language=request.args.get("language") or None,
        limit=limit,
        offset=offset,
    )
    return jsonify(total=total, limit=limit, offset=offset, articles=[_article_summary(a) for a in rows])


@bp.get("/api/articles/<slug>")
@requires("handbook.read")
def api_article(slug: str):
    page, moved_to = services.article_page(slug, viewer=current_user)
    if page is None:
        return (
            jsonify(
                error="This article moved.",
                slug=moved_to,
                url=url_for("articles.api_article", slug=moved_to, _external=True),
            ),
            301,
            {"Location": url_for("articles.api_article", slug=moved_to)},
        )
    article = page.article
    html, toc = article_html(page)
    data = _article_summary(article)
    data.update(
        title=page.title,
        markdown=page.body,
        html=html,
        toc_html=toc,
        verify_interval_days=article.verify_interval_days,
        verified_at=article.verified_at.isoformat() if article.verified_at else None,
        verified_by=article.verified_by.email if article.verified_by else None,
        due_for_review=page.verification_due,
        open_flags=len(page.flags),
        has_pending_change=page.has_pending,
    )
    return jsonify(data)


@bp.get("/api/processes")
@requires("handbook.read")
def api_processes():
    status = request.args.get("status") or None
    if status and status not in {s.value for s in ProcessStatus}:
        raise Invalid("Unknown status.", field="status")
    limit, offset = _page()
    owner = api_id_arg("owner_id")
    rows, total = services.list_processes(
        category=request.args.get("category") or None,
        owner_id=owner,
        status=status,
        limit=limit,
        offset=offset,
    )
    return jsonify(
        total=total,
        limit=limit,
        offset=offset,
        processes=[
            {
                "id": p.id,
                "name": p.name,
                "category": p.category,
                "frequency": p.frequency,
                "status": p.status.value,
                "owner": p.owner.email if p.owner else None,
                "target_date": p.target_date.isoformat() if p.target_date else None,
                "article": p.article.slug if p.article else None,
            }
            for p in rows
        ],
    )


@bp.get("/api/coverage")
@requires("handbook.read")
def api_coverage():
    numbers = services.coverage(coverage_target())
    return jsonify(
        target=numbers.target,
        reached=numbers.reached,
        to_target=numbers.processes_to_target,
        **numbers.overall.as_dict(),
        by_category={b.label: b.as_dict() for b in numbers.by_category},
        by_owner=[{"owner": b.label, **b.as_dict()} for b in numbers.by_owner],
    )
