"""Privacy: deleting a candidate, the retention purge, the JSON export and the audit log."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from kms.auth import SYSTEM
from kms.auth.models import Role
from kms.errors import Forbidden, NotFound
from kms.extensions import db, utcnow
from kms.hiring import services
from kms.hiring.models import (
    AuditEntry,
    Candidate,
    Interview,
    InterviewerAssignment,
    Rating,
    Scorecard,
    ScorecardRevision,
)
from tests.conftest import login
from tests.hiring.conftest import full_scorecard

TABLES = (Candidate, Interview, InterviewerAssignment, Scorecard, Rating, ScorecardRevision)


def _rows(model, candidate_id=None) -> int:
    query = select(func.count()).select_from(model)
    if candidate_id is not None:
        if model is Candidate:
            query = query.where(Candidate.id == candidate_id)
        elif hasattr(model, "candidate_id"):
            query = query.where(model.candidate_id == candidate_id)
        else:
            query = query.join(Scorecard).where(Scorecard.candidate_id == candidate_id)
    return db.session.scalar(query)


def _scored(process):
    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    services.amend_scorecard(process.first_assignment, full_scorecard(2), "second look", actor=process.first)
    services.save_draft(process.second_assignment, full_scorecard(4), actor=process.second)


def test_deleting_a_candidate_removes_personal_data_and_every_scorecard(process):
    _scored(process)
    assert all(_rows(model) for model in TABLES)
    services.delete_candidate(process.candidate.id, actor=process.manager)
    assert [_rows(model) for model in TABLES] == [0] * len(TABLES)
    entries = list(db.session.scalars(select(AuditEntry)))
    assert any(e.action == "deleted" and e.candidate_id == process.candidate.id for e in entries)
    assert not any("Robin" in (e.detail + e.subject) for e in entries)


def test_deleting_one_candidate_leaves_the_others(make_process, make_user):
    manager = make_user(Role.MANAGER)
    gone, kept = (
        make_process(manager=manager, name="Gone Person"),
        make_process(manager=manager, name="Kept Person"),
    )
    _scored(gone)
    _scored(kept)
    services.delete_candidate(gone.candidate.id, actor=manager)
    assert _rows(Candidate) == 1 and _rows(Scorecard, kept.candidate.id) == 2


def test_only_leads_delete_candidates(process):
    with pytest.raises(Forbidden):
        services.delete_candidate(process.candidate.id, actor=process.first)
    assert _rows(Candidate) == 1


def test_the_delete_button_deletes_through_the_page(client, process):
    candidate_id = process.candidate.id
    login(client, process.manager)
    assert client.post(f"/hiring/candidates/{candidate_id}/delete").status_code == 302
    assert _rows(Candidate) == 0
    assert client.get(f"/hiring/candidates/{candidate_id}").status_code == 404


def _reject(process, days_ago: int):
    services.record_decision(process.candidate.id, "reject", "Not a fit", actor=process.manager)
    db.session.execute(
        update(Candidate)
        .where(Candidate.id == process.candidate.id)
        .values(stage_changed_at=utcnow() - timedelta(days=days_ago))
    )
    db.session.commit()


def test_the_purge_removes_rejected_candidates_past_retention_and_nothing_else(make_process, make_user):
    manager = make_user(Role.MANAGER)
    old = make_process(manager=manager, name="Old Reject")
    recent = make_process(manager=manager, name="Recent Reject", opening=old.opening)
    active = make_process(manager=manager, name="Still Interviewing", opening=old.opening)
    for p in (old, recent, active):
        _scored(p)
    _reject(old, 200)
    _reject(recent, 10)
    db.session.execute(
        update(Candidate)
        .where(Candidate.id == active.candidate.id)
        .values(stage_changed_at=utcnow() - timedelta(days=400))
    )
    db.session.commit()

    old_id = old.candidate.id
    assert services.purge_rejected(180, actor=SYSTEM) == 1
    assert {c.name for c in db.session.scalars(select(Candidate))} == {"Recent Reject", "Still Interviewing"}
    for model in TABLES:
        assert _rows(model, old_id) == 0
    assert _rows(Scorecard, recent.candidate.id) == 2 and _rows(Scorecard, active.candidate.id) == 2
    assert services.purge_rejected(180, actor=SYSTEM) == 0


def test_the_purge_command_runs_from_cron_with_days_or_the_setting(app, process, runner):
    _scored(process)
    _reject(process, 40)
    result = runner.invoke(args=["hiring-purge", "--days", "60"])
    assert result.exit_code == 0 and "Purged 0 rejected candidates" in result.output
    app.config["KMS_HIRING_RETENTION_DAYS"] = "30"
    result = runner.invoke(args=["hiring-purge"])
    assert result.exit_code == 0 and "Purged 1 rejected candidate older than 30 days" in result.output
    assert [_rows(model) for model in (Candidate, Interview, Scorecard)] == [0, 0, 0]


def test_the_json_export_holds_everything_about_one_candidate_and_is_audited(client, process):
    _scored(process)
    login(client, process.manager)
    response = client.get(f"/hiring/candidates/{process.candidate.id}/export.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.data)
    assert (
        data["candidate"]["name"] == "Robin Candidate-Quill" and data["candidate"]["notes"] == "Private notes"
    )
    cards = [i["scorecard"] for i in data["interviews"][0]["interviewers"]]
    submitted = next(c for c in cards if c["status"] == "submitted")
    assert [r["number"] for r in submitted["revisions"]] == [1, 2]
    assert submitted["rubric_version"] == 1
    assert {r["trait"] for r in submitted["ratings"]} == {"drive", "coachability", "positivity", "empathy"}
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "exported")).one()
    assert entry.actor_id == process.manager.id and entry.candidate_id == process.candidate.id
    api = client.get(f"/api/hiring/candidates/{process.candidate.id}")
    assert api.status_code == 200 and api.json["candidate"]["email"] == "robin@example.test"


def test_interviewers_cannot_export(process):
    with pytest.raises(Forbidden):
        services.export_candidate(process.candidate.id, actor=process.first)


def test_viewing_changing_and_exporting_are_audited_with_who_and_what(client, process, make_user):
    admin = make_user(Role.ADMIN)
    services.debrief(process.candidate.id, actor=process.manager)
    services.submit_scorecard(process.first_assignment, full_scorecard(3), actor=process.first)
    services.export_candidate(process.candidate.id, actor=admin)
    entries = [
        (e.actor_id, e.action, e.subject)
        for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
    ]
    assert (process.manager.id, "viewed", "debrief") in entries
    assert (process.first.id, "changed", "scorecard") in entries
    assert (admin.id, "exported", "candidate") in entries
    assert (process.manager.id, "changed", "candidate") in entries  # created
    login(client, admin)
    page = client.get("/hiring/audit").get_data(as_text=True)
    assert "exported" in page and process.manager.name in page and "Robin" not in page


def test_only_admins_read_the_audit_log(client, process):
    with pytest.raises(Forbidden):
        services.list_audit(actor=process.manager)
    login(client, process.manager)
    assert client.get("/hiring/audit").status_code == 403


def test_a_deleted_candidate_is_simply_not_found(process):
    services.delete_candidate(process.candidate.id, actor=process.manager)
    with pytest.raises(NotFound) as caught:
        services.debrief(process.candidate.id, actor=process.manager)
    assert "Robin" not in caught.value.message
    assert db.session.get(Candidate, process.candidate.id) is None
