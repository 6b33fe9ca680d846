"""Team channels and outgoing webhooks against a real local HTTP receiver: signed delivery, retry after a 500
or a receiver that never answers, switching off after repeated failures with a notice to the admins."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import timedelta

from sqlalchemy import select

from kms.auth import SYSTEM
from kms.auth.models import Role
from kms.extensions import db, unit_of_work, utcnow
from kms.integrations import worker
from kms.integrations.models import Webhook
from kms.integrations.services import admin as integrations
from kms.integrations.services import delivery
from kms.jobs.services import run_job
from kms.notify.models import Notification
from kms.notify.services import announce
from tests.conftest import csrf_token_from, login

EVENTS = ["article.published", "hire.started"]


def _admin_client(app, make_user):
    client = app.test_client()
    admin = make_user(Role.ADMIN)
    assert login(client, admin).status_code == 302
    return client, admin


def _add_webhook(client, url: str, events=EVENTS) -> str:
    """Add a webhook through the admin page; the signing secret the page shows once."""
    response = client.post("/admin/integrations/webhooks", data={"url": url, "events": events})
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    page = response.get_data(as_text=True)
    secret = re.search(r'id="new-secret"[^>]*value="([^"]+)"', page).group(1)
    assert response.headers["Cache-Control"] == "no-store"
    return secret


def _announce(name: str, payload: dict, team: str | None = None) -> None:
    announce(name, payload, team=team, actor=SYSTEM)
    db.session.commit()  # the test is the caller: it owns the transaction


def test_an_event_reaches_the_webhook_once_with_a_signature_the_integrator_can_check(
    app, make_user, receiver
):
    client, _ = _admin_client(app, make_user)
    secret = _add_webhook(client, receiver.url + "/hook")
    assert secret not in client.get("/admin/integrations").get_data(as_text=True)  # shown once only

    _announce("article.published", {"title": "Refund policy", "url": "/handbook/refund-policy"})
    _announce("training.overdue_summary", {"title": "not chosen"})  # an event this webhook did not choose
    assert "1 sent" in run_job(app, worker.JOB_NAME, owner="test")  # as `kms worker` runs it
    worker.run()  # a second run sends nothing again

    posts = receiver.posts("/hook")
    assert len(posts) == 1
    hit = posts[0]
    body = hit.json()
    assert body["event"] == "article.published" and body["data"]["title"] == "Refund policy"
    assert isinstance(body["id"], int) and body["created_at"].endswith("Z")
    assert hit.headers["X-Kms-Event"] == "article.published" and hit.headers["X-Kms-Delivery"].isdigit()
    expected = "sha256=" + hmac.new(secret.encode(), hit.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hit.headers["X-Kms-Signature"], expected)
    wrong = "sha256=" + hmac.new(b"another secret", hit.body, hashlib.sha256).hexdigest()
    assert hit.headers["X-Kms-Signature"] != wrong


def test_a_receiver_answering_500_gets_the_same_delivery_again_and_the_log_shows_both(
    app, make_user, receiver
):
    client, _ = _admin_client(app, make_user)
    _add_webhook(client, receiver.url + "/hook")
    webhook_id = db.session.scalar(select(Webhook.id))
    receiver.answers[:] = ["500"]
    _announce("hire.started", {"name": "Nina New"}, team="Support EMEA")

    worker.run()
    log_page = client.get(f"/admin/integrations/webhooks/{webhook_id}").get_data(as_text=True)
    assert "HTTP 500" in log_page and "pending" in log_page
    worker.run()

    first, second = receiver.posts("/hook")
    assert first.body == second.body
    assert first.headers["X-Kms-Delivery"] == second.headers["X-Kms-Delivery"]
    assert first.headers["X-Kms-Signature"] == second.headers["X-Kms-Signature"]
    log_page = client.get(f"/admin/integrations/webhooks/{webhook_id}").get_data(as_text=True)
    assert "sent" in log_page and "HTTP 200" in log_page


def test_a_receiver_that_never_answers_times_out_and_the_delivery_is_retried(app, make_user, receiver):
    client, _ = _admin_client(app, make_user)
    _add_webhook(client, receiver.url + "/hook")
    webhook_id = db.session.scalar(select(Webhook.id))
    receiver.answers[:] = ["hang"]
    _announce("article.published", {"title": "Escalations"})

    summary = worker.run()
    assert "1 retry" in summary
    log_page = client.get(f"/admin/integrations/webhooks/{webhook_id}").get_data(as_text=True)
    assert "no answer within 0.5 s" in log_page
    worker.run()

    posts = receiver.posts("/hook")
    assert len(posts) == 2 and posts[0].body == posts[1].body
    assert "sent" in client.get(f"/admin/integrations/webhooks/{webhook_id}").get_data(as_text=True)


def test_repeated_failures_switch_the_webhook_off_and_tell_every_admin_in_kms(app, make_user, receiver):
    client, admin = _admin_client(app, make_user)
    other_admin = make_user(Role.ADMIN)
    member = make_user(Role.MEMBER)
    _add_webhook(client, receiver.url + "/hook")
    receiver.answers[:] = ["500"] * 10
    _announce("article.published", {"title": "One"})

    for _ in range(3):  # KMS_WEBHOOK_DISABLE_AFTER = 3 in these tests
        worker.run()
    assert len(receiver.posts("/hook")) == 3
    webhook = db.session.scalar(select(Webhook))
    assert not webhook.active and "3 failed deliveries" in webhook.disabled_reason

    notices = db.session.scalars(
        select(Notification).where(Notification.kind == "integrations.target_disabled")
    ).all()
    assert {n.user_id for n in notices} == {admin.id, other_admin.id}
    assert member.id not in {n.user_id for n in notices}
    assert "switched off" in notices[0].title

    _announce("article.published", {"title": "Two"})
    worker.run()
    assert len(receiver.posts("/hook")) == 3  # nothing more is sent while it is off
    page = client.get("/admin/integrations").get_data(as_text=True)
    assert "off" in page and "Switch on" in page

    token = csrf_token_from(page)
    response = client.post(f"/admin/integrations/webhooks/{webhook.id}/enable", data={"csrf_token": token})
    assert response.status_code == 303
    worker.run()
    # Both held deliveries go out once it is back on: the one that failed, and the event from while it was off.
    assert [p.json()["data"]["title"] for p in receiver.posts("/hook")[3:]] == ["One", "Two"]


def test_team_channels_hear_their_own_team_and_site_wide_events_in_each_apps_format(app, make_user, receiver):
    client, _ = _admin_client(app, make_user)
    for team, kind, path in (("Support EMEA", "slack", "/slack-hook"), ("Billing", "teams", "/teams-hook")):
        response = client.post(
            "/admin/integrations/channels",
            data={"team": team, "kind": kind, "url": receiver.url + path, "events": EVENTS},
        )
        assert response.status_code == 303, response.get_data(as_text=True)[:1500]
    page = client.get("/admin/integrations").get_data(as_text=True)
    assert receiver.url + "/slack-hook" not in page  # a channel's webhook address is a credential

    link = {"endpoint": "articles.show", "values": {"slug": "refunds"}}  # as kms.articles announces it
    _announce("article.published", {"title": "Refunds <fast> & fair", "link": link})
    _announce("hire.started", {"name": "Nina New", "opening": "Support agent"}, team="Support EMEA")
    worker.run()

    slack = [p.json() for p in receiver.posts("/slack-hook")]
    teams = [p.json() for p in receiver.posts("/teams-hook")]
    assert len(slack) == 2 and len(teams) == 1  # Billing does not hear Support EMEA's new hire
    article_url = "https://kms.example" + app.url_map.bind("kms").build("articles.show", {"slug": "refunds"})
    published = next(m for m in slack if "Refunds" in m["text"])
    assert published["text"].endswith(f"<{article_url}|Refunds &lt;fast&gt; &amp; fair>")
    hired = next(m for m in slack if "Nina" in m["text"])
    assert "(Support EMEA): Nina New joins as Support agent" in hired["text"]
    card = teams[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["actions"][0]["url"] == article_url
    assert any(block["text"] == "Refunds <fast> & fair" for block in card["content"]["body"])
    assert json.loads(receiver.posts("/teams-hook")[0].body)["type"] == "message"


def test_two_senders_never_take_the_same_attempt_and_a_dead_senders_attempt_comes_back(
    app, make_user, receiver
):
    admin = make_user(Role.ADMIN)
    config = worker.delivery_config()
    integrations.add_webhook(url=receiver.url + "/hook", events=EVENTS, site_key=config.site_key, actor=admin)
    db.session.commit()
    _announce("article.published", {"title": "Once"})
    with unit_of_work():
        delivery.fan_out(config)
    with unit_of_work():
        (delivery_id,) = delivery.due()
    with unit_of_work():
        first = delivery.claim(delivery_id, config)
    with unit_of_work():
        second = delivery.claim(delivery_id, config)
    assert first is not None and second is None
    assert delivery_id not in _due()  # in flight: not due while the first sender may still be sending

    later = utcnow() + delivery.in_flight(config) + timedelta(seconds=1)  # the first sender died
    assert delivery_id in _due(later)
    with unit_of_work():
        retry = delivery.claim(delivery_id, config, now=later)
    assert retry is not None and retry.number == 2 and retry.body == first.body


def _due(now=None) -> list[int]:
    with unit_of_work():
        return delivery.due(now=now)
