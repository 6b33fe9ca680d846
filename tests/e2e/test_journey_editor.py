"""Journey: an author writes an article in the Markdown editor with the keyboard only.

The toolbar is one TAB stop (arrow keys move along it, ENTER presses a button): bold, a checklist and a callout;
the side preview follows; a closed tab loses nothing (reopening the editor offers the draft kept in the browser);
a YouTube link on its own line becomes the privacy-enhanced player on the published page, and the draft is gone
once the save went through. Pasting a screenshot (Ctrl+V) uploads it (`POST /media/upload`) and writes the image
at the cursor with the alt text the editor asks for.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.harness import (
    keyboard_form,
    keyboard_press,
    log_in,
    tab_to_element,
    text_of,
    type_keys,
    wait_for_path,
    wait_to_leave,
)

SAVE = "form.editor-form button[type=submit]"
EDITOR_INPUT = ".EasyMDEContainer .CodeMirror [contenteditable]"
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42"
# A 1x1 PNG: what a screenshot in the clipboard is, as far as the page can tell.
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def editor_text(driver) -> str:
    """The Markdown the form will send (the editor keeps the textarea in step)."""
    return driver.find_element(By.ID, "body").get_attribute("value")


def wait_editor(driver) -> None:
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, EDITOR_INPUT))


def press_toolbar(driver, title: str) -> None:
    """From the editor: SHIFT+TAB to the toolbar, arrow keys to the button named `title`, ENTER."""
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    for _ in range(30):
        label = driver.execute_script("return document.activeElement.getAttribute('aria-label')")
        if label == title:
            type_keys(driver, Keys.ENTER)
            return
        type_keys(driver, Keys.ARROW_RIGHT)
    raise AssertionError(f"no toolbar button named {title!r} reachable with the arrow keys")


def draft_keys(driver) -> list[str]:
    return driver.execute_script(
        "return Object.keys(localStorage).filter(k => k.indexOf('kms-draft:') === 0)"
    )


def test_an_author_formats_with_the_toolbar_gets_the_draft_back_and_publishes_a_video(live_server, journey):
    run = journey("editor", live_server)
    email, password = live_server.demo_logins["author"][0]
    author = run.browser()
    log_in(author, live_server, email, password)

    run.open(author, "/handbook/new")
    wait_for_path(author, "/handbook/new")
    wait_editor(author)
    toolbar = author.find_element(By.CSS_SELECTOR, ".editor-toolbar[role=toolbar]")
    labels = [b.get_attribute("aria-label") for b in toolbar.find_elements(By.TAG_NAME, "button")]
    for wanted in (
        "H2 heading",
        "Bold",
        "Italic",
        "Bulleted list",
        "Numbered list",
        "Checklist",
        "Web link",
        "Link to a handbook article",
        "Table",
        "Note box (a callout that stands out)",
        "Image or screenshot (upload)",
        "Video (YouTube, Vimeo, Loom or Stream link)",
    ):
        assert wanted in labels, f"the toolbar has no {wanted!r} button: {labels}"
    run.page_done(author, "editor-empty")

    title = "Refunds with a screen recording"
    keyboard_form(author, [("title", title)], submit=False)
    # TAB from the title: first the toolbar (one stop), then the text itself.
    type_keys(author, Keys.TAB)
    assert author.execute_script("return document.activeElement.getAttribute('aria-label')") == "H2 heading"
    type_keys(author, Keys.TAB)
    assert author.execute_script("return document.activeElement.matches(arguments[0])", EDITOR_INPUT)

    type_keys(author, "Before you refund: ")
    press_toolbar(author, "Bold")
    type_keys(author, "check the amount", Keys.END, Keys.ENTER, Keys.ENTER)
    press_toolbar(author, "Checklist")
    type_keys(author, "Call the customer", Keys.ENTER, "Log the refund on the ticket", Keys.ENTER, Keys.ENTER)
    press_toolbar(author, "Note box (a callout that stands out)")
    type_keys(author, "Refunds over 500 EUR need a team lead.")

    text = editor_text(author)
    assert "Before you refund: **check the amount**" in text
    assert "- [ ] Call the customer\n- [ ] Log the refund on the ticket" in text
    assert "!!! note\n    Refunds over 500 EUR need a team lead." in text
    # The side preview is the server's rendering: bold, two checkboxes, a callout.
    WebDriverWait(author, 10).until(lambda d: "team lead" in text_of(d, "#preview .admonition.note"))
    assert text_of(author, "#preview strong") == "check the amount"
    assert len(author.find_elements(By.CSS_SELECTOR, "#preview .task-list-item input[type=checkbox]")) == 2
    WebDriverWait(author, 5).until(lambda d: draft_keys(d) == ["kms-draft:article:new"])
    run.page_done(author, "editor-formatted")

    # The tab is closed and the editor opened again: the unsaved text is offered back.
    run.open(author, "/handbook/new")
    wait_editor(author)
    assert "team lead" not in editor_text(author)
    offer = author.find_element(By.CSS_SELECTOR, ".md-draft-offer")
    assert "had not saved" in offer.text
    run.page_done(author, "editor-draft-offered")
    keyboard_form(author, [("title", title)], submit=False)
    tab_to_element(author, ".md-draft-offer .button.primary")
    type_keys(author, Keys.ENTER)
    assert "!!! note\n    Refunds over 500 EUR need a team lead." in editor_text(author)

    # The video: the toolbar asks for the link and puts it on its own line.
    ActionChains(author).key_down(Keys.CONTROL).send_keys(Keys.END).key_up(Keys.CONTROL).perform()
    press_toolbar(author, "Video (YouTube, Vimeo, Loom or Stream link)")
    prompt = WebDriverWait(author, 5).until(lambda d: d.switch_to.alert)
    prompt.send_keys(VIDEO)
    prompt.accept()
    assert editor_text(author).endswith(f"team lead.\n\n{VIDEO}\n\n")
    WebDriverWait(author, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#preview iframe"))
    run.page_done(author, "editor-with-video")

    keyboard_press(author, SAVE)
    wait_to_leave(author, "/handbook/new")
    assert text_of(author, "h1") == title
    frame = author.find_element(By.CSS_SELECTOR, ".prose .video-embed iframe")
    assert frame.get_attribute("src") == "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=42"
    assert frame.get_attribute("title") == "YouTube video"
    assert text_of(author, ".prose strong") == "check the amount"
    # The save went through: the browser no longer keeps the draft.
    assert draft_keys(author) == []
    run.page_done(author, "article-with-video")

    # Editing it again starts clean: no stale draft is offered.
    run.open(author, urlsplit(author.current_url).path + "/edit")
    wait_editor(author)
    assert not author.find_elements(By.CSS_SELECTOR, ".md-draft-offer")


def test_a_screenshot_pasted_with_ctrl_v_is_uploaded_and_lands_at_the_cursor(live_server, journey):
    run = journey("editor-paste", live_server)
    email, password = live_server.demo_logins["author"][0]
    author = run.browser()
    log_in(author, live_server, email, password)
    run.open(author, "/handbook/new")
    wait_editor(author)
    keyboard_form(author, [("title", "Where the refund button is")], submit=False)
    type_keys(author, Keys.TAB, Keys.TAB, "The button:", Keys.ENTER, Keys.ENTER)
    # What Ctrl+V with a screenshot in the clipboard delivers: a paste event carrying an image file.
    author.execute_script(
        "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));"
        "const data = new DataTransfer();"
        "data.items.add(new File([bytes], 'image.png', {type: 'image/png'}));"
        "document.activeElement.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,"
        " cancelable: true}));",
        PIXEL,
    )
    prompt = WebDriverWait(author, 5).until(lambda d: d.switch_to.alert)
    prompt.send_keys("The refund button in the billing admin")
    prompt.accept()
    WebDriverWait(author, 15).until(lambda d: "![" in editor_text(d))
    assert "The button:\n\n![" in editor_text(author)
    keyboard_press(author, SAVE)
    wait_to_leave(author, "/handbook/new")
    image = author.find_element(By.CSS_SELECTOR, ".prose img")
    assert image.get_attribute("alt") == "The refund button in the billing admin"
    assert author.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image)
    run.page_done(author, "article-with-pasted-image")
