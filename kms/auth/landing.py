"""Where a person lands after logging in: each feature adds rules when its blueprint is registered.

auth sits below every other feature, so it cannot ask training or the handbook directly; instead each feature
registers `rule(user) -> URL or None` with a priority, and the first rule (lowest number) with an answer wins.
Priorities in use: 10 onboarding in progress (training), 20 an author's documentation queue (handbook),
30 a manager's team view (training), 40 an admin's handbook home (handbook).
"""

from __future__ import annotations

from collections.abc import Callable

LandingRule = Callable[[object], "str | None"]
_EXTENSION = "kms_landing_rules"


def add_landing_rule(app, priority: int, rule: LandingRule) -> None:
    """Register a landing rule on the app; rules are asked in increasing priority."""
    rules = app.extensions.setdefault(_EXTENSION, [])
    rules.append((priority, rule))
    rules.sort(key=lambda entry: entry[0])


def landing_url(app, user) -> str | None:
    """The page where `user`'s work is, as the first rule that answers says; None when no rule does."""
    for _, rule in app.extensions.get(_EXTENSION, []):
        url = rule(user)
        if url:
            return url
    return None
