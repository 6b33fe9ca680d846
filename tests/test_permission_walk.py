"""Every route declares an action from the permission table and answers each role accordingly."""

import re

import pytest
from werkzeug.routing import IntegerConverter

from kms.auth.models import Role
from kms.auth.permissions import ANYONE, PERMISSIONS
from tests.conftest import login

ROLES = [None, *Role]  # None = anonymous
EXEMPT = {"static"}  # Flask's own static files


def sample_url(rule) -> str:
    """Fill every URL variable with a plausible value; a missing object is a 404, never a pass."""
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 1 if isinstance(converter, IntegerConverter) else "sample"
    url = rule.build(values, append_unknown=False)[1]
    return url


def routes(app):
    # Logging out ends the walk's session, so it goes last.
    rules = sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint == "auth.logout")
    for rule in rules:
        if rule.endpoint in EXEMPT:
            continue
        yield rule, app.view_functions[rule.endpoint]


def test_every_route_declares_an_action_from_the_permission_table(app):
    missing = [rule.rule for rule, view in routes(app) if getattr(view, "required_action", None) is None]
    assert not missing, f"routes without @requires: {missing}"
    unknown = [rule.rule for rule, view in routes(app) if view.required_action not in PERMISSIONS]
    assert not unknown


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_each_role_gets_exactly_what_the_table_allows(app, make_user, role):
    client = app.test_client()
    if role is not None:
        assert login(client, make_user(role)).status_code == 302
    else:
        make_user(Role.ADMIN)  # a site with users: /login and /setup behave as after first run
    problems = []
    for rule, view in routes(app):
        allowed_roles = PERMISSIONS[view.required_action]
        allowed = allowed_roles == ANYONE or (role is not None and role in allowed_roles)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = sample_url(rule)
            response = client.open(url, method=method)
            status = response.status_code
            if allowed:
                denied = status == 403 or (
                    status in (301, 302)
                    and "/login" in (response.location or "")
                    and rule.endpoint not in ("auth.login", "auth.logout")
                )
                if denied or status >= 500:
                    problems.append(f"{method} {url} -> {status} but {role} is allowed")
            elif role is None:
                if not (status == 401 or (status == 302 and re.search(r"/login", response.location or ""))):
                    problems.append(f"{method} {url} -> {status}; anonymous must be sent to log in")
            elif status not in (403, 404):
                problems.append(f"{method} {url} -> {status} but {role.value} is not allowed")
    assert not problems, "\n".join(problems)
