"""Journey: an author pastes a screenshot and a video link into an article; readers see both, drafts stay private.

The screenshot is a real one (the browser's own capture of the editor), delivered as Ctrl+V delivers it: a
`paste` event whose clipboard holds an image file (synthesised in the page, since a headless browser has no
system clipboard). The editor asks for the alt text, uploads the file and writes the image at the cursor. A
member opens the published article and sees the image (with its alt text) and the privacy-enhanced video
player; another member asking for the image of an author's draft gets the same 404 as for a file that never
existed.
"""

from __future__ import annotations

import base64
from urllib.parse import urlsplit

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.harness import (
    fetch_as,
    keyboard_choose,
    keyboard_form,
    keyboard_press,
    log_in,
    text_of,
    type_keys,
    wait_to_leave,
)
from tests.e2e.test_journey_editor import SAVE, VIDEO, editor_text, press_toolbar, wait_editor

ALT = "The billing admin with the Refund button at the top right"
DRAFT_ALT = "The new refund screen, not released yet"


def paste_screenshot(driver, png: bytes, alt: str) -> None:
    """Ctrl+V with a screenshot in the clipboard: a paste event carrying the image; then answer the alt prompt."""
    before = editor_text(driver).count("![")
    driver.execute_script(
        "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));"
        "const data = new DataTransfer();"
        "data.items.add(new File([bytes], 'image.png', {type: 'image/png'}));"
        "document.activeElement.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,"
        " cancelable: true}));",
        base64.b64encode(png).decode("ascii"),
    )
    prompt = WebDriverWait(driver, 5).until(lambda d: d.switch_to.alert)
    prompt.send_keys(alt)
    prompt.accept()
    WebDriverWait(driver, 20).until(lambda d: editor_text(d).count("![") > before)


def test_a_pasted_screenshot_and_a_video_reach_members_and_a_drafts_image_stays_private(live_server, journey):
    run = journey("media", live_server)
    email, password = live_server.demo_logins["author"][0]
    author = run.browser()
    log_in(author, live_server, email, password)

    run.open(author, "/handbook/new")
    wait_editor(author)
    screenshot = author.get_screenshot_as_png()  # a real screenshot: the editor as the author sees it
    keyboard_form(author, [("title", "Where the refund button is")], submit=False)
    type_keys(author, Keys.TAB, Keys.TAB, "Open the billing admin:", Keys.ENTER, Keys.ENTER)
    paste_screenshot(author, screenshot, ALT)
    assert f"Open the billing admin:\n\n![{ALT}](/media/" in editor_text(author)
    ActionChains(author).key_down(Keys.CONTROL).send_keys(Keys.END).key_up(Keys.CONTROL).perform()
    press_toolbar(author, "Video (YouTube, Vimeo, Loom or Stream link)")
    prompt = WebDriverWait(author, 5).until(lambda d: d.switch_to.alert)
    prompt.send_keys(VIDEO)
    prompt.accept()
    WebDriverWait(author, 10).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#preview iframe")
            and d.find_elements(By.CSS_SELECTOR, "#preview img")
        )
    )
    run.page_done(author, "editor-with-screenshot-and-video")  # axe on the editor with both in it
    keyboard_press(author, SAVE)
    path = urlsplit(wait_to_leave(author, "/handbook/new")).path

    member_email, member_password = live_server.demo_logins["member"][0]
    member = run.browser()
    log_in(member, live_server, member_email, member_password)
    run.open(member, path)
    assert text_of(member, "h1") == "Where the refund button is"
    image = member.find_element(By.CSS_SELECTOR, ".prose img")
    assert image.get_attribute("alt") == ALT
    WebDriverWait(member, 10).until(
        lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", image)
    )
    frame = member.find_element(By.CSS_SELECTOR, ".prose .video-embed iframe")
    assert frame.get_attribute("src") == "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=42"
    run.page_done(member, "member-sees-screenshot-and-video")

    # A draft with its own screenshot: only its author (and editors) may open the image.
    run.open(author, "/handbook/new")
    wait_editor(author)
    keyboard_form(author, [("title", "The new refund screen")], submit=False)
    draft_shot = author.get_screenshot_as_png()  # another picture (the same bytes would be one file)
    type_keys(author, Keys.TAB, Keys.TAB, "Coming next month:", Keys.ENTER, Keys.ENTER)
    paste_screenshot(author, draft_shot, DRAFT_ALT)
    keyboard_choose(author, "status", "Draft — only authors and admins see it")
    keyboard_press(author, SAVE)
    draft_path = urlsplit(wait_to_leave(author, "/handbook/new")).path
    source = author.find_element(By.CSS_SELECTOR, ".prose img").get_attribute("src")
    assert urlsplit(source).path.startswith("/media/") and source != image.get_attribute("src")
    assert fetch_as(author, source)[0] == 200

    second_email, second_password = live_server.demo_logins["member"][1]
    second = run.browser()
    log_in(second, live_server, second_email, second_password)
    status, headers, body = fetch_as(second, source)
    assert (
        status == 404 and headers["Content-Type"].startswith("text/html") and not body.startswith(b"\x89PNG")
    )
    assert fetch_as(second, live_server.url + draft_path)[0] == 404
    assert fetch_as(second, image.get_attribute("src"))[0] == 200  # the published one stays visible
