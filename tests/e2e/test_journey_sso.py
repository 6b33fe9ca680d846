"""A person signs in with the company's identity provider and lands in kms with the role their group maps to.

The provider is real (node's oidc-provider, tests/oidc/provider.js) on 127.0.0.1; its login page is the one a
person sees at the provider. kms runs as deployed (gunicorn, production mode) with the KMS_OIDC_* settings.
"""

from __future__ import annotations

import json

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.harness import LiveServer, click_and_wait, fetch_as, wait_to_leave
from tests.sso import provider as oidc


@pytest.fixture(scope="module")
def sso_site(browser_available, tmp_path_factory):
    """kms with an admin and the rule "cs-leads" -> manager, team EMEA; the provider it trusts."""
    oidc.skip_or_fail_without_provider()
    idp_port = oidc.free_port()
    issuer = f"http://127.0.0.1:{idp_port}"
    server = LiveServer(
        instance=tmp_path_factory.mktemp("e2e-sso"),
        extra_env={
            "KMS_OIDC_ISSUER": issuer,
            "KMS_OIDC_CLIENT_ID": oidc.CLIENT_ID,
            "KMS_OIDC_CLIENT_SECRET": oidc.CLIENT_SECRET,
            "KMS_OIDC_GROUPS_CLAIM": "groups",
            "KMS_OIDC_LABEL": "Acme ID",
            "KMS_LOAD_STARTER_CONTENT": "0",
        },
    ).start()
    idp = oidc.start(
        tmp_path_factory.mktemp("e2e-oidc"),
        [f"{server.url}/login/sso/default/callback"],
        [f"{server.url}/login"],
        port=idp_port,
    )
    from kms.auth import services as accounts
    from kms.auth.models import Role
    from kms.auth.system import SYSTEM
    from kms.extensions import unit_of_work
    from kms.sso import services

    with server.app().app_context(), unit_of_work():
        admin, _ = accounts.create_user(
            "admin@example.test", "Ada Admin", Role.ADMIN, actor=SYSTEM, password="a long admin password 1"
        )
        services.add_rule(group_name="cs-leads", role="manager", team="EMEA", actor=admin)
    yield server, idp
    idp.stop()
    server.stop()


def test_a_team_lead_signs_in_with_the_provider_and_lands_as_a_manager_of_emea(sso_site, journey):
    server, idp = sso_site
    run = journey("sso-sign-in", server)
    browser = run.browser()
    run.visit(browser, "/login", "login-with-sso-button")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Sign in with Acme ID"))

    WebDriverWait(browser, 15).until(expected_conditions.url_contains(idp.issuer))  # the provider's page
    run.snap(browser, "provider-login-page")
    browser.find_element(By.NAME, "login").send_keys("lead")
    browser.find_element(By.NAME, "password").send_keys("any password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    WebDriverWait(browser, 15).until(lambda d: d.current_url.startswith(server.url))
    landed = wait_to_leave(browser, "/login")
    run.page_done(browser, "signed-in")
    assert "Lena Lead" in browser.find_element(By.CSS_SELECTOR, ".nav-user").text
    assert browser.find_elements(By.LINK_TEXT, "Hiring"), (
        f"a manager sees Hiring in the menu (landed on {landed})"
    )
    status, _, body = fetch_as(browser, f"{server.url}/api/me")
    me = json.loads(body)
    assert status == 200 and (me["email"], me["role"], me["team"]) == ("lead@example.test", "manager", "EMEA")
