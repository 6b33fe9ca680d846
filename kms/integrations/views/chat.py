"""What Slack and Teams call: the slash command, the message shortcut and the outgoing webhook.

None of these has a session: each request is authenticated by its signature (Slack's signing secret, Teams'
HMAC) before anything else happens, and is exempt from the CSRF check for that reason (see init_app)."""

from __future__ import annotations

import json
import logging
import time

from flask import current_app, jsonify, request, url_for

from kms.auth.permissions import requires
from kms.extensions import unit_of_work
from kms.integrations.services import admin, chat
from kms.integrations.services.delivery import queue_reply
from kms.integrations.services.secrets import seal
from kms.integrations.services.signatures import slack_request_valid, teams_request_valid
from kms.integrations.views import bp
from kms.integrations.worker import send_soon
from kms.search.indexer import EXTENSION

log = logging.getLogger(__name__)

SIGNED = ("integrations.slack_command", "integrations.slack_interactive", "integrations.teams_outgoing")
REFUSED = {"error": "The request signature is missing, wrong or too old."}


def _site_key():
    return current_app.config["SECRET_KEY"]


def _base_url() -> str:
    return current_app.config.get("KMS_BASE_URL") or request.url_root


def _search_url(question: str) -> str:
    base = current_app.config.get("KMS_BASE_URL")
    if base:
        return base.rstrip("/") + url_for("search.results", q=question)
    return url_for("search.results", q=question, _external=True)


def _answer(question: str, *, source: str, asker: str, email: str | None) -> chat.ChatAnswer:
    with unit_of_work():  # the search is logged (the gap report counts it)
        return chat.answer_question(
            current_app.extensions[EXTENSION],
            question,
            source=source,
            asker=asker,
            email=email,
            secret=_site_key(),
            base_url=_base_url(),
        )


def _slack_checked() -> admin.ChatSecrets | None:
    body = request.get_data(cache=True)  # the exact bytes Slack signed, read before the form is parsed
    secrets = admin.chat_secrets(site_key=_site_key())
    valid = slack_request_valid(
        body,
        request.headers.get("X-Slack-Request-Timestamp"),
        request.headers.get("X-Slack-Signature"),
        secrets.slack_signing_secret,
        now=time.time(),
    )
    return secrets if valid else None


def _slack_email(secrets: admin.ChatSecrets, user_id: str) -> str | None:
    return chat.slack_user_email(current_app.config["KMS_SLACK_API_URL"], secrets.slack_bot_token, user_id)


@bp.post("/integrations/slack/command")
@requires("public")
def slack_command():
    """/kms <question>: the top three results the asking Slack user may read, shown only to them."""
    secrets = _slack_checked()
    if secrets is None:
        return jsonify(REFUSED), 401
    user_id = request.form.get("user_id", "")[:40]
    answer = _answer(
        request.form.get("text", ""),
        source="slack",
        asker=f"{request.form.get('team_id', '')[:40]}:{user_id}",
        email=_slack_email(secrets, user_id),
    )
    return jsonify(chat.slack_message(answer, search_url=_search_url(answer.question)))


def _reply_url_allowed(url: str) -> bool:
    prefix = current_app.config["KMS_SLACK_REPLY_URL_PREFIX"]
    return bool(prefix) and url.startswith(prefix)


@bp.post("/integrations/slack/interactive")
@requires("public")
def slack_interactive():
    """The "Ask kms" message shortcut: the message's text is the question; the answer goes to the
    shortcut's response_url (Slack wants this request answered at once, with an empty 200)."""
    secrets = _slack_checked()
    if secrets is None:
        return jsonify(REFUSED), 401
    try:
        payload = json.loads(request.form.get("payload", "") or "{}")
    except ValueError:
        return jsonify(error="payload is not JSON"), 400
    if not isinstance(payload, dict) or payload.get("type") != "message_action":
        return "", 200  # other interactions are not kms's; acknowledged and ignored
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    person = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    team = payload.get("team") if isinstance(payload.get("team"), dict) else {}
    reply_url = payload.get("response_url") if isinstance(payload.get("response_url"), str) else ""
    if not _reply_url_allowed(reply_url):
        log.warning("Slack shortcut with a response_url outside KMS_SLACK_REPLY_URL_PREFIX: ignored")
        return "", 200
    user_id = str(person.get("id", ""))[:40]
    answer = _answer(
        str(message.get("text", "")),
        source="slack",
        asker=f"{str(team.get('id', ''))[:40]}:{user_id}",
        email=_slack_email(secrets, user_id),
    )
    reply = chat.slack_message(answer, search_url=_search_url(answer.question))
    reply["replace_original"] = False
    with unit_of_work():
        delivery = queue_reply(seal(reply_url, site_key=_site_key()), reply)
    send_soon(delivery.id)
    return "", 200


@bp.post("/integrations/teams/outgoing")
@requires("public")
def teams_outgoing():
    """@kms <question> in a Teams channel: answered in the thread with the top three results."""
    body = request.get_data(cache=True)
    secrets = admin.chat_secrets(site_key=_site_key())
    if not teams_request_valid(body, request.headers.get("Authorization"), secrets.teams_security_token):
        return jsonify(REFUSED), 401
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return jsonify(error="the body is not a Teams message"), 400
    sender = data.get("from") if isinstance(data.get("from"), dict) else {}
    asker = str(sender.get("aadObjectId") or sender.get("id") or "")[:120]
    # Teams' outgoing webhook does not carry the sender's e-mail: everyone finds what members find.
    answer = _answer(str(data.get("text", "")), source="teams", asker=asker, email=None)
    return jsonify(chat.teams_message(answer, search_url=_search_url(answer.question)))
