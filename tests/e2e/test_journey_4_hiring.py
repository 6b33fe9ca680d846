"""Journey 4: the hiring manager and an interviewer each score a candidate; the interviewer cannot see the
manager's scorecard until their own is submitted; then the debrief shows both, with its SVG chart.

The demo data (`kms demo`) has an open role with a candidate whose interview is assigned to the demo manager
and one demo author (who covers two of the four traits). The interviewer fills the scorecard with the keyboard
only: TAB into each rating group, SPACE and arrow keys to pick, typing for the evidence, ENTER on the button.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from selenium.webdriver.common.by import By

from tests.e2e.harness import (
    click_and_wait,
    keyboard_form,
    keyboard_press,
    keyboard_radio,
    log_in,
    text_of,
    texts_of,
    wait_to_leave,
)

CANDIDATE = "Jordan Rivera"
MANAGER_EVIDENCE = "Rebuilt the hotel's complaint log after a bad review season, unprompted"
MANAGER_SUMMARY = "Strong drive; hire if the panel agrees on empathy."
INTERVIEWER_EVIDENCE = "Asked for feedback on the role play and used it in the second try"
INTERVIEWER_SUMMARY = "Coachable and warm with the upset customer in the role play."
SUBMIT = "button[name=action][value=submit]"


def open_my_scorecard(driver, run, label: str) -> str:
    """From the hiring home, open my scorecard for the candidate; returns its path."""
    run.open(driver, "/hiring/")
    row = next(r for r in driver.find_elements(By.CSS_SELECTOR, "table tbody tr") if CANDIDATE in r.text)
    click_and_wait(driver, row.find_element(By.PARTIAL_LINK_TEXT, "scorecard"))
    assert text_of(driver, "h1") == f"Scorecard: {CANDIDATE}"
    run.page_done(driver, label)
    return urlsplit(driver.current_url).path


def trait_keys(driver) -> list[str]:
    return [
        name.removesuffix("-rating")
        for name in dict.fromkeys(
            radio.get_attribute("name")
            for radio in driver.find_elements(By.CSS_SELECTOR, "input[name$='-rating']")
        )
    ]


def submit_and_confirm(driver) -> None:
    keyboard_press(driver, SUBMIT, wait=False)
    driver.switch_to.alert.accept()  # "Submit and lock this scorecard?" (kms.js); ENTER accepts it too
    wait_to_leave(driver, "/hiring/scorecards/")


def test_the_manager_and_an_interviewer_score_independently_and_the_debrief_shows_both(live_server, journey):
    run = journey("4-hiring", live_server)

    # The manager scores all four traits (with the mouse) and submits.
    manager = run.browser()
    log_in(manager, live_server, *live_server.demo_logins["manager"][0])
    run.visit(manager, "/hiring/", "hiring-board")

    # A role opened without a title: the board comes back with the team as typed and the focus on the title,
    # though the form sits low on the page.
    opening = manager.find_element(By.CSS_SELECTOR, "form[action='/hiring/openings']")
    opening.find_element(By.ID, "team").send_keys("Nordics night desk")
    click_and_wait(manager, opening.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert manager.switch_to.active_element.get_attribute("id") == "title"
    assert manager.find_element(By.ID, "team").get_attribute("value") == "Nordics night desk"
    assert text_of(manager, "#title-error")
    run.page_done(manager, "opening-refused")

    manager_card = open_my_scorecard(manager, run, "scorecard-manager")
    keys = trait_keys(manager)
    assert len(keys) == 4
    for number, key in enumerate(keys):
        manager.find_element(By.ID, f"{key}-rating-{2 if number % 2 else 1}").click()  # ratings 3 and 2
        manager.find_element(By.ID, f"{key}-evidence").send_keys(f"{MANAGER_EVIDENCE} ({key}).")
    manager.find_element(By.CSS_SELECTOR, "input[name=recommendation]").click()
    manager.find_element(By.ID, "summary").send_keys(MANAGER_SUMMARY)
    submit_and_confirm(manager)
    assert re.fullmatch(r"/hiring/candidates/\d+/debrief", urlsplit(manager.current_url).path)
    debrief_path = urlsplit(manager.current_url).path
    candidate_path = debrief_path.removesuffix("/debrief")
    assert "Scorecard submitted and locked." in text_of(manager, ".flashes")
    assert "Still waiting for:" in text_of(manager, ".flash-warning")
    run.page_done(manager, "debrief-one-of-two")

    # The interviewer sees none of it before submitting: not on the candidate page, the debrief or the
    # manager's scorecard (which answers as if it did not exist).
    author_email, author_password = live_server.demo_logins["author"][0]
    interviewer = run.browser()
    log_in(interviewer, live_server, author_email, author_password)
    run.visit(interviewer, "/hiring/", "my-interviews")
    for path, label in (
        (candidate_path, "candidate-before"),
        (debrief_path, "debrief-before"),
        (manager_card, None),
    ):
        run.open(interviewer, path)
        page = interviewer.page_source
        assert MANAGER_EVIDENCE not in page and MANAGER_SUMMARY not in page, (
            f"{path} shows the manager's card"
        )
        assert not interviewer.find_elements(By.CSS_SELECTOR, "svg.trait-chart"), f"{path} shows the chart"
        if label:
            run.page_done(interviewer, label)
    assert text_of(interviewer, "h1") == "Not found"
    run.open(interviewer, debrief_path)
    assert "Submit your scorecard first" in texts_of(interviewer, "h2")

    # The interviewer's own scorecard, filled in with the keyboard only.
    open_my_scorecard(interviewer, run, "scorecard-interviewer")
    mine = trait_keys(interviewer)
    assert 0 < len(mine) < len(keys)  # the traits this interviewer was asked to cover
    for key in mine:
        keyboard_radio(interviewer, f"{key}-rating-0", 2)  # the third option: a 3
        keyboard_form(interviewer, [(f"{key}-evidence", f"{INTERVIEWER_EVIDENCE} ({key}).")], submit=False)
    keyboard_radio(interviewer, "recommendation-0", 0)
    keyboard_form(interviewer, [("summary", INTERVIEWER_SUMMARY)], submit=False)
    assert all(interviewer.find_element(By.ID, f"{key}-rating-2").is_selected() for key in mine)
    submit_and_confirm(interviewer)
    assert urlsplit(interviewer.current_url).path == debrief_path

    # Now the debrief shows both scorecards, both summaries and the chart with every rating as a dot.
    for who, browser in (("interviewer", interviewer), ("manager", manager)):
        run.visit(browser, debrief_path, f"debrief-{who}")
        page = browser.page_source
        assert MANAGER_EVIDENCE in page and INTERVIEWER_EVIDENCE in page
        assert MANAGER_SUMMARY in page and INTERVIEWER_SUMMARY in page
        assert "2 of 2" in text_of(browser, ".summary-row .stat")
        chart = browser.find_element(By.CSS_SELECTOR, "svg.trait-chart")
        assert chart.get_attribute("role") == "img"
        assert len(chart.find_elements(By.CSS_SELECTOR, "circle.dot")) == len(keys) + len(mine)
        assert len(chart.find_elements(By.CSS_SELECTOR, "rect.bar")) == len(keys)
