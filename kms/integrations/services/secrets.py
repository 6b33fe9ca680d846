"""The chat and webhook secrets integrations keep (signing secrets, tokens, webhook addresses), sealed with the
site's secret key (kms.sealing): the settings pages say when one can no longer be opened."""

from __future__ import annotations

import secrets as _random

from kms import sealing

PURPOSE = b"kms integrations secrets v1\x00"


def seal(value: str, *, site_key: str | bytes) -> str:
    return sealing.seal(value, site_key=site_key, purpose=PURPOSE)


def unseal(sealed: str | None, *, site_key: str | bytes) -> str | None:
    return sealing.unseal(sealed, site_key=site_key, purpose=PURPOSE)


def new_webhook_secret() -> str:
    """A fresh signing secret for an outgoing webhook (shown to the admin once)."""
    return "whsec_" + _random.token_urlsafe(32)
