"""Journey 1: a new site is set up, the admin invites an author, a manager and a new hire, and each logs in.

Setup and every login are done with the keyboard only (TAB, typing, ENTER), which proves those forms work
without a mouse. Each person uses their own fresh browser, as they would on their own computer.
"""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.harness import click_and_wait, keyboard_form, text_of, texts_of, wait_for_path, wait_to_leave

ADMIN = {"name": "Ines Admin", "email": "ines@example.test", "password": "admin passphrase 2026"}
PEOPLE = [
    {
        "name": "Ada Author",
        "email": "ada@example.test",
        "role": "author",
        "team": "EMEA",
        "password": "ada's own passphrase",
    },
    {
        "name": "Max Manager",
        "email": "max@example.test",
        "role": "manager",
        "team": "EMEA",
        "password": "max's own passphrase",
    },
    {
        "name": "Nils Newhire",
        "email": "nils@example.test",
        "role": "member",
        "team": "AMER",
        "password": "nils's own passphrase",
    },
]


def header_name(driver) -> str:
    return text_of(driver, ".nav-user a.nav-account")


def log_in_with_keyboard(driver, run, email: str, password: str, label: str | None = None) -> None:
    run.open(driver, "/login")
    wait_for_path(driver, "/login")
    if label:
        run.page_done(driver, label)
    keyboard_form(driver, [("email", email), ("password", password)])
    wait_to_leave(driver, "/login")  # to the home page: the handbook once it exists, else the account


def invite(driver, run, person: dict, first: bool) -> str:
    """The admin fills the invite form and copies the set-password link shown on the next page."""
    run.open(driver, "/admin/users")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/admin/users']")
    form.find_element(By.ID, "name").send_keys(person["name"])
    form.find_element(By.ID, "email").send_keys(person["email"])
    Select(form.find_element(By.ID, "role")).select_by_value(person["role"])
    form.find_element(By.ID, "team").send_keys(person["team"])
    click_and_wait(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for_path(driver, "/admin/users")
    assert text_of(driver, "h1") == f"Invite link for {person['name']}"
    if first:
        run.page_done(driver, "invite-link")
    link = driver.find_element(By.ID, "invite-link").get_attribute("value")
    assert link.startswith(f"{run.server.url}/invite/"), link
    return link


def test_admin_sets_up_the_site_and_invites_a_team_whose_members_each_log_in(fresh_server, journey):
    run = journey("1-accounts", fresh_server)
    admin = run.browser()

    # First visit: the site sends the admin to setup, which is completed with the keyboard only.
    run.open(admin, "/")
    wait_for_path(admin, "/setup")
    run.page_done(admin, "setup")
    keyboard_form(
        admin,
        [
            ("name", ADMIN["name"]),
            ("email", ADMIN["email"]),
            ("password", ADMIN["password"]),
            ("confirm", ADMIN["password"]),
        ],
    )
    wait_for_path(admin, "/admin/users")
    assert header_name(admin) == ADMIN["name"]
    assert "Welcome to kms" in text_of(admin, ".flashes")
    run.page_done(admin, "users-after-setup")

    links = {
        person["email"]: invite(admin, run, person, first=index == 0) for index, person in enumerate(PEOPLE)
    }
    assert len(set(links.values())) == len(PEOPLE)
    run.open(admin, "/admin/users")
    rows = {
        row.find_element(By.CSS_SELECTOR, "td a").text: row.text
        for row in admin.find_elements(By.CSS_SELECTOR, "table tbody tr")
    }
    for person in PEOPLE:
        assert "invited" in rows[person["name"]] and person["role"] in rows[person["name"]]
    run.page_done(admin, "users-invited")

    for index, person in enumerate(PEOPLE):
        first = index == 0
        browser = run.browser()  # a fresh session: nothing shared with the admin or the others
        browser.get(links[person["email"]])
        assert text_of(browser, "h1") == f"Welcome, {person['name']}"
        if first:
            run.page_done(browser, "set-password")
        keyboard_form(browser, [("password", person["password"]), ("confirm", person["password"])])
        wait_to_leave(browser, "/invite/")
        assert header_name(browser) == person["name"]
        assert f"Welcome, {person['name']}" in text_of(browser, ".flashes")

        # Log out, then back in with the new password: the password really works.
        click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, ".nav-user button"))
        wait_for_path(browser, "/login")
        assert "logged out" in text_of(browser, ".flashes")
        log_in_with_keyboard(
            browser, run, person["email"], person["password"], label="login" if first else None
        )
        assert header_name(browser) == person["name"]
        run.snap(browser, f"home-{person['role']}")
        if first:
            run.check_accessibility(browser, "home")

        # The link worked once; opening it again shows a clear page instead of a form.
        browser.get(links[person["email"]])
        assert text_of(browser, "h1") == "This link does not work"
        if first:
            run.page_done(browser, "used-invite-link")

        # Only admins manage users: no menu entry, and the page itself answers "Not allowed".
        assert "Users" not in texts_of(browser, ".nav-links a")
        run.open(browser, "/admin/users")
        assert text_of(browser, "h1") == "Not allowed"
        assert not browser.find_elements(By.CSS_SELECTOR, "form[action='/admin/users']")
        if person["role"] == "member":
            run.page_done(browser, "member-not-allowed")

    # The admin, still logged in all along, now sees everyone active.
    run.open(admin, "/admin/users")
    rows = {
        row.find_element(By.CSS_SELECTOR, "td a").text: row.text
        for row in admin.find_elements(By.CSS_SELECTOR, "table tbody tr")
    }
    assert all("active" in rows[person["name"]] for person in PEOPLE)
    assert header_name(admin) == ADMIN["name"]
    run.page_done(admin, "users-active")

    admin.set_window_size(390, 844)  # a phone: the page fits the screen, wide tables scroll inside it
    run.page_done(admin, "users-phone")
    assert admin.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
