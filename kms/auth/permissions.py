"""The permission table: every action a route may need, and the roles allowed to do it.

Every view declares one action with @requires(...). A test walks app.url_map and checks each route against
this table for anonymous users and every role, so a route without an action fails the suite.
"""

from __future__ import annotations

import functools

from flask import abort, jsonify, request
from flask_login import current_user, login_fresh

from kms.auth.models import Role
from kms.extensions import login_manager

ANYONE = "anyone"  # no login needed (login page, health check, set-password links)
EVERY_ROLE = frozenset(Role)
EDITORS = frozenset({Role.ADMIN, Role.AUTHOR})
LEADS = frozenset({Role.ADMIN, Role.MANAGER})
STAFF = frozenset({Role.ADMIN, Role.MANAGER, Role.AUTHOR})

PERMISSIONS: dict[str, frozenset[Role] | str] = {
    # site and accounts
    "public": ANYONE,
    "site.home": EVERY_ROLE,
    "account.self": EVERY_ROLE,  # own profile, password, time zone, API tokens
    "api.me": EVERY_ROLE,
    "user.manage": frozenset({Role.ADMIN}),
    "notify.own": EVERY_ROLE,  # one's own notifications and notification settings
    "mail.manage": frozenset({Role.ADMIN}),  # Admin -> Mail: e-mail settings, failed messages, retry/drop
    # handbook
    "handbook.read": EVERY_ROLE,
    "handbook.flag": EVERY_ROLE,
    "handbook.write": EDITORS,
    "markdown.preview": STAFF,  # the editor's live preview (articles, lessons, quiz explanations)
    "handbook.review": frozenset({Role.ADMIN, Role.AUTHOR, Role.MANAGER}),
    "process.manage": EDITORS,
    "handbook.categories": LEADS,  # add categories, switch review-before-publishing on or off
    # training
    "training.learn": EVERY_ROLE,
    "training.edit": frozenset({Role.ADMIN, Role.AUTHOR, Role.MANAGER}),
    "training.manage": LEADS,  # assign paths, team view, shadowing planner
    # hiring: any user may be an interviewer; services check the assignment and hide the rest (404)
    "hiring.interview": EVERY_ROLE,
    "hiring.manage": LEADS,
    "hiring.rubric": frozenset({Role.ADMIN}),
    "hiring.audit": frozenset({Role.ADMIN}),  # the log of who viewed, changed or exported hiring data
    # media: a file is served only to those who may open a page that uses it (kms.media checks, else 404)
    "media.read": EVERY_ROLE,
    "media.upload": STAFF,  # services check the owner: edit rights on the page, or a lead for candidates
    # metrics: ticket rows in (CSV upload, CLI, API); an API token writes with its owner's role
    "metrics.import": LEADS,
    "metrics.api": LEADS,
    "metrics.mapping": frozenset({Role.ADMIN}),  # save custom column mappings for exports without a preset
    # metrics dashboards: everyone sees their own figures beside their team's (services hide other reps: 404)
    "metrics.view": EVERY_ROLE,
    "metrics.team": LEADS,  # team and company dashboards, rankings of every rep, hiring-to-ramp
    "metrics.coach": LEADS,  # confirm top performers as hosts, assign refreshers, rules and cadence
    "metrics.rules.all": frozenset({Role.ADMIN}),  # refresher rules for every team (the starter rules)
    # search
    "search.query": EVERY_ROLE,
    "search.gaps": frozenset({Role.ADMIN, Role.AUTHOR, Role.MANAGER}),
    "search.gaps.dismiss": EDITORS,  # take a query that is not a gap off the report
    "search.health": frozenset({Role.ADMIN}),  # documents the index could not take, with their errors
    "search.rebuild": frozenset({Role.ADMIN}),  # rebuild this server's index from /search/health
    # scheduled jobs
    "jobs.view": frozenset({Role.ADMIN}),  # /admin/jobs: last runs, errors, lease holders, "Run now"
    # integrations: Slack, Teams and outgoing webhooks. The chat apps' own calls use "public" and are checked
    # by their request signature in the view (kms.integrations.views.chat).
    "integrations.manage": frozenset({Role.ADMIN}),
}


# Confidential hiring data and user administration need a login made with the password in this session:
# a session restored from a "keep me logged in" cookie (on a shared or lost device, say) asks for the password
# again first. API calls with a bearer token are exempt: the token is the credential.
FRESH_LOGIN_ACTIONS = frozenset(
    {"user.manage", "hiring.interview", "hiring.manage", "hiring.rubric", "hiring.audit"}
)


def needs_fresh_login(action: str) -> bool:
    """True when this request must confirm the password before `action` (see FRESH_LOGIN_ACTIONS)."""
    if action not in FRESH_LOGIN_ACTIONS or login_fresh():
        return False
    return bearer_token() is None


def bearer_token() -> str | None:
    """The token of an `/api/` call's `Authorization: Bearer <token>` header (scheme in any case), else None."""
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if not request.path.startswith("/api/") or scheme.lower() != "bearer":
        return None
    return token.strip()


def api_unauthorized():
    """The JSON 401 of an /api/ call without a usable login or token, saying which."""
    if bearer_token() is not None:
        message = "The API token is not valid: it is unknown, revoked, or its owner was deactivated."
    else:
        message = "Authentication required: log in, or send the header Authorization: Bearer <token>."
    return jsonify(error=message, status=401), 401, {"WWW-Authenticate": 'Bearer realm="kms"'}


def allowed(user, action: str) -> bool:
    """True when `user` (possibly anonymous) may perform `action`."""
    roles = PERMISSIONS[action]
    if roles == ANYONE:
        return True
    return bool(getattr(user, "is_authenticated", False)) and user.role in roles


def requires(action: str):
    """Guard a view with an action from PERMISSIONS; unknown actions fail at import, not in production."""
    roles = PERMISSIONS[action]

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if roles != ANYONE:
                if not current_user.is_authenticated:
                    if request.path.startswith("/api/"):
                        return api_unauthorized()
                    return login_manager.unauthorized()
                if current_user.role not in roles:
                    abort(403)
                if needs_fresh_login(action):
                    if request.path.startswith("/api/"):
                        return jsonify(
                            error="confirm your password first: open /reauthenticate in the browser, "
                            "or call the API with a bearer token"
                        ), 401
                    return login_manager.needs_refresh()
            return view(*args, **kwargs)

        guarded.required_action = action
        return guarded

    return decorate
