"""Journey 2: an author documents an undocumented process, and the handbook's coverage bar moves; two editors
save the same article, and the second is shown a diff and keeps their text.

The author starts where the handbook sends them, the "Document next" list on the handbook home, and writes the
article with the keyboard only (TAB, typing, ENTER on the Save button). Coverage is read from the home page's
<progress> element before and after, as a screen reader would announce it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.harness import (
    keyboard_editor,
    keyboard_press,
    log_in,
    progress_value,
    text_of,
    texts_of,
    wait_for_path,
    wait_to_leave,
)

COVERAGE_BAR = ".coverage progress"
SAVE = "form.editor-form button[type=submit]"


def test_an_author_documents_the_next_process_and_the_coverage_bar_moves(live_server, journey):
    run = journey("2-handbook", live_server)
    email, password = live_server.demo_logins["author"][0]
    author = run.browser()
    log_in(author, live_server, email, password)

    run.visit(author, "/handbook/", "handbook-home")
    before, total = progress_value(author, COVERAGE_BAR)
    percent_before = text_of(author, ".coverage .stat")
    # "Document next" offers undocumented processes, each a link that starts an article for it.
    links = author.find_elements(
        By.CSS_SELECTOR, "section[aria-labelledby=next-heading] a[href*='/handbook/new']"
    )
    assert links, "the handbook home offers no undocumented process to document"
    process_name = links[0].text
    links[0].click()
    wait_for_path(author, "/handbook/new")
    assert author.find_element(By.ID, "title").get_attribute("value") == process_name  # prefilled
    run.page_done(author, "editor-new")

    # The article, typed with the keyboard only; ENTER on Save publishes it (Published is the default status).
    # Over 40 words of the author's own: fewer would leave it a stub, which the coverage bar does not count.
    body = (
        f"## When this comes up\n\nA customer asks about {process_name.lower()}. They usually write in after "
        "a failed payment, a duplicate charge or an error message in the app.\n\n"
        "## Steps\n\n1. Confirm who the customer is.\n2. Check the account in the billing tool.\n"
        "3. Reply with the outcome and log it on the ticket.\n"
    )
    keyboard_editor(author, "body", body)
    # The live preview follows the typing (kms.js asks the server to render the Markdown).
    WebDriverWait(author, 10).until(lambda d: "Confirm who the customer is" in text_of(d, "#preview"))
    keyboard_press(author, SAVE)
    wait_to_leave(author, "/handbook/new")
    assert text_of(author, "h1") == process_name
    assert f"Saved “{process_name}”" in text_of(author, ".flashes")
    assert "Check the account in the billing tool." in texts_of(author, ".prose li")
    article_path = urlsplit(author.current_url).path
    run.page_done(author, "article-published")

    # Back on the handbook home the bar has moved by exactly this one process.
    run.visit(author, "/handbook/", "handbook-home-after")
    after, total_after = progress_value(author, COVERAGE_BAR)
    assert (after, total_after) == (before + 1, total), (before, after, total, total_after)
    if total <= 100:  # one more process out of at most 100 moves the whole-number percentage too
        assert text_of(author, ".coverage .stat") != percent_before
    next_up = author.find_elements(By.CSS_SELECTOR, "section[aria-labelledby=next-heading] a")
    assert process_name not in [
        link.text for link in next_up if "/handbook/new" in link.get_attribute("href")
    ]

    # Two editors open the same article; the first save wins, the second is refused and shown the difference.
    other_email, other_password = live_server.demo_logins["author"][1]
    other = run.browser()
    log_in(other, live_server, other_email, other_password)
    for browser in (author, other):
        run.open(browser, article_path + "/edit")
        wait_for_path(browser, article_path + "/edit")

    first_line, second_line = (
        "Escalate to a team lead when the amount is over 500 EUR.",
        "Ask the customer for a screenshot of the error first.",
    )
    keyboard_editor(author, "body", body + "\n" + first_line + "\n")
    keyboard_press(author, SAVE)
    wait_for_path(author, article_path)
    assert first_line in text_of(author, ".prose")

    keyboard_editor(other, "body", body + "\n" + second_line + "\n")
    keyboard_press(other, SAVE)
    wait_for_path(other, article_path + "/edit")  # refused: the page stays on the editor
    assert text_of(other, "#conflict-heading") == "Someone else saved this article while you were editing"
    assert any(second_line in line for line in texts_of(other, ".diff ins")), "the diff lacks the second text"
    assert any(first_line in line for line in texts_of(other, ".diff del")), "the diff lacks the first text"
    assert second_line in other.find_element(By.ID, "body").get_attribute("value"), "the second text was lost"
    assert text_of(other, SAVE) == "Save anyway, with my text"
    run.page_done(other, "edit-conflict")

    # Nothing was overwritten: readers see the first save.
    run.open(other, article_path)
    assert first_line in text_of(other, ".prose") and second_line not in text_of(other, ".prose")

    # The second editor merges deliberately: both lines are kept, and the history shows three revisions.
    run.open(other, article_path + "/edit")
    keyboard_editor(other, "body", body + "\n" + first_line + "\n\n" + second_line + "\n")
    keyboard_press(other, SAVE)
    wait_for_path(other, article_path)
    prose = text_of(other, ".prose")
    assert first_line in prose and second_line in prose
    run.visit(other, article_path + "/history", "history")
    assert len(other.find_elements(By.CSS_SELECTOR, "table tbody tr")) == 3
