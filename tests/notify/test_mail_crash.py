"""kill -9 of a sending process mid-batch: after a restart no message is lost and none is sent twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kms.auth import SYSTEM
from kms.extensions import db, utcnow
from kms.notify import services
from kms.notify.models import MailStatus, OutgoingMessage
from kms.notify.sender import send_pending

ROOT = Path(__file__).resolve().parents[2]

SENDER = textwrap.dedent(
    """
    import sys
    from kms import create_app
    from kms.extensions import utcnow
    from kms.notify.sender import send_pending

    app = create_app({
        "KMS_INSTANCE_PATH": sys.argv[1], "KMS_DATABASE_URL": sys.argv[2], "KMS_SMTP_URL": sys.argv[3],
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789", "KMS_LOAD_STARTER_CONTENT": "0",
        "KMS_BASE_URL": "https://kms.example.com", "KMS_MAIL_FROM": "kms <kms@example.com>",
    })
    with app.app_context():
        print(send_pending(utcnow()), flush=True)
    """
)


@pytest.mark.slow
def test_kill_9_mid_batch_loses_nothing_and_sends_nothing_twice_after_restart(
    app, make_user, smtp_server, tmp_path
):
    users = [make_user() for _ in range(6)]
    services.notify(users, "auth.password_reset", title="Reset your kms password", actor=SYSTEM)
    db.session.commit()
    smtp_server.handler.hold_data_number = 3  # the server keeps message 3 but holds its "250" reply
    instance = tmp_path / "sender"
    instance.mkdir()
    url = f"smtp://127.0.0.1:{smtp_server.port}?timeout=30"
    worker = subprocess.Popen(
        [sys.executable, "-c", SENDER, str(instance), app.config["SQLALCHEMY_DATABASE_URI"], url],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert smtp_server.handler.data_seen.wait(60), worker.stderr.read1().decode(errors="replace")
        worker.send_signal(signal.SIGKILL)  # dies holding message 3, its DATA answered by nobody
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        smtp_server.handler.release.set()
    assert len(smtp_server.messages) == 3

    # Restart once the dead sender's leases have run out.
    send_pending(utcnow() + timedelta(minutes=10))
    received = [r for m in smtp_server.wait_for(6) for r in m.recipients]
    assert sorted(received) == sorted(u.email for u in users)  # none lost, none twice
    db.session.rollback()
    states = dict(db.session.execute(select(OutgoingMessage.user_id, OutgoingMessage.status)).all())
    crashed = [user_id for user_id, status in states.items() if status == MailStatus.UNKNOWN]
    assert len(crashed) == 1 and list(states.values()).count(MailStatus.SENT) == 5
    # "unknown" is never resent by itself: another run sends nothing more.
    send_pending(utcnow() + timedelta(hours=2))
    assert len(smtp_server.messages) == 6
