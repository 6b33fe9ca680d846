"""Interview times are read in the manager's zone by the one rule of kms.timezones: a time daylight saving
skips or repeats is refused on the field, with everything typed kept; an ordinary time is stored in UTC."""

from datetime import UTC, datetime

from kms.extensions import db
from kms.hiring.models import Interview
from tests.conftest import login


def _oslo_manager(process):
    process.manager.time_zone = "Europe/Oslo"
    db.session.commit()


def test_an_interview_time_in_the_spring_gap_is_refused_on_the_field_and_the_form_is_kept(client, process):
    _oslo_manager(process)
    login(client, process.manager)
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/interviews",
        data={
            "title": "Panel with the team",
            "scheduled_at": "2026-03-29T02:30",
            "interviewers-0-user_id": process.first.id,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "02:30 on 2026-03-29 does not exist in Europe/Oslo" in html
    assert 'id="scheduled_at-error"' in html  # next to the field it is about
    assert 'value="Panel with the team"' in html and 'value="2026-03-29T02:30"' in html
    assert db.session.query(Interview).count() == 1  # only the fixture's


def test_an_interview_time_the_autumn_night_repeats_is_refused(client, process):
    _oslo_manager(process)
    login(client, process.manager)
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/interviews",
        data={
            "title": "Panel",
            "scheduled_at": "2026-10-25T02:30",
            "interviewers-0-user_id": process.first.id,
        },
    )
    assert response.status_code == 400
    assert "happens twice in Europe/Oslo" in response.get_data(as_text=True)
    assert db.session.query(Interview).count() == 1


def test_an_ordinary_interview_time_is_stored_as_the_utc_instant(client, process):
    _oslo_manager(process)
    login(client, process.manager)
    response = client.post(
        f"/hiring/candidates/{process.candidate.id}/interviews",
        data={
            "title": "Panel",
            "scheduled_at": "2026-07-01T09:30",
            "interviewers-0-user_id": process.first.id,
        },
    )
    assert response.status_code == 302
    stored = db.session.query(Interview).filter_by(title="Panel").one()
    assert stored.scheduled_at == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)
