"""Secrets kept for later use (signing secrets, tokens, webhook addresses), sealed with the site's secret key.

The database alone (a copied dump, a backup) does not reveal them; the running site can still sign and
post. If the site's secret key changes, sealed values can no longer be opened: the settings pages then say
so and the admin enters them again."""

from __future__ import annotations

import base64
import hashlib
import secrets as _random

from cryptography.fernet import Fernet, InvalidToken

_CONTEXT = b"kms integrations secrets v1\x00"


def _box(site_key: str | bytes) -> Fernet:
    raw = site_key.encode("utf-8") if isinstance(site_key, str) else site_key
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(_CONTEXT + raw).digest()))


def seal(value: str, *, site_key: str | bytes) -> str:
    """The value encrypted and authenticated (Fernet) under a key derived from the site's secret key."""
    return _box(site_key).encrypt(value.encode("utf-8")).decode("ascii")


def unseal(sealed: str | None, *, site_key: str | bytes) -> str | None:
    """The sealed value, or None when there is none or it was sealed under another site key."""
    if not sealed:
        return None
    try:
        return _box(site_key).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None


def new_webhook_secret() -> str:
    """A fresh signing secret for an outgoing webhook (shown to the admin once)."""
    return "whsec_" + _random.token_urlsafe(32)
