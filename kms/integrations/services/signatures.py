"""Request signatures: Slack's signing secret, Teams' outgoing-webhook HMAC, and kms's own webhook header.

Every comparison is constant-time (hmac.compare_digest)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

SLACK_MAX_AGE = 300  # seconds: Slack requests older (or further in the future) than this are refused


def slack_signature(body: bytes, timestamp: str, signing_secret: str) -> str:
    """What Slack sends in X-Slack-Signature: v0= and the hex HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    base = b"v0:" + timestamp.encode("ascii", "replace") + b":" + body
    return "v0=" + hmac.new(signing_secret.encode("utf-8"), base, hashlib.sha256).hexdigest()


def slack_request_valid(
    body: bytes, timestamp: str | None, signature: str | None, signing_secret: str | None, *, now: float
) -> bool:
    """True when the request was signed with the signing secret within the last five minutes."""
    if not signing_secret or not timestamp or not signature:
        return False
    timestamp = timestamp.strip()
    if not timestamp.isdigit() or len(timestamp) > 12 or abs(now - int(timestamp)) > SLACK_MAX_AGE:
        return False
    expected = slack_signature(body, timestamp, signing_secret)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8", "replace"))


def teams_signature(body: bytes, security_token: str) -> str:
    """What Teams sends in Authorization: "HMAC " and the base64 HMAC-SHA256 of the body, keyed with the
    base64-decoded security token shown when the outgoing webhook was created."""
    key = base64.b64decode(security_token)
    return "HMAC " + base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")


def teams_request_valid(body: bytes, authorization: str | None, security_token: str | None) -> bool:
    """True when the Authorization header carries the body's HMAC under the security token."""
    if not security_token or not authorization:
        return False
    try:
        expected = teams_signature(body, security_token)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(expected.encode("ascii"), authorization.strip().encode("utf-8", "replace"))


def webhook_signature(body: bytes, secret: str) -> str:
    """The X-Kms-Signature header of an outgoing webhook: sha256= and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
