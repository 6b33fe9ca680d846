"""Accounts: users, roles, login, first-run setup, invites, API tokens and the permission table."""

from flask import current_app
from flask_login import current_user

from kms.auth import commands, services
from kms.auth.permissions import allowed, bearer_token
from kms.auth.system import SYSTEM, SystemActor
from kms.auth.views import bp
from kms.extensions import login_manager, unit_of_work
from kms.navigation import NavEntry, add_nav_entry
from kms.web import register_token_check

NAV = NavEntry(
    "Users",
    "auth.users",
    order=40,
    visible=lambda user: allowed(user, "user.manage"),
    current=lambda endpoint: endpoint.startswith("auth.") and "user" in endpoint,
)


def can(action: str) -> bool:
    """For templates: may the logged-in user (or the visitor) do `action`? The permission table decides."""
    return allowed(current_user._get_current_object(), action)  # one proxy look-up, not three


USER_FACTS = "kms.auth.user_facts"


def add_user_fact(app, name: str, expression) -> None:
    """Have the session's user load also answer a per-user question a feature asks on every page (the Hiring
    menu's "is this person an interviewer?"): `expression(users_table)` is a SQL expression correlated with
    the users table. Read the answer with user_fact(user, name, ask), which asks itself for other users."""
    facts = app.extensions.setdefault(USER_FACTS, {"facts": {}, "statement": None})
    facts["facts"][name] = expression
    facts["statement"] = None


def load_user(login_id: str):
    """The user a session cookie names, if that login is still valid (with the features' user facts)."""
    facts = current_app.extensions.get(USER_FACTS)
    if not facts or not facts["facts"]:
        return services.load_user(login_id)
    if facts["statement"] is None:
        facts["statement"] = services.user_statement(facts["facts"])
    return services.load_user(login_id, facts["statement"], tuple(facts["facts"]))


def load_user_from_token(_request):
    """The user an `/api/` call's bearer token belongs to; a token never opens an HTML page."""
    token = bearer_token()
    if not token:
        return None
    with unit_of_work():  # records when the token was last used
        return services.user_for_api_token(token)


def is_token_request() -> bool:
    """True for an `/api/` call that authenticates with a bearer token instead of the session cookie."""
    return bearer_token() is not None


def init_app(app) -> None:
    """Add accounts to the app: login from the session or a token, the account pages, the Users menu entry,
    the `can(action)` template helper, the token check the base uses to spare token calls the CSRF check, and
    the `kms create-user` and `kms create-token` commands."""
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_token)
    register_token_check(app, is_token_request)
    app.register_blueprint(bp)
    add_nav_entry(app, NAV)
    app.add_template_global(can, "can")
    for command in commands.COMMANDS:
        app.cli.add_command(command)


user_fact = services.user_fact

__all__ = ["SYSTEM", "SystemActor", "add_user_fact", "bp", "init_app", "user_fact"]
