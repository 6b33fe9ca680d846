"""The three ways in: the upload page (preview, import, errors that keep the choices), the CLI, the JSON API."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db
from kms.metrics.models import RepDay, Ticket
from tests.metrics.conftest import DATA

HEADER = "ticket_id,agent_email,solved_at,channel,csat,fcr,reopened,handle_minutes,nps,tags\n"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def upload(client, data: bytes, **fields):
    form = {"source": "kms", "time_zone": "UTC", **fields}
    if data is not None:
        form["file"] = (io.BytesIO(data), "export.csv")
    return client.post("/metrics/import", data=form, content_type="multipart/form-data")


def test_a_manager_previews_then_imports_a_zendesk_export_without_choosing_it_twice(client, login_as, reps):
    login_as(Role.MANAGER)
    page = upload(client, (DATA / "zendesk.csv").read_bytes(), source="zendesk", preview="Preview")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Preview: Zendesk" in html
    assert "Satisfaction Score" in html and "1001" in html and "Ana Lopez" in html
    assert count(Ticket) == 0  # a preview imports nothing
    token = html.split('name="upload" type="hidden" value="')[1][:32]
    done = upload(client, None, source="zendesk", upload=token, submit="Import")
    assert done.status_code == 200 and "4 tickets added" in done.get_data(as_text=True)
    assert count(Ticket) == 4 and count(RepDay) == 4


def test_a_refused_file_keeps_the_chosen_format_and_names_line_and_column(client, login_as, reps):
    login_as(Role.ADMIN)
    data = (HEADER + "T-1,ana@example.test,2026-03-02,,great,,,,,\n").encode()
    page = upload(client, data, source="freshdesk", time_zone="Europe/Paris", submit="Import")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "Ticket ID" in html  # freshdesk needs its own columns
    assert '<option selected value="freshdesk">' in html and 'value="Europe/Paris"' in html
    page = upload(client, data, source="kms", submit="Import")
    assert "line 2, column csat: &#39;great&#39; is not 1-5 or good/bad" in page.get_data(as_text=True)
    assert count(Ticket) == 0


def test_unknown_reps_are_listed_and_the_rest_imported_when_ticked(client, login_as, reps):
    login_as(Role.MANAGER)
    data = (
        HEADER + "T-1,ana@example.test,2026-03-02,,,,,,,\nT-2,zoe@example.test,2026-03-02,,,,,,,\n"
    ).encode()
    page = upload(client, data, submit="Import")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "<td>zoe@example.test</td><td>1</td>" in html and count(Ticket) == 0
    token = html.split('name="upload" type="hidden" value="')[1][:32]
    page = upload(client, None, upload=token, skip_unknown="y", submit="Import")
    html = page.get_data(as_text=True)
    assert "1 ticket added" in html
    assert "Skipped: reps who are not kms users" in html and "<td>zoe@example.test</td>" in html
    assert count(Ticket) == 1


def test_an_upload_over_the_limit_is_refused_with_the_setting_named(app, client, login_as):
    app.config["KMS_METRICS_MAX_MB"] = "1"
    login_as(Role.MANAGER)
    page = upload(client, HEADER.encode() + b"x" * (1024 * 1024 + 100 * 1024), submit="Import")
    assert page.status_code == 413
    assert "larger than 1 MiB (KMS_METRICS_MAX_MB)" in page.get_data(as_text=True)


def test_an_admin_saves_a_custom_mapping_that_imports_a_foreign_export(client, login_as, reps):
    login_as(Role.ADMIN)
    form = {
        "name": "Help Scout",
        "col_ticket_id": "Conversation Number",
        "col_agent": "Assigned User",
        "col_solved_at": "Closed",
        "col_csat": "Rating",
        "col_handle_minutes": "Handle Time",
        "csat_scale": "good_bad",
        "handle_unit": "seconds",
        "time_zone": "America/New_York",
    }
    assert client.post("/metrics/mappings", data=form).status_code == 302
    data = b"Conversation Number;Assigned User;Closed;Rating;Handle Time\n77;Ben Okafor;2026-03-02 20:00:00;Bad;90\n"
    page = upload(client, data, source="mapping:Help Scout", submit="Import")
    assert page.status_code == 200 and "1 ticket added" in page.get_data(as_text=True)
    ticket = db.session.scalar(select(Ticket))
    assert ticket.source == "custom:Help Scout" and ticket.handle_minutes == 1.5 and ticket.csat_good is False
    assert ticket.solved_at.hour == 1  # 20:00 in New York is 01:00 UTC the next day


def test_the_cli_imports_a_preset_and_refuses_unknown_reps_with_their_counts(runner, reps, tmp_path):
    result = runner.invoke(args=["metrics", "import", str(DATA / "intercom.csv"), "--preset", "intercom"])
    assert result.exit_code == 0, result.output
    assert "3 rows read; 3 tickets added" in result.output
    again = runner.invoke(args=["metrics", "import", str(DATA / "intercom.csv"), "--preset", "intercom"])
    assert "3 already imported" in again.output and count(Ticket) == 3
    stranger = tmp_path / "x.csv"
    stranger.write_text(HEADER + "S-1,zoe@example.test,2026-03-02,,,,,,,\n")
    refused = runner.invoke(args=["metrics", "import", str(stranger)])
    assert refused.exit_code == 1 and "zoe@example.test (1 ticket)" in refused.output
    assert "--skip-unknown" in refused.output


def test_the_api_is_idempotent_per_ticket_id_and_names_the_bad_row_and_field(app, client, make_user, reps):
    manager = make_user(Role.MANAGER)
    _token, secret = auth_services.create_token(manager, "helpdesk sync")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    batch = {
        "rows": [
            {"ticket_id": "A1", "agent_email": "ana@example.test", "solved_at": "2026-03-02T10:00:00Z", "csat": 5},
            {"ticket_id": "A2", "agent_email": "ben@example.test", "solved_at": "2026-03-02T11:00:00Z",
             "csat": "bad", "fcr": True, "tags": ["Angry", "refund"], "handle_minutes": 7.5},
        ]
    }  # fmt: skip
    first = client.post("/api/metrics", json=batch, headers=headers)
    assert first.status_code == 200 and first.json == {"rows": 2, "added": 2, "updated": 0, "unchanged": 0}
    again = client.post("/api/metrics", json=batch, headers=headers)
    assert again.json == {"rows": 2, "added": 0, "updated": 0, "unchanged": 2}
    assert (
        count(Ticket) == 2
        and db.session.get(RepDay, (reps["ben"].id, __import__("datetime").date(2026, 3, 2))).angry == 1
    )

    batch["rows"][1]["nps"] = 11
    bad = client.post("/api/metrics", json=batch, headers=headers)
    assert bad.status_code == 400 and bad.json["field"] == "nps"
    assert bad.json["error"] == "row 2, field nps: '11' is not a whole number from 0 to 10"
    unknown = client.post(
        "/api/metrics",
        json={"rows": [{"ticket_id": "Z", "agent_email": "zoe@example.test", "solved_at": "2026-03-02"}]},
        headers=headers,
    )
    assert unknown.status_code == 400 and unknown.json["unknown"] == {"zoe@example.test": 1}


def test_a_members_token_cannot_write_metrics(client, make_user):
    member = make_user(Role.MEMBER)
    _token, secret = auth_services.create_token(member, "mine")
    db.session.commit()
    response = client.post("/api/metrics", json={"rows": []}, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
