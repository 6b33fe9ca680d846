"""Numbers a person or a crawler may type into an address: never a server error, on any page."""

import pytest
from werkzeug.routing import IntegerConverter

from kms.auth.models import Role
from kms.search.indexer import EXTENSION
from tests.conftest import login

HOSTILE = ["99999999999999999999", "9" * 5000, "²", "-1", "1e3", "0x10", " 7", ""]
PLACEHOLDER = 123456789
QUERY_NUMBERS = [
    "page",
    "per_page",
    "limit",
    "offset",
    "from",
    "to",
    "process",
    "opening",
    "version",
    "user_id",
    "trainee_id",
    "owner_id",
    "month",
    "number",
]


def get_routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static" and "GET" in rule.methods and rule.endpoint != "auth.logout":
            yield rule


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER])
def test_hostile_numbers_in_paths_and_query_strings_never_cause_a_server_error(app, make_user, role):
    client = app.test_client()
    assert login(client, make_user(role)).status_code == 302
    app.extensions[EXTENSION].rebuild()  # an index to search (the start-up task builds it in a real run)
    problems = []
    for rule in get_routes(app):
        numbered = any(isinstance(c, IntegerConverter) for c in rule._converters.values())
        for value in ["2147483648", *HOSTILE[:3]] if numbered else [None]:
            values = {
                name: (PLACEHOLDER if isinstance(converter, IntegerConverter) else "sample")
                for name, converter in rule._converters.items()
            }
            path = rule.build(values, append_unknown=False)[1].replace(str(PLACEHOLDER), value or "")
            for number in HOSTILE:
                query = "q=refund&" + "&".join(f"{name}={number}" for name in QUERY_NUMBERS)
                status = client.get(f"{path}?{query}").status_code
                if status >= 500:
                    problems.append(f"GET {path}?…={number[:25]} -> {status}")
    assert not problems, "\n".join(sorted(set(problems))[:40])
