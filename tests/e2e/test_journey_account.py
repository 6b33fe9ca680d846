"""A team member looks after their own account: name, an API token for a script, and revoking it.

Runs on the demo site (`live_server`), the starting point the handbook, training, hiring and search journeys
share. The token is used the way a script would use it: plain HTTP with an Authorization header.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from selenium.webdriver.common.by import By

from tests.e2e.harness import (
    click_and_wait,
    keyboard_form,
    submit_and_wait,
    text_of,
    wait_for_path,
    wait_to_leave,
)


def api_me(server, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_a_member_renames_themself_and_uses_then_revokes_an_api_token(live_server, journey):
    run = journey("account-and-tokens", live_server)
    email, password = live_server.demo_logins["member"][0]
    browser = run.browser()

    run.open(browser, "/login")
    keyboard_form(browser, [("email", email), ("password", password)])
    wait_to_leave(browser, "/login")
    run.open(browser, "/account")
    run.page_done(browser, "account")

    # Rename, with the keyboard: the header follows at once.
    keyboard_form(browser, [("profile-name", "Nina N. Newhire")])
    wait_for_path(browser, "/account")
    assert "Profile saved" in text_of(browser, ".flashes")
    assert text_of(browser, ".nav-user a.nav-account") == "Nina N. Newhire"

    # A token for a chat bot, behind the "Integrations" disclosure: shown once, works for the API as this user.
    browser.find_element(By.CSS_SELECTOR, "details.integrations summary").click()
    form = browser.find_element(By.ID, "token-name").find_element(By.XPATH, "./ancestor::form")
    browser.find_element(By.ID, "token-name").send_keys("support chat bot")
    click_and_wait(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for_path(browser, "/account")
    secret = browser.find_element(By.ID, "new-token").get_attribute("value")
    assert secret.startswith("kms_")
    run.page_done(browser, "token-created")
    status, me = api_me(live_server, secret)
    assert status == 200 and me["email"] == email and me["name"] == "Nina N. Newhire"

    # The token list shows it by name; revoking it stops the script at once.
    rows = browser.find_elements(By.CSS_SELECTOR, "table tbody tr")
    row = next(r for r in rows if "support chat bot" in r.text)
    revoke = row.find_element(By.CSS_SELECTOR, "button")

    def revoke_and_confirm():
        revoke.click()
        browser.switch_to.alert.accept()  # kms.js asks "Revoke this token?" first

    submit_and_wait(browser, revoke_and_confirm)
    wait_for_path(browser, "/account")
    assert "Token revoked" in text_of(browser, ".flashes")
    run.page_done(browser, "token-revoked")
    status, body = api_me(live_server, secret)
    assert status == 401 and "error" in body

    # The header keeps the new name on the next visit, in a new browser too.
    again = run.browser()
    run.open(again, "/login")
    keyboard_form(again, [("email", email), ("password", password)])
    wait_to_leave(again, "/login")
    assert text_of(again, ".nav-user a.nav-account") == "Nina N. Newhire"
