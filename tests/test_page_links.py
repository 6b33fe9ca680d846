"""Links in pages are remembered per host and mount point: a site behind two names or prefixes links to itself."""

from __future__ import annotations

from kms.auth.models import Role
from tests.conftest import login


def test_links_follow_the_prefix_and_host_each_request_came_in_on(app, make_user):
    client = app.test_client()
    login(client, make_user(Role.MEMBER))
    plain = client.get("/handbook/").get_data(as_text=True)
    mounted = client.get("/handbook/", environ_overrides={"SCRIPT_NAME": "/kb"}).get_data(as_text=True)
    assert 'href="/handbook/articles"' in plain and "/kb/" not in plain
    assert 'href="/kb/handbook/articles"' in mounted
    assert 'href="/kb/static/kms.css"' in mounted and 'href="/static/kms.css"' in plain
    again = client.get("/handbook/").get_data(as_text=True)
    assert "/kb/" not in again


def test_links_with_arguments_keep_their_arguments(app, make_user):
    client = app.test_client()
    login(client, make_user(Role.MEMBER))
    with app.test_request_context("/"):
        from kms.web import page_url

        assert page_url("articles.browse", tag="vip") == "/handbook/articles?tag=vip"
        assert page_url("articles.browse", tag="apac") == "/handbook/articles?tag=apac"
        assert page_url("articles.browse", tag=["a", "b"]) == "/handbook/articles?tag=a&tag=b"
