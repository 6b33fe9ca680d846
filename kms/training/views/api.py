"""JSON API: /api/me/onboarding and /api/modules (session or personal token, same permissions as the pages)."""

from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.training import services
from kms.training.views import bp


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


@bp.get("/api/me/onboarding")
@requires("training.learn")
def api_my_onboarding():
    onboarding = services.my_onboarding(current_user.id, actor=current_user)
    return jsonify(
        user={
            "id": onboarding.user.id,
            "name": onboarding.user.name,
            "time_zone": onboarding.user.time_zone,
            "start_date": _iso(onboarding.user.start_date),
        },
        paths=[{"id": p.id, "slug": p.slug, "title": p.title} for p in onboarding.paths],
        progress={
            "percent": onboarding.percent,
            "modules_done": onboarding.modules_done,
            "modules_total": len(onboarding.items),
            "sessions_done": onboarding.sessions_done,
            "sessions_total": len(onboarding.sessions),
        },
        assignments=[
            {
                "module": {
                    "id": i.module.id,
                    "slug": i.module.slug,
                    "title": i.module.title,
                    "url": url_for("training.module", module_id=i.module.id, _external=True),
                },
                "status": "complete"
                if i.complete
                else "expired"
                if i.expired
                else "overdue"
                if i.overdue
                else "in progress"
                if i.percent
                else "not started",
                "percent": i.percent,
                "due_on": _iso(i.assignment.due_on),
                "due_at": _iso(i.assignment.due_at),
                "lessons_done": i.lessons_done,
                "lessons_total": i.lessons_total,
                "quiz_required": i.quiz_required,
                "quiz_passed": i.quiz_passed,
                "completed_at": _iso(i.completed_at),
            }
            for i in onboarding.items
        ],
        upcoming_sessions=[
            {
                "id": s.id,
                "host": s.host.name,
                "starts_at": _iso(s.starts_at),
                "ends_at": _iso(s.ends_at),
                "format": s.format.value,
                "focus": s.focus,
                "status": s.status.value,
            }
            for s in onboarding.upcoming_sessions
        ],
        review=[
            {
                "lesson_id": f.lesson_id,
                "lesson": f.lesson_title,
                "article": f.article_title,
                "studied_revision": f.studied_number,
                "current_revision": f.current_number,
            }
            for f in onboarding.flags
        ],
    )


@bp.get("/api/modules")
@requires("training.learn")
def api_modules():
    modules = services.list_modules(actor=current_user)
    return jsonify(
        modules=[
            {
                "id": m.id,
                "slug": m.slug,
                "title": m.title,
                "summary": m.summary,
                "minutes": m.minutes,
                "audience": m.audience,
                "tags": m.tags,
                "status": m.status.value,
                "has_quiz": bool(m.questions),
                "recertify_months": m.recertify_months,
                "url": url_for("training.module", module_id=m.id, _external=True),
            }
            for m in modules
        ]
    )
