"""Journey 3: a new hire is invited, their manager assigns the "CSM — first 30 days" path and books shadowing
through the pages, and the new hire works through the first module and its quiz until the onboarding progress
bar moves; the shadowing schedule is shown and each session's .ics download is a valid calendar event.

The quiz is answered from the module's study material (content/training/modules/...), the way a new hire who
read the lessons would answer; the page itself never reveals which choices are correct.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from icalendar import Calendar
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.harness import (
    ROOT,
    click_and_wait,
    fetch_as,
    invite_person,
    keyboard_form,
    log_in,
    progress_value,
    text_of,
    texts_of,
    wait_for_path,
    wait_to_leave,
)

NEW_HIRE = {
    "name": "Tess Trainee",
    "email": "tess@example.test",
    "role": "member",
    "team": "EMEA",
    "password": "tess's own passphrase",
}
PATH_TITLE = "CSM — first 30 days"
FIRST_MODULE = ROOT / "content" / "training" / "modules" / "how-cs-fits-the-business.md"
ONBOARDING_BAR = "section[aria-labelledby=progress-heading] progress"


def quiz_key(module_file: Path) -> dict[str, set[str]]:
    """Question text -> the texts of its correct choices, from the module's content file."""
    front = re.match(r"---\n(.*?)\n---", module_file.read_text(encoding="utf-8"), re.DOTALL).group(1)
    questions = yaml.safe_load(front)["quiz"]["questions"]
    return {q["text"]: {c["text"] for c in q["choices"] if c.get("correct")} for q in questions}


def module_row_progress(driver, title: str) -> float:
    row = next(r for r in driver.find_elements(By.CSS_SELECTOR, "table tbody tr") if title in r.text)
    return float(row.find_element(By.TAG_NAME, "progress").get_attribute("value"))


def test_a_new_hire_is_assigned_the_30_day_path_completes_a_module_and_gets_their_shadowing(
    live_server, journey
):
    run = journey("3-onboarding", live_server)

    # The admin invites the new hire; the new hire sets a password in their own browser (keyboard only).
    admin = run.browser()
    log_in(admin, live_server, *live_server.demo_logins["admin"][0])
    link = invite_person(admin, live_server, NEW_HIRE)
    # ... and records their start date, today, on their user page (paths count due dates from it).
    run.open(admin, "/admin/users")
    click_and_wait(admin, admin.find_element(By.LINK_TEXT, NEW_HIRE["name"]))
    start = admin.find_element(By.ID, "start_date")
    # The date picker is the browser's own widget; set its value as picking today in it would.
    admin.execute_script("arguments[0].value = arguments[1]", start, date.today().isoformat())
    click_and_wait(admin, admin.find_element(By.CSS_SELECTOR, "form.card button[type=submit]"))
    assert f"Saved {NEW_HIRE['name']}." in text_of(admin, ".flashes")
    hire = run.browser()
    hire.get(link)
    keyboard_form(hire, [("password", NEW_HIRE["password"]), ("confirm", NEW_HIRE["password"])])
    wait_to_leave(hire, "/invite/")
    run.visit(hire, "/training/me", "onboarding-empty")
    assert "No onboarding path assigned yet." in text_of(hire, ".lead")
    # Nothing assigned: the page says what happens next instead of "0% — 0 of 0 modules".
    assert "Your manager Morgan Manager will assign your onboarding path" in text_of(
        hire, "#onboarding-empty"
    )
    assert not hire.find_elements(By.CSS_SELECTOR, ONBOARDING_BAR)

    # Their manager assigns the path through the Assign page, then books shadowing with the planner.
    manager = run.browser()
    log_in(manager, live_server, *live_server.demo_logins["manager"][0])
    run.visit(manager, "/training/assign", "assign")
    form = manager.find_element(By.CSS_SELECTOR, "form[action='/training/assign/path']")
    Select(form.find_element(By.ID, "user_id")).select_by_visible_text(f"{NEW_HIRE['name']} (EMEA)")
    Select(form.find_element(By.ID, "path_id")).select_by_visible_text(PATH_TITLE)
    click_and_wait(manager, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    person_path = urlsplit(manager.current_url).path
    assert re.fullmatch(r"/training/people/\d+", person_path)
    assert "Assigned 6 modules with due dates." in text_of(manager, ".flashes")
    run.page_done(manager, "person-assigned")

    click_and_wait(manager, manager.find_element(By.LINK_TEXT, "Plan shadowing"))
    click_and_wait(manager, manager.find_element(By.XPATH, "//button[normalize-space()='Propose a plan']"))
    proposed = manager.find_elements(By.CSS_SELECTOR, "table.plan tbody tr")
    assert proposed, f"the planner proposed no sessions: {texts_of(manager, '.flashes')}"
    run.page_done(manager, "shadowing-plan")
    click_and_wait(manager, manager.find_element(By.XPATH, "//button[normalize-space()='Confirm and book']"))
    wait_for_path(manager, person_path)
    assert f"Booked {len(proposed)} shadowing sessions for {NEW_HIRE['name']}." in text_of(
        manager, ".flashes"
    )

    # The new hire sees the path, the bar at 0 and the shadowing schedule.
    run.visit(hire, "/training/me", "onboarding-assigned")
    assert PATH_TITLE in text_of(hire, ".lead")
    before, _ = progress_value(hire, ONBOARDING_BAR)
    assert before == 0
    upcoming = hire.find_elements(
        By.CSS_SELECTOR, "section[aria-labelledby=shadow-heading] a[href*='/shadowing/']"
    )
    assert upcoming, "no upcoming shadowing sessions on my onboarding"
    module_title = "How customer success fits the business"
    assert module_row_progress(hire, module_title) == 0

    # The first lesson: its module's bar moves at once.
    click_and_wait(hire, hire.find_element(By.CSS_SELECTOR, "section[aria-labelledby=next-heading] a.button"))
    lesson_title = text_of(hire, "h1")
    run.page_done(hire, "lesson")
    click_and_wait(hire, hire.find_element(By.CSS_SELECTOR, "form[action$='/complete'] button[type=submit]"))
    assert f"Lesson done: {lesson_title}." in text_of(hire, ".flashes")
    run.open(hire, "/training/me")
    assert module_row_progress(hire, module_title) > 0
    assert progress_value(hire, ONBOARDING_BAR)[0] > before  # and so does the whole path's

    # The rest of the module's lessons (one asks for an acknowledgement), then its knowledge check.
    while True:
        next_link = hire.find_element(By.CSS_SELECTOR, "section[aria-labelledby=next-heading] a.button")
        if "knowledge check" in next_link.text:
            break
        click_and_wait(hire, next_link)
        acknowledge = hire.find_elements(By.ID, "acknowledge")
        if acknowledge:
            acknowledge[0].click()
        click_and_wait(
            hire, hire.find_element(By.CSS_SELECTOR, "form[action$='/complete'] button[type=submit]")
        )
        assert "done" in text_of(hire, ".flashes").lower()
        run.open(hire, "/training/me")
    click_and_wait(hire, next_link)
    run.page_done(hire, "quiz")
    key = quiz_key(FIRST_MODULE)
    for fieldset in hire.find_elements(By.CSS_SELECTOR, "form.quiz fieldset"):
        correct = key[fieldset.find_element(By.CSS_SELECTOR, ".question-text").text]
        for label in fieldset.find_elements(By.CSS_SELECTOR, "label"):
            if label.text in correct:
                label.click()
    click_and_wait(hire, hire.find_element(By.XPATH, "//button[normalize-space()='Submit answers']"))
    assert text_of(hire, "h1") == "Your result: 100%"
    assert "Passed." in text_of(hire, ".card")
    run.page_done(hire, "quiz-result")

    # The onboarding bar has moved, and the module is complete.
    run.visit(hire, "/training/me", "onboarding-progress")
    after, _ = progress_value(hire, ONBOARDING_BAR)
    assert after > before
    assert module_row_progress(hire, module_title) == 100
    assert text_of(hire, ".stat") == f"{int(after)}%"

    # The shadowing schedule, and one session's .ics download, fetched with the browser's own cookies.
    run.visit(hire, "/training/shadowing", "shadowing")
    rows = hire.find_elements(By.CSS_SELECTOR, "table tbody tr th a")
    assert len(rows) == len(proposed)
    click_and_wait(hire, rows[0])
    run.page_done(hire, "session")
    when = hire.find_element(By.XPATH, "//dt[.='When']/following-sibling::dd").text
    shown = re.match(r"\w+ (\d{4}-\d\d-\d\d \d\d:\d\d)–(\d\d:\d\d) \((.+)\)", when)
    assert shown, when
    download = hire.find_element(By.PARTIAL_LINK_TEXT, "Add to calendar").get_attribute("href")
    status, headers, body = fetch_as(hire, download)
    assert status == 200 and headers["Content-Type"].startswith("text/calendar")
    events = Calendar.from_ical(body).walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    local = ZoneInfo(shown.group(3))
    starts = event.decoded("dtstart").astimezone(local)
    assert starts.replace(tzinfo=None) == datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M")
    assert event.decoded("dtend").astimezone(local).strftime("%H:%M") == shown.group(2)
    assert str(event["status"]) == "CONFIRMED" and "Shadowing" in str(event["summary"])
    assert NEW_HIRE["name"] in str(event["description"])
    # Without the new hire's session the same address gives nothing but the login page.
    status, _, body = fetch_as(None, download)
    assert b"BEGIN:VEVENT" not in body and b"Log in" in body
