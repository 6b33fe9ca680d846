"""Other features' say over password logins (single sign-on's SSO-only mode, say).

auth sits below every other feature, so it cannot ask them directly; instead a feature registers
`gate(user) -> refusal message or None`, and a password login, password confirmation, password change or
set-password link is refused with the first message a gate gives.
"""

from __future__ import annotations

from collections.abc import Callable

PasswordGate = Callable[[object], "str | None"]
_EXTENSION = "kms_password_gates"


def add_password_gate(app, gate: PasswordGate) -> None:
    """Register a gate that may refuse password use for a user."""
    app.extensions.setdefault(_EXTENSION, []).append(gate)


def password_refusal(app, user) -> str | None:
    """The first gate's refusal for this user's password use, or None when passwords are allowed."""
    for gate in app.extensions.get(_EXTENSION, []):
        message = gate(user)
        if message:
            return message
    return None
