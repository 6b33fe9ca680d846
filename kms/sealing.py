"""Secrets kms keeps for later use (chat signing secrets, webhook addresses, OpenID client secrets), sealed with
the site's secret key.

Fernet (AES-128-CBC plus HMAC-SHA256, from `cryptography`) under a key derived from the site's secret key and a
purpose label, so a value sealed for one purpose never opens as another. A copied database or backup alone does
not reveal the secrets; the running site can still use them. If the site's secret key changes, sealed values
can no longer be opened: `unseal` answers None and the settings pages ask the admin to enter them again."""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


def _box(site_key: str | bytes, purpose: bytes) -> Fernet:
    # Imported at first use: `cryptography` adds ~20 ms to every start, and most never seal anything.
    from cryptography.fernet import Fernet

    raw = site_key.encode("utf-8") if isinstance(site_key, str) else site_key
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(purpose + raw).digest()))


def seal(value: str, *, site_key: str | bytes, purpose: bytes) -> str:
    """The value encrypted and authenticated under a key for this site and purpose (ASCII text)."""
    return _box(site_key, purpose).encrypt(value.encode("utf-8")).decode("ascii")


def unseal(sealed: str | None, *, site_key: str | bytes, purpose: bytes) -> str | None:
    """The sealed value, or None when there is none, or it was sealed under another site key or purpose."""
    if not sealed:
        return None
    from cryptography.fernet import InvalidToken

    try:
        return _box(site_key, purpose).decrypt(sealed.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None
