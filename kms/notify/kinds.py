"""Notification kinds: what kms tells people, who hears it by default, and on which channel.

Every kind is registered once in KINDS (features add theirs on import of this module's users, e.g. helper
modules in `kms.notify.kinds_*` or their own init_app). A person's preference per kind picks one channel:

- "inapp":  the bell and the notifications page only;
- "email":  in-app and an e-mail at once;
- "digest": in-app and one line in the daily digest e-mail;
- "off":    nothing.

Mandatory kinds (invite, password reset) are always e-mailed at once, never shown in-app (the person cannot log
in yet, and the message carries a secret link), and are not on the preferences page.
"""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS: dict[str, str] = {
    "inapp": "In kms only",
    "email": "E-mail at once",
    "digest": "E-mail in the daily digest",
    "off": "Off",
}


@dataclass(frozen=True)
class Kind:
    name: str  # e.g. "training.assigned"
    label: str  # shown on the preferences page
    default: str  # "inapp" | "email" | "digest" | "off"  (email and digest also show in-app)
    manager_default: str | None = (
        None  # default for managers/admins when different (team notices -> "digest")
    )
    mandatory: bool = False  # invite, password reset: always e-mailed, not on the preferences page

    def __post_init__(self) -> None:
        for channel in (self.default, self.manager_default):
            if channel is not None and channel not in CHANNELS:
                raise ValueError(f"kind {self.name}: unknown channel {channel!r}")


KINDS: dict[str, Kind] = {}


def add_kind(kind: Kind) -> Kind:
    """Register a kind (idempotent for an equal definition; a different one under the same name is a bug)."""
    known = KINDS.get(kind.name)
    if known is not None and known != kind:
        raise ValueError(f"notification kind {kind.name!r} is already registered differently")
    KINDS[kind.name] = kind
    return kind


INVITE = add_kind(Kind("auth.invite", "Invitation to kms", "email", mandatory=True))
PASSWORD_RESET = add_kind(Kind("auth.password_reset", "Password reset link", "email", mandatory=True))
DIGEST = "notify.digest"  # the daily digest message itself (an outbox kind, never a preference)

# Event name -> label, for team channels and outgoing webhooks (read by the chat helper).
EVENT_KINDS: dict[str, str] = {
    "article.published": "An article was published",
    "hire.started": "A new hire started",
    "training.overdue_summary": "Summary of overdue training",
}
