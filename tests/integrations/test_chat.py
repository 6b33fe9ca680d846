"""Slack and Teams asking kms: signatures checked (wrong, stale, altered body refused), answers limited to what
the asker may read, and questions that found nothing reaching the gap report as asked from chat."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import urlencode

import pytest

from kms.articles import services as handbook
from kms.auth.models import Role
from kms.extensions import db
from kms.integrations.models import ChatSettings
from kms.integrations.services import admin as integrations
from kms.search.indexer import EXTENSION
from tests.conftest import login

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAMS_TOKEN = base64.b64encode(b"teams-outgoing-webhook-key-32byt").decode()


@pytest.fixture
def chat_secrets(app, make_user):
    """The Slack signing secret and bot token and the Teams security token stored; the admin who did it."""
    admin = make_user(Role.ADMIN)
    integrations.save_chat_secrets(
        values={
            "slack_signing_secret": SIGNING_SECRET,
            "slack_bot_token": "xoxb-test",
            "teams_security_token": TEAMS_TOKEN,
        },
        clear=set(),
        site_key=app.config["SECRET_KEY"],
        actor=admin,
    )
    db.session.commit()
    return admin


@pytest.fixture
def chat_ready(app, make_user, chat_secrets):
    """Chat secrets stored, an index, a published article and a draft; their author."""
    admin = chat_secrets
    app.extensions[EXTENSION].rebuild()
    author = make_user(Role.AUTHOR, email="ada@example.test")
    handbook.save_category("Billing", requires_review=False, actor=admin)
    handbook.create_article(
        handbook.ArticleFields(
            title="Refund request <policy>",
            body="Refunds are approved by the team lead within two days.",
            category="Billing",
        ),
        actor=author,
    )
    handbook.create_article(
        handbook.ArticleFields(
            title="Refund xylophone draft",
            body="Xylophone refunds, not yet agreed.",
            category="Billing",
            status="draft",
        ),
        actor=author,
    )
    db.session.commit()
    return author


def slack_post(client, path: str, form: dict, *, secret=SIGNING_SECRET, timestamp=None, body=None):
    body = body if body is not None else urlencode(form)
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signed = f"v0:{timestamp}:{urlencode(form)}".encode()
    signature = "v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return client.post(
        path,
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature},
    )


def command(text: str, user_id: str = "U0ASKER") -> dict:
    return {"team_id": "T0TEAM", "user_id": user_id, "command": "/kms", "text": text}


def test_slack_requests_with_a_wrong_stale_or_altered_signature_are_refused(app, chat_ready, receiver):
    client = app.test_client()
    form = command("refund")
    good = slack_post(client, "/integrations/slack/command", form)
    assert good.status_code == 200 and good.get_json()["response_type"] == "ephemeral"

    wrong = slack_post(client, "/integrations/slack/command", form, secret="not-the-signing-secret")
    stale = slack_post(client, "/integrations/slack/command", form, timestamp=int(time.time()) - 6 * 60)
    # A captured request replayed with another question: the signature no longer matches the body.
    altered = slack_post(client, "/integrations/slack/command", form, body=urlencode(command("salaries")))
    unsigned = client.post("/integrations/slack/command", data=form)
    for response in (wrong, stale, altered, unsigned):
        assert response.status_code == 401
        assert "signature" in response.get_json()["error"]


def test_a_teams_message_is_answered_only_with_the_right_hmac(app, chat_ready, receiver):
    client = app.test_client()
    body = json.dumps({"type": "message", "text": "<at>kms</at> refund", "from": {"id": "29:1abc"}}).encode()

    def post(token: str):
        mac = hmac.new(base64.b64decode(token), body, hashlib.sha256).digest()
        return client.post(
            "/integrations/teams/outgoing",
            data=body,
            content_type="application/json",
            headers={"Authorization": "HMAC " + base64.b64encode(mac).decode()},
        )

    answer = post(TEAMS_TOKEN)
    assert answer.status_code == 200
    reply = answer.get_json()
    assert reply["type"] == "message"
    assert "[Refund request &lt;policy&gt;](https://kms.example/" in reply["text"].replace("\\", "")
    assert post(base64.b64encode(b"some-other-key").decode()).status_code == 401


def test_an_unknown_slack_user_finds_what_members_find_and_a_matched_author_finds_drafts(
    app, chat_ready, receiver
):
    client = app.test_client()
    receiver.slack_emails["U0ADA"] = "ADA@example.test"  # Slack's address, in another letter case

    stranger = slack_post(client, "/integrations/slack/command", command("refund")).get_json()["text"]
    assert "<https://kms.example/" in stranger and "Refund request &lt;policy&gt;" in stranger
    assert "xylophone" not in stranger.lower()  # the draft is not for members

    author = slack_post(
        client, "/integrations/slack/command", command("refund xylophone", "U0ADA")
    ).get_json()
    assert "Refund xylophone draft" in author["text"]
    assert any("users.info" in r.path and "U0ADA" in r.path for r in receiver.requests)


def test_a_question_nobody_answered_lands_in_the_gap_report_marked_as_asked_from_chat(
    app, chat_ready, receiver, make_user
):
    client = app.test_client()
    for user_id in ("U0ONE", "U0TWO"):  # the gap report needs two different people asking
        reply = slack_post(client, "/integrations/slack/command", command("parental leave abroad", user_id))
        assert "Nothing in the handbook answers" in reply.get_json()["text"]
    teams_body = json.dumps(
        {"type": "message", "text": "<at>kms</at> visa sponsorship", "from": {"id": "29:9"}}
    )
    mac = hmac.new(base64.b64decode(TEAMS_TOKEN), teams_body.encode(), hashlib.sha256).digest()
    client.post(
        "/integrations/teams/outgoing",
        data=teams_body,
        content_type="application/json",
        headers={"Authorization": "HMAC " + base64.b64encode(mac).decode()},
    )

    reader = app.test_client()
    assert login(reader, chat_ready).status_code == 302
    page = reader.get("/search/gaps").get_data(as_text=True)
    row = page[page.index("parental leave abroad") :][:600]
    assert "asked from chat" in row
    assert "visa sponsorship" not in page  # one person asking is not yet a gap


def test_the_message_shortcut_answers_through_the_response_url_only_the_asker_sees(app, chat_ready, receiver):
    client = app.test_client()
    payload = {
        "type": "message_action",
        "callback_id": "ask_kms",
        "team": {"id": "T0TEAM"},
        "user": {"id": "U0ASKER"},
        "message": {"text": "how do refunds work?"},
        "response_url": receiver.url + "/slack-reply/T0TEAM/1/abc",
    }
    form = {"payload": json.dumps(payload)}
    response = slack_post(client, "/integrations/slack/interactive", form)
    assert response.status_code == 200 and response.get_data() == b""

    replies = receiver.wait_for_posts(1, "/slack-reply/")
    assert len(replies) == 1
    reply = replies[0].json()
    assert reply["response_type"] == "ephemeral" and "Refund request &lt;policy&gt;" in reply["text"]

    elsewhere = dict(payload, response_url="https://attacker.example/collect")
    slack_post(client, "/integrations/slack/interactive", {"payload": json.dumps(elsewhere)})
    assert len(receiver.posts("/slack-reply/")) == 1  # a reply address outside Slack's is never called


def test_the_settings_page_never_shows_a_stored_secret_again(app, chat_secrets):
    client = app.test_client()
    assert login(client, chat_secrets).status_code == 302
    page = client.get("/admin/integrations").get_data(as_text=True)
    stored = db.session.get(ChatSettings, 1)
    for secret in (SIGNING_SECRET, "xoxb-test", TEAMS_TOKEN):
        assert secret not in page
        columns = (stored.slack_signing_secret, stored.slack_bot_token, stored.teams_security_token)
        assert all(value and secret not in value for value in columns)  # stored sealed, never in the clear
    assert page.count(">set<") == 3
    saved = client.post("/admin/integrations/chat", data={"clear_slack_bot_token": "y"})
    assert saved.status_code == 303
    page = client.get("/admin/integrations").get_data(as_text=True)
    assert page.count(">set<") == 2 and ">not set<" in page
