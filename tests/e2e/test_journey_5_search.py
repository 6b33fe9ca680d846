"""Journey 5: a rep types a misspelled word in the search box from any page and finds the process, with the
term highlighted and "did you mean" offering the right spelling; a Chinese two-character query finds the
Chinese article; the category facets read as category names and one click narrows the results to one; a
draft an author is writing never shows up for a member.

Runs on the shared demo site (`live_server`): `kms init` indexed the starter handbook.
"""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.harness import (
    click_and_wait,
    keyboard_editor,
    log_in,
    submit_and_wait,
    text_of,
    texts_of,
    wait_for_path,
    wait_to_leave,
)


def search_from_the_box(browser, words: str) -> None:
    """Press "/" anywhere to reach the search box, type, press ENTER: the way a rep on a call would."""
    browser.find_element(By.TAG_NAME, "body").send_keys("/")
    box = browser.switch_to.active_element
    assert box.get_attribute("id") == "site-search", "'/' did not focus the search box"
    box.send_keys(words)
    submit_and_wait(browser, lambda: box.send_keys(Keys.ENTER))
    wait_for_path(browser, "/search")


def member_on_the_handbook(run, live_server):
    """A fresh browser with the demo member logged in, on the handbook home (screenshot and axe)."""
    email, password = live_server.demo_logins["member"][0]
    browser = run.browser()
    log_in(browser, live_server, email, password)
    run.visit(browser, "/handbook/", "handbook-home")
    return browser


def test_a_member_finds_the_refund_process_from_a_typo_with_the_term_highlighted(live_server, journey):
    run = journey("5-search", live_server)
    browser = member_on_the_handbook(run, live_server)

    search_from_the_box(browser, "refnud")
    run.page_done(browser, "typo-results")
    titles = texts_of(browser, "li.card h2.card-title a")
    assert titles and titles[0] == "Refund request", titles
    assert "Did you mean refund?" in text_of(browser, "p.notice-info")
    marks = [mark.text.lower() for mark in browser.find_elements(By.CSS_SELECTOR, "mark")]
    assert marks and any(mark.startswith("refund") for mark in marks), marks

    # Following the suggestion searches the corrected word.
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "p.notice-info a"))
    wait_for_path(browser, "/search")
    assert "q=refund" in browser.current_url and not browser.find_elements(By.CSS_SELECTOR, "p.notice-info")

    search_from_the_box(browser, "客户")
    run.page_done(browser, "chinese-results")
    assert (
        "中文" in browser.page_source
        and "/handbook/articles/chinese-language-chat-support" in browser.page_source
    )


def test_a_member_narrows_the_results_to_a_category_by_its_name(live_server, journey):
    run = journey("5-search-facets", live_server)
    browser = member_on_the_handbook(run, live_server)

    search_from_the_box(browser, "customer")
    run.page_done(browser, "customer-results")
    facets = texts_of(browser, "aside li a")
    assert "Support tickets" in facets and "support-tickets" not in facets, facets

    link = next(
        a for a in browser.find_elements(By.CSS_SELECTOR, "aside li a") if a.text == "Support tickets"
    )
    link.click()
    WebDriverWait(browser, 15).until(
        lambda d: (
            "category=" in d.current_url and d.execute_script("return document.readyState") == "complete"
        )
    )
    run.page_done(browser, "support-tickets-results")
    assert "Category: Support tickets" in text_of(browser, "body")
    assert "Support tickets" in texts_of(browser, "aside li strong")  # shown as the chosen category
    meta = texts_of(browser, "li.card p.small")
    assert meta and all("Support tickets" in line for line in meta), meta


def test_a_draft_never_reaches_a_members_search(live_server, journey):
    run = journey("5-search-drafts", live_server)
    author_email, author_password = live_server.demo_logins["author"][0]
    author = run.browser()
    log_in(author, live_server, author_email, author_password)
    run.open(author, "/handbook/new")
    author.find_element(By.ID, "title").send_keys("Zebracorn escalation playbook")
    keyboard_editor(author, "body", "Internal draft about zebracorn escalations.")  # the Markdown editor
    Select(author.find_element(By.ID, "status")).select_by_value("draft")
    author.find_element(By.XPATH, "//button[normalize-space()='Save']").click()
    wait_to_leave(author, "/handbook/new")
    run.open(author, "/search?q=zebracorn")
    assert "Zebracorn escalation playbook" in texts_of(author, "li.card h2.card-title a")  # their own draft

    email, password = live_server.demo_logins["member"][0]
    member = run.browser()
    log_in(member, live_server, email, password)
    run.open(member, "/search?q=zebracorn")
    run.page_done(member, "member-search")
    assert "No results" in member.page_source and "playbook" not in member.page_source.lower()
    assert not member.find_elements(By.CSS_SELECTOR, "li.card h2.card-title a")
