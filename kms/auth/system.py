"""The system actor: who acts when no person does (CLI commands, content imports, the demo, jobs).

It is never stored as a user row: rows it writes name no person (the column stays empty, shown as "system").
It passes a permission check only where that check names one of its actions explicitly; every other check
refuses it like any user without the role (its role is None).
"""

from __future__ import annotations

from kms.errors import Forbidden

CREATE_USERS = "user.create"  # `kms create-user`, `kms demo`, owners created by an import
IMPORT_CONTENT = "content.import"  # `kms import`: publishes without review, new rubric versions
PURGE_CANDIDATES = "hiring.purge"  # `kms hiring-purge` (cron): delete rejected candidates past retention
IMPORT_METRICS = "metrics.import"  # `kms metrics import`: ticket rows from a helpdesk export


class SystemActor:
    """A named, non-person actor with an explicit list of actions it may take."""

    id = None
    role = None
    team = ""
    active = True
    is_authenticated = False

    def __init__(self, name: str, actions: frozenset[str]):
        self.name = name
        self.actions = actions

    def allows(self, action: str) -> bool:
        """Whether this actor may take the action (only the ones it was given by name)."""
        return action in self.actions

    def __repr__(self) -> str:
        return f"<SystemActor {self.name!r}>"


SYSTEM = SystemActor(
    "kms system", frozenset({CREATE_USERS, IMPORT_CONTENT, PURGE_CANDIDATES, IMPORT_METRICS})
)


def is_system(actor, action: str) -> bool:
    """True when the actor is the system actor and that action was given to it by name."""
    return isinstance(actor, SystemActor) and actor.allows(action)


def require_system(actor, action: str) -> None:
    """Refuse anything but a system actor allowed to take this action (for jobs no person runs)."""
    if not is_system(actor, action):
        raise Forbidden(f"Only the system runs {action}.")
