"""The browser-journey harness: a live kms under gunicorn, fresh Chromium sessions, screenshots and axe-core.

Journeys drive the site like a person would, so this module holds everything that is not a journey: starting
and stopping the server, starting browsers, saving screenshots, checking pages with axe and typing with the
keyboard only. `tests/e2e/conftest.py` turns it into fixtures.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
AXE_SOURCE = Path(__file__).with_name("vendor") / "axe.min.js"
CHROMIUM = os.environ.get("KMS_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KMS_E2E_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
BLOCKING_IMPACTS = {"serious", "critical"}


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when Chromium and its driver are installed."""
    missing = [
        path for path in (CHROMIUM, CHROMEDRIVER) if not (Path(path).is_file() and os.access(path, os.X_OK))
    ]
    if missing:
        return (
            f"{' and '.join(missing)} not found: install the Debian packages with "
            "`apt-get install -y chromium chromium-driver` "
            "(or set KMS_E2E_CHROMIUM / KMS_E2E_CHROMEDRIVER)"
        )
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -e '.[test]'"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerFailed(RuntimeError):
    """The live server did not come up; the message carries the end of its log."""


@dataclass
class LiveServer:
    """kms under gunicorn with 2 workers on 127.0.0.1, on its own fresh instance folder and SQLite file."""

    instance: Path
    workers: int = 2
    extra_env: dict = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.instance / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __post_init__(self) -> None:
        # Production mode, as deployed: it refuses weak keys, so every command gets this strong one.
        self.extra_env = {"KMS_ENV": "production", "KMS_SECRET_KEY": secrets.token_hex(32), **self.extra_env}

    def env(self) -> dict:
        """The server's environment: the caller's, minus any KMS_* setting, plus this instance's."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("KMS_")}
        env.update({"KMS_INSTANCE_PATH": str(self.instance), "PYTHONUNBUFFERED": "1", **self.extra_env})
        return env

    def app(self):
        """An app object on the server's database, for seeding data in the test process (use app_context)."""
        from kms import create_app

        env = self.env()
        return create_app({name: value for name, value in env.items() if name.startswith("KMS_")})

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run `python -m kms ARGS` against this server's instance; raises with the output when it fails."""
        done = subprocess.run(
            [sys.executable, "-m", "kms", *args],
            check=False,
            cwd=ROOT,
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise ServerFailed(
                f"kms {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done

    def start(self, timeout: float = 60) -> LiveServer:
        self.cli("init")
        for _attempt in range(3):  # another process may take the free port between probe and bind
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "kms",
                        "serve",
                        "--port",
                        str(self.port),
                        "--workers",
                        str(self.workers),
                    ],
                    cwd=ROOT,
                    env=self.env(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_healthy(timeout):
                return self
            self.stop()
        raise ServerFailed(f"kms serve did not answer /healthz; log:\n{self.log_tail()}")

    def _wait_healthy(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers gracefully
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def server_errors(self, since: int = 0) -> list[str]:
        """Log lines (after byte offset `since`) that show a crash, a 5xx or a locked database."""
        if not self.log_path.exists():
            return []
        with open(self.log_path, "rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        pattern = re.compile(r"Traceback|database is locked|\[ERROR\]|WORKER TIMEOUT|\" 5\d\d ")
        return [line for line in text.splitlines() if pattern.search(line)]


def new_chromium(width: int = 1280, height: int = 900):
    """A fresh headless Chromium with its own empty profile: no cookies or storage from any other session."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="kms-e2e-profile-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    driver.kms_profile = profile
    return driver


def close_chromium(driver) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "kms_profile", ""), ignore_errors=True)


def format_violations(violations: list[dict]) -> str:
    """axe's findings as text a person can act on: rule, impact, what to do, and each offending element."""
    out = []
    for violation in violations:
        out.append(
            f"- [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})"
        )
        for node in violation["nodes"][:8]:
            target = " ".join(str(part) for part in node.get("target", []))
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            out.append(f"    at {target}: {summary}")
            out.append(f"       {node.get('html', '')[:160]}")
        if len(violation["nodes"]) > 8:
            out.append(f"    ... and {len(violation['nodes']) - 8} more elements")
    return "\n".join(out)


class Journey:
    """One user journey's screenshots and accessibility results, kept under test-artifacts/<name>/."""

    def __init__(self, name: str, server: LiveServer):
        self.name, self.server = name, server
        self.folder = ARTIFACTS / name
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.step = 0
        self.drivers: list = []
        self.axe_report: dict[str, list] = {}
        self.log_start = server.log_size()

    def browser(self, width: int = 1280, height: int = 900):
        """A new, independent browser session (as if another person on another computer)."""
        driver = new_chromium(width, height)
        self.drivers.append(driver)
        return driver

    def close(self) -> None:
        for driver in self.drivers:
            close_chromium(driver)
        self.drivers.clear()
        if self.axe_report:
            (self.folder / "axe.json").write_text(json.dumps(self.axe_report, indent=2))

    def open(self, driver, path: str) -> None:
        driver.get(self.server.url + path)

    def snap(self, driver, label: str, full: bool = True) -> Path:
        """Save a full-height screenshot as NN-label.png (only what the window shows, with full=False)."""
        self.step += 1
        path = self.folder / f"{self.step:02d}-{label}.png"
        if not full:
            driver.save_screenshot(str(path))
            return path
        width, height = driver.get_window_size()["width"], driver.get_window_size()["height"]
        full = driver.execute_script(
            "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)"
        )
        driver.set_window_size(width, min(max(height, full + 140), 4000))
        try:
            driver.save_screenshot(str(path))
        finally:
            driver.set_window_size(width, height)
        return path

    def check_accessibility(self, driver, label: str) -> None:
        """Run axe-core on the current page; fail on serious or critical violations, listing each one."""
        if not driver.execute_script("return typeof window.axe === 'object'"):
            driver.execute_script(AXE_SOURCE.read_text(encoding="utf-8"))
        result = driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            "  .then(r => done({violations: r.violations}), e => done({error: String(e)}));"
        )
        assert "error" not in result, f"axe-core failed on {label}: {result['error']}"
        violations = result["violations"]
        self.axe_report[label] = [
            {"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in violations
        ]
        blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, (
            f"axe-core: {len(blocking)} serious/critical accessibility problem(s) on "
            f"{label} ({driver.current_url}):\n{format_violations(blocking)}"
        )

    def visit(self, driver, path: str, label: str) -> None:
        """Open a page, check it with axe and keep a screenshot: what a journey does at each main page."""
        self.open(driver, path)
        self.page_done(driver, label)

    def page_done(self, driver, label: str) -> None:
        self.snap(driver, label)
        self.check_accessibility(driver, label)


def focused_id(driver) -> str:
    return driver.execute_script("return document.activeElement ? document.activeElement.id : ''")


def tab_to(driver, element_id: str, max_tabs: int = 30) -> None:
    """Press TAB until the element with this id has the focus; fails if the keyboard cannot reach it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    seen = []
    for _ in range(max_tabs):
        if focused_id(driver) == element_id:
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
        seen.append(focused_id(driver) or driver.execute_script("return document.activeElement.tagName"))
    raise AssertionError(f"#{element_id} is not reachable with TAB; focus went through {seen}")


def type_keys(driver, *keys: str) -> None:
    """Send key presses to whatever has the focus, as a keyboard would."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).send_keys(*keys).perform()


def keyboard_form(driver, fields: list[tuple[str, str]], submit: bool = True) -> None:
    """Fill a form with the keyboard only: TAB to each field in page order, type, then ENTER to submit."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for element_id, text in fields:
        tab_to(driver, element_id)
        # Ctrl+A first, so typing replaces whatever the field was prefilled with.
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(
            text
        ).perform()
    if submit:
        submit_and_wait(driver, lambda: type_keys(driver, Keys.ENTER))


def keyboard_editor(driver, textarea_id: str, text: str) -> None:
    """Type Markdown into the Markdown editor that replaced <textarea id=textarea_id>, with the keyboard only:
    TAB to it, select all, type line by line. The editor continues a list on ENTER; like a person, each new
    line first selects what the editor put there (SHIFT+HOME) and types over it."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    tab_to_element(driver, f"#{textarea_id} ~ .EasyMDEContainer [contenteditable]")
    ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
    for number, line in enumerate(text.split("\n")):
        if number:
            ActionChains(driver).send_keys(Keys.ENTER).key_down(Keys.SHIFT).send_keys(Keys.HOME).key_up(
                Keys.SHIFT
            ).perform()
        # A space replaces whatever was selected, BACKSPACE takes it away again: an empty line stays empty.
        ActionChains(driver).send_keys(line or " ").perform()
        if not line:
            ActionChains(driver).send_keys(Keys.BACK_SPACE).perform()
    typed = driver.find_element("id", textarea_id).get_attribute("value")
    assert typed == text, f"the editor holds {typed!r}, not the typed {text!r}"


def wait_for_path(driver, path: str, timeout: float = 15) -> None:
    """Wait until the browser shows `path` (after a redirect or form submit) and the page has loaded."""
    from urllib.parse import urlsplit

    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout).until(
            lambda d: (
                urlsplit(d.current_url).path == path
                and d.execute_script("return document.readyState") == "complete"
            )
        )
    except Exception as error:
        heading = driver.execute_script("var h = document.querySelector('h1'); return h ? h.textContent : ''")
        raise AssertionError(
            f"expected to reach {path}, but the browser is at {driver.current_url} "
            f"showing {heading.strip()!r}"
        ) from error


def text_of(driver, selector: str) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, selector).text.strip()


def texts_of(driver, selector: str) -> list[str]:
    from selenium.webdriver.common.by import By

    return [element.text.strip() for element in driver.find_elements(By.CSS_SELECTOR, selector)]


def wait_to_leave(driver, path_prefix: str, timeout: float = 15) -> str:
    """Wait until the browser has left pages starting with `path_prefix` (e.g. after logging in, wherever
    the home page is today); returns the new path."""
    from urllib.parse import urlsplit

    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout).until(
            lambda d: (
                not urlsplit(d.current_url).path.startswith(path_prefix)
                and d.execute_script("return document.readyState") == "complete"
            )
        )
    except Exception as error:
        problems = driver.execute_script(
            "return Array.from(document.querySelectorAll('.error, .flash-error'))"
            ".map(e => e.textContent.trim())"
        )
        raise AssertionError(f"still on {driver.current_url}; the page says {problems}") from error
    return urlsplit(driver.current_url).path


# ---------------------------------------------------------------------------------------------------------
# Helpers the journeys share: logging in, reaching any element with TAB, reading progress bars, and the
# browser's own cookies for downloads a person would start with a click.


def log_in(driver, server: LiveServer, email: str, password: str) -> str:
    """Log in with the keyboard only, as journey 1 proves works; returns the path the site lands on."""
    driver.get(server.url + "/login")
    wait_for_path(driver, "/login")
    keyboard_form(driver, [("email", email), ("password", password)])
    return wait_to_leave(driver, "/login")


def tab_to_element(driver, selector: str, max_tabs: int = 60) -> None:
    """Press TAB until the focused element matches the CSS selector (for buttons and links without an id)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    seen = []
    for _ in range(max_tabs):
        if driver.execute_script(
            "return !!document.activeElement && document.activeElement.matches(arguments[0])", selector
        ):
            return
        ActionChains(driver).send_keys(Keys.TAB).perform()
        seen.append(focused_id(driver) or driver.execute_script("return document.activeElement.tagName"))
    raise AssertionError(f"{selector} is not reachable with TAB; focus went through {seen[-15:]}")


def keyboard_choose(driver, element_id: str, option_text: str) -> None:
    """Pick an option of a <select> with the keyboard: TAB to it and type the option's label (type-ahead)."""
    from selenium.webdriver.support.ui import Select

    tab_to(driver, element_id)
    type_keys(driver, option_text)
    chosen = Select(driver.find_element("id", element_id)).first_selected_option.text
    assert chosen.startswith(option_text), f"#{element_id}: typing {option_text!r} chose {chosen!r}"


def keyboard_radio(driver, group_first_id: str, position: int) -> None:
    """Check the radio button at `position` (0-based) of a group with the keyboard: TAB into the group, SPACE
    checks the first button, each RIGHT arrow moves to and checks the next one."""
    from selenium.webdriver.common.keys import Keys

    tab_to(driver, group_first_id)
    type_keys(driver, Keys.SPACE, *([Keys.ARROW_RIGHT] * position))


def keyboard_press(driver, selector: str, wait: bool = True, timeout: float = 15) -> None:
    """TAB to a button or link and press ENTER, as a keyboard user submits a form with several buttons; with
    `wait`, return once the next page has replaced this one (even when it has the same address)."""
    from selenium.webdriver.common.keys import Keys

    tab_to_element(driver, selector)
    if wait:
        submit_and_wait(driver, lambda: type_keys(driver, Keys.ENTER), timeout)
    else:
        type_keys(driver, Keys.ENTER)


def progress_value(driver, selector: str) -> tuple[float, float]:
    """(value, max) of a <progress> element: what the bar shows, read the way assistive technology does."""
    from selenium.webdriver.common.by import By

    bar = driver.find_element(By.CSS_SELECTOR, selector)
    assert bar.tag_name == "progress", f"{selector} is a <{bar.tag_name}>, not a <progress>"
    return float(bar.get_attribute("value")), float(bar.get_attribute("max"))


def fetch_as(driver, url: str, timeout: float = 15) -> tuple[int, dict, bytes]:
    """GET `url` with the browser's cookies (what clicking a download link sends): (status, headers, body).
    With driver=None: no cookies, as someone who is not logged in."""
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies()) if driver else ""
    request = urllib.request.Request(url, headers={"Cookie": cookies, "User-Agent": "kms-e2e"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def invite_person(driver, server: LiveServer, person: dict) -> str:
    """An admin (logged in on `driver`) invites someone through /admin/users; returns the set-password link."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(server.url + "/admin/users")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/admin/users']")
    form.find_element(By.ID, "name").send_keys(person["name"])
    form.find_element(By.ID, "email").send_keys(person["email"])
    Select(form.find_element(By.ID, "role")).select_by_value(person["role"])
    form.find_element(By.ID, "team").send_keys(person["team"])
    click_and_wait(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    wait_for_path(driver, "/admin/users")
    assert text_of(driver, "h1") == f"Invite link for {person['name']}"
    return driver.find_element(By.ID, "invite-link").get_attribute("value")


def _replaced(element) -> bool:
    """True once `element` is gone from the page. Chromium reports a node caught mid-navigation either as
    stale or, now and then, as "does not belong to the document"; both mean the old page is gone."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def submit_and_wait(driver, act, timeout: float = 15) -> None:
    """Do `act` (a click, ENTER, accepting a confirm dialog...) and wait until the next page has replaced this
    one and loaded. Waiting for the address alone is not enough: a form that posts back to its own page (invite,
    account, search) keeps the address, and the old page's elements would be read, then go stale mid-test."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    act()
    WebDriverWait(driver, timeout).until(lambda d: _replaced(page))
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def click_and_wait(driver, element, timeout: float = 15) -> None:
    """Click a link or submit button and wait until the next page has replaced this one and loaded."""
    submit_and_wait(driver, element.click, timeout)
