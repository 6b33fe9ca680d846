"""Journey: an admin invites a new hire by e-mail; the new hire sets a password from the link in the message the
SMTP server received, logs out, uses "Forgot your password?" and resets it through a second e-mail, then logs in
with the new password.

The e-mails go through a real SMTP server (aiosmtpd) started by the test; the sender that `kms worker` runs
every few seconds is run here in the test process at the moments the journey needs it.
"""

from __future__ import annotations

import re

from selenium.webdriver.common.by import By

from tests.e2e.harness import (
    LiveServer,
    click_and_wait,
    keyboard_form,
    log_in,
    text_of,
    wait_for_path,
    wait_to_leave,
)

HIRE = {"name": "Nora Newhire", "email": "nora@example.test", "role": "member", "team": "EMEA"}
FIRST_PASSWORD = "nora's first passphrase"
NEW_PASSWORD = "nora's second passphrase"


def run_sender(server: LiveServer) -> None:
    """What `kms worker`'s mail-sender job does every few seconds (links on the server's address)."""
    from kms import create_app
    from kms.extensions import utcnow
    from kms.notify.sender import send_pending

    settings = {name: value for name, value in server.env().items() if name.startswith("KMS_")}
    app = create_app({**settings, "KMS_BASE_URL": server.url})
    with app.app_context():
        send_pending(utcnow())


def link_in_mail(smtp_server, address: str, number: int, path: str) -> str:
    smtp_server.wait_for(number)
    mails = smtp_server.to(address)
    assert len(mails) == number, [m.message["Subject"] for m in smtp_server.messages]
    text = mails[-1].text
    match = re.search(rf"(http://127\.0\.0\.1:\d+{path}\S+)", text)
    assert match, text
    return match.group(1)


def test_a_new_hire_is_invited_by_email_and_later_resets_the_password_by_email(
    live_server, journey, smtp_server
):
    mail_site = live_server
    run = journey("mail", mail_site)

    # The admin invites the new hire; the page says the e-mail is on its way and still shows the link.
    admin = run.browser()
    log_in(admin, mail_site, *mail_site.demo_logins["admin"][0])
    run.open(admin, "/admin/users")
    form = admin.find_element(By.CSS_SELECTOR, "form[action='/admin/users']")
    form.find_element(By.ID, "name").send_keys(HIRE["name"])
    form.find_element(By.ID, "email").send_keys(HIRE["email"])
    form.find_element(By.ID, "team").send_keys(HIRE["team"])
    click_and_wait(admin, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert text_of(admin, "h1") == f"Invite link for {HIRE['name']}"
    assert "e-mail with this link is on its way" in text_of(admin, "main")
    shown = admin.find_element(By.ID, "invite-link").get_attribute("value")
    run.page_done(admin, "invite-sent")

    # The new hire opens the link from the message and chooses a password.
    run_sender(mail_site)
    invite = link_in_mail(smtp_server, HIRE["email"], 1, "/invite/")
    assert invite == shown
    hire = run.browser()
    hire.get(invite)
    assert text_of(hire, "h1") == f"Welcome, {HIRE['name']}"
    run.page_done(hire, "invite-accept")
    keyboard_form(hire, [("password", FIRST_PASSWORD), ("confirm", FIRST_PASSWORD)])
    wait_to_leave(hire, "/invite/")
    assert hire.find_element(By.CSS_SELECTOR, ".bell")  # the bell is in the header
    click_and_wait(hire, hire.find_element(By.CSS_SELECTOR, ".nav-user form button"))
    wait_for_path(hire, "/login")

    # Later: "Forgot your password?" from the login page, then the link from the second e-mail.
    click_and_wait(hire, hire.find_element(By.LINK_TEXT, "Forgot your password?"))
    wait_for_path(hire, "/password/forgot")
    run.page_done(hire, "forgot-password")
    keyboard_form(hire, [("email", HIRE["email"])])
    wait_for_path(hire, "/login")
    assert "If nora@example.test belongs to a kms account" in text_of(hire, ".flashes")
    run_sender(mail_site)
    reset = link_in_mail(smtp_server, HIRE["email"], 2, "/password/reset/")
    hire.get(reset)
    assert text_of(hire, "h1") == "Choose a new password"
    run.page_done(hire, "reset-password")
    keyboard_form(hire, [("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)])
    wait_for_path(hire, "/login")
    assert "Log in with the new password" in text_of(hire, ".flashes")

    # The new password works; the link does not work twice.
    assert log_in(hire, mail_site, HIRE["email"], NEW_PASSWORD) != "/login"
    hire.get(reset)
    assert "already used" in text_of(hire, "main")
