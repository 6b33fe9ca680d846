"""Every kind of page each role can reach, checked with axe-core: not only the journeys' main pages.

For the admin, a manager and a member in turn, a browser starts at the home page and follows the site's own
links (breadth first, same site only), opening each distinct page kind once or a few times: numbers in the
path make one kind (/training/lessons/12 and /13), and at most a few pages share a path prefix (article
pages). Downloads, the API and static files are left out. A serious or critical axe violation on any page
fails the test, with the page and the element. What axe found on each page is in
test-artifacts/a11y-crawl-<role>/axe.json.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.harness import log_in

MAX_PAGES = 75  # per role
SAME_PREFIX = 3  # pages under one deep prefix, e.g. three of /handbook/articles/<slug>
SKIP = re.compile(
    r"^/(api/|static/|logout|reauthenticate)|\.(ics|csv|json|zip|md|png|svg)$|/(export|feed|download)"
    r"(/|$)"
)


def page_kind(path: str) -> str:
    """/training/lessons/12 and /13 are one kind; so are the history pages of any two articles."""
    kind = re.sub(r"/[^/?]*\d[^/?]*", "/N", path)
    return re.sub(r"^/handbook/articles/[^/?]+/", "/handbook/articles/S/", kind)


def crawl(run, driver, starts: list[str]) -> list[str]:
    """Follow links from `starts`; check each new page kind with axe. Returns the paths checked."""
    base = run.server.url
    queue, kinds, prefixes, checked = deque(starts), set(), {}, []
    while queue and len(checked) < MAX_PAGES:
        path = queue.popleft()
        kind, prefix = page_kind(path), path.split("?")[0].rsplit("/", 1)[0]
        if kind in kinds or (prefix.count("/") >= 2 and prefixes.get(prefix, 0) >= SAME_PREFIX):
            continue
        kinds.add(kind)
        prefixes[prefix] = prefixes.get(prefix, 0) + 1
        run.open(driver, path)
        landed = urlsplit(driver.current_url).path
        if landed != path and page_kind(landed) in kinds:
            continue
        run.check_accessibility(driver, path)
        checked.append(path)
        for href in driver.execute_script(
            "return Array.from(document.querySelectorAll('a[href]'), a => a.href)"
        ):
            parts = urlsplit(href)
            if not href.startswith(base) or SKIP.search(parts.path):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query and "page=" in parts.query else ""))
    return checked


@pytest.mark.parametrize("role", ["admin", "manager", "member"])
def test_every_page_kind_a_role_reaches_has_no_serious_accessibility_problem(live_server, journey, role):
    run = journey(f"a11y-crawl-{role}", live_server)
    email, password = live_server.demo_logins[role][0]
    browser = run.browser()
    log_in(browser, live_server, email, password)
    # The search results are reached through a form, not a link: start there too (a typo, and a word).
    checked = crawl(run, browser, ["/", "/search?q=refnud", "/search?q=customer"])
    run.snap(browser, "last-page")
    print(f"\n{role}: axe checked {len(checked)} pages: {' '.join(checked)}")
    assert len(checked) >= 10, f"the crawl reached only {checked}"
    assert browser.find_elements(By.TAG_NAME, "main"), "the last page has no <main>"
