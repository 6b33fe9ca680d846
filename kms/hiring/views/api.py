"""Hiring JSON API under /api/hiring/: works with a session or a personal token, same permissions as pages."""

from __future__ import annotations

from flask import abort, jsonify, request, url_for
from flask_login import current_user

from kms.auth.permissions import requires
from kms.errors import Invalid
from kms.extensions import unit_of_work
from kms.hiring import services
from kms.hiring.views import bp
from kms.hiring.views.common import _scorecard_form, _scorecard_input
from kms.web import api_id_arg

# --- JSON API -------------------------------------------------------------------------------------------


def _aggregate_json(result) -> dict | None:
    if result is None:
        return None
    return {
        "traits": [
            {
                "key": t.key,
                "name": t.name,
                "ratings": t.ratings,
                "mean": t.mean,
                "spread": t.spread,
                "disagreement": t.disagreement,
                "cant_be_taught": t.cant_be_taught,
                "red_flags": [flag for flag, _ in t.red_flags],
            }
            for t in result.traits
        ],
        "recommendations": {r.value: n for r, n in result.tally.items()},
        "cant_be_taught": result.cant_be_taught,
    }


@bp.get("/api/hiring/interviews")
@requires("hiring.interview")
def api_my_interviews():
    return jsonify(
        interviews=[
            {
                "assignment_id": m.assignment.id,
                "candidate_id": m.candidate_id,
                "candidate": m.candidate_name,
                "opening": m.opening_title,
                "interview": m.interview_title,
                "status": m.status,
                "scheduled_at": m.scheduled_at.isoformat() if m.scheduled_at else None,
                "scorecard_url": url_for("hiring.scorecard", assignment_id=m.assignment.id, _external=True),
            }
            for m in services.my_interviews(actor=current_user)
        ]
    )


@bp.get("/api/hiring/candidates")
@requires("hiring.manage")
def api_candidates():
    with unit_of_work():  # audited
        grouped = services.board(actor=current_user, opening_id=api_id_arg("opening"))
    return jsonify(
        candidates=[
            {
                "id": row.candidate.id,
                "name": row.candidate.name,
                "stage": stage.value,
                "opening": row.opening_title,
                "interviewers": row.interviewers,
                "submitted": row.submitted,
            }
            for stage, rows in grouped.items()
            for row in rows
        ]
    )


@bp.get("/api/hiring/candidates/<int:candidate_id>")
@requires("hiring.manage")
def api_candidate_export(candidate_id: int):
    with unit_of_work():  # audited
        data = services.export_candidate(candidate_id, actor=current_user)
    return jsonify(data)


@bp.get("/api/hiring/candidates/<int:candidate_id>/debrief")
@requires("hiring.interview")
def api_debrief(candidate_id: int):
    with unit_of_work():  # audited
        result = services.debrief(candidate_id, actor=current_user)
    return jsonify(
        candidate_id=candidate_id,
        stage=result.candidate.stage.value,
        scores_visible=result.aggregate is not None,
        pending=result.pending,
        aggregate=_aggregate_json(result.aggregate),
    )


@bp.post("/api/hiring/scorecards/<int:assignment_id>/draft")
@requires("hiring.interview")
def api_save_draft(assignment_id: int):
    """Autosave (kms.js) and API clients: form fields like the page, or JSON {ratings, recommendation, summary}."""
    if request.is_json:
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # nested deeper than the parser goes: not a scorecard either
            data = None
        if not isinstance(data, dict):
            return jsonify(error="Send a JSON object.", status=400), 400
    else:
        with unit_of_work():  # audited
            context = services.open_scorecard(assignment_id, actor=current_user)
        if not context.mine:
            abort(404)
        form = _scorecard_form(context)
        names = {sub.name for field in form for sub in (field if field.type == "FormField" else [field])}
        names.discard("csrf_token")
        if names.isdisjoint(request.form):
            # Saving this as the draft would blank it: most likely JSON sent without its content type.
            return jsonify(
                error="Send the scorecard as JSON with Content-Type: application/json "
                "(or as the scorecard form's fields).",
                status=400,
            ), 400
        data = _scorecard_input(form)
    try:
        with unit_of_work():
            card = services.save_draft(assignment_id, data, actor=current_user)
    except Invalid as error:
        return jsonify(error=error.message, status=400, errors=error.details.get("errors", {})), 400
    return jsonify(status="draft", saved_at=card.updated_at.isoformat())
