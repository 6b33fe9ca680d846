"""On a phone (390 px wide): no page scrolls sideways as a whole, the manager's team matrix scrolls inside its
own box with the new hire's name kept in view, and a new hire's long lesson offers "Mark as done" on the first
screen (a bar that stays at the bottom while reading) instead of thousands of pixels down.

Screenshots (the first screen and the whole page) land in test-artifacts/phone-390/.
"""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.e2e.harness import click_and_wait, log_in, text_of

PHONE = (390, 844)
MARK_DONE = ("Mark as done", "Confirm and mark done")


def phone(run):
    driver = run.browser(*PHONE)
    driver.set_window_size(*PHONE)
    return driver


def assert_no_page_overflow(driver, page: str) -> None:
    width, inner = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page} is {width} px wide in a {inner} px window: the phone zooms the page out"


def in_first_screen(driver, element) -> bool:
    return driver.execute_script(
        "const r = arguments[0].getBoundingClientRect();"
        "return r.width > 0 && r.top >= 0 && r.bottom <= window.innerHeight;",
        element,
    )


def done_buttons(driver) -> list:
    return [
        b
        for b in driver.find_elements(By.CSS_SELECTOR, "button[type=submit]")
        if b.is_displayed() and b.text.strip() in MARK_DONE
    ]


def test_the_team_matrix_scrolls_in_its_own_box_on_a_phone(live_server, journey):
    run = journey("phone-390", live_server)
    manager = phone(run)
    log_in(manager, live_server, *live_server.demo_logins["manager"][0])
    run.open(manager, "/training/team")
    assert_no_page_overflow(manager, "the team view")
    run.snap(manager, "team-first-screen", full=False)
    run.page_done(manager, "team")

    box = manager.find_element(By.CSS_SELECTOR, ".table-wrap:has(.team-grid)")
    inner, outer = manager.execute_script("return [arguments[0].scrollWidth, arguments[0].clientWidth]", box)
    assert inner > outer, "the matrix fits without scrolling; the check would prove nothing"
    name = manager.find_element(By.CSS_SELECTOR, ".team-grid tbody th")
    module_cell = manager.find_element(By.CSS_SELECTOR, ".team-grid tbody td")
    before = manager.execute_script(
        "return [arguments[0].getBoundingClientRect().left, arguments[1].getBoundingClientRect().left]",
        name,
        module_cell,
    )
    manager.execute_script("arguments[0].scrollLeft = 250", box)
    after = manager.execute_script(
        "return [arguments[0].getBoundingClientRect().left,"
        " arguments[1].getBoundingClientRect().left, arguments[2].scrollLeft]",
        name,
        module_cell,
        box,
    )
    assert after[2] > 0, "the matrix box does not scroll"
    assert abs(after[0] - before[0]) <= 1, "the new hire's name scrolled away with the modules"
    assert after[1] < before[1], "the module columns did not move under the fixed name column"
    assert_no_page_overflow(manager, "the scrolled team view")
    run.snap(manager, "team-scrolled", full=False)


def test_a_long_lesson_offers_mark_as_done_on_the_first_screen_of_a_phone(live_server, journey):
    run = journey("phone-390-lesson", live_server)
    hire = phone(run)
    log_in(hire, live_server, *live_server.demo_logins["member"][0])  # Nina, the demo's new hire
    run.open(hire, "/training/me")
    click_and_wait(hire, hire.find_element(By.PARTIAL_LINK_TEXT, "Continue:"))
    lesson_path = hire.current_url.removeprefix(live_server.url)
    title = text_of(hire, "h1")
    assert_no_page_overflow(hire, f"the lesson {title!r}")
    height, screen = hire.execute_script("return [document.documentElement.scrollHeight, window.innerHeight]")
    assert height > 3 * screen, f"{title!r} is short ({height} px); pick a long lesson for this check"
    run.snap(hire, "lesson-first-screen", full=False)
    run.page_done(hire, "lesson")
    run.open(hire, lesson_path)

    buttons = done_buttons(hire)
    assert any(in_first_screen(hire, button) for button in buttons), (
        f"'Mark as done' is not on the first screen of {title!r} at 390 px"
    )
    hire.execute_script("window.scrollTo(0, document.documentElement.scrollHeight / 2)")
    assert any(in_first_screen(hire, b) for b in done_buttons(hire)), "the bar left the screen while reading"
    run.snap(hire, "lesson-halfway", full=False)

    # The bar's button works like the one beside the lesson on a wide screen.
    hire.execute_script("window.scrollTo(0, 0)")
    bar = hire.find_element(By.CSS_SELECTOR, ".lesson-bar")
    for box in bar.find_elements(By.CSS_SELECTOR, "input[type=checkbox]"):
        box.click()
    click_and_wait(hire, bar.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert f"Lesson done: {title}." in text_of(hire, ".flashes") or "Module complete" in text_of(
        hire, ".flashes"
    )
    run.snap(hire, "after-mark-as-done", full=False)
