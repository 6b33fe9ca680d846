"""Garbage in any field of any form or API: never a server error, and a number or hidden value the server cannot
read is refused with a message that names the field.

The walk logs in on a demo site (starter content plus `kms demo`), collects every form a page offers by
following the site's own links, then posts each form back with one field at a time replaced by garbage.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from kms import content, demo
from kms.auth import services as auth_services
from kms.extensions import db
from kms.hiring.models import InterviewerAssignment
from kms.search import services as search
from kms.search.indexer import EXTENSION
from kms.training.services import calendar
from tests.conftest import login

GARBAGE = ["abc", "1e400", "-1", "99999999999999999999", "", "\x00"]
UNREADABLE = {"abc", "1e400", "99999999999999999999"}  # no number any field could mean: must be refused
TEXT_GARBAGE = ["Refund\x00 steps\x1b[31m\x7f\x9b end"]
NOT_WALKED = {  # forms a logged-in admin or interviewer is never shown
    "auth.setup": "only before the first user exists",
    "auth.accept_invite": "needs an invite link's token",
    "auth.login": "walked by its own test below",
    "auth.logout": "ends the walk's session",
    "auth.reauthenticate": "covered by tests/auth",
    "articles.preview": "a script-only endpoint, tested below",
    "hiring.api_save_draft": "JSON API, tested below",
    "articles.reinstate_process": "a button (no field but the CSRF token) on a retired process",
    "articles.approve": "a button (no field but the CSRF token) on a change waiting for review",
    "articles.reject": "a change waiting for review; its one field is free text",
    "training.review_lesson": "a button on a lesson whose article changed",
    "hiring.amend_scorecard": "a submitted scorecard; its fields are the scorecard's, walked on the draft",
    "media.api_upload": "JSON API for token clients, the same code as media.upload (tests/media)",
    "media.upload": "a multipart form the walk cannot attach a file to; its bad input is tests/media's",
    "media.remove": "a button (no field but the CSRF token) beside a candidate's file; the demo has none",
    "sso.delete_provider": "a button (no field but the CSRF token) beside an added provider; the demo has none",
    "sso.delete_rule": "a button (no field but the CSRF token) beside a group rule; the demo has none",
    "metrics.api_import": "JSON API for token clients; its bad input is tests/metrics's",
    "metrics.import_page": "a multipart form the walk cannot attach a file to; its bad input is tests/metrics's",
}
PAGES_PER_ENDPOINT = 2


class _Page(HTMLParser):
    """The links, forms (with each field's kind, value and label) and error messages of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms = [], []
        self._label_for = self._select = self._textarea = None
        self._text: list[str] = []

    def _field(self, name, kind, value, field_id=None):
        if name and self.forms:
            fields = self.forms[-1]["fields"]
            field = fields.setdefault(name, {"kind": kind, "values": [], "options": [], "id": field_id})
            if value is not None:
                field["values"].append(value)
            return field
        return None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            self.forms.append(
                {
                    "action": attrs.get("action") or "",
                    "method": (attrs.get("method") or "get").lower(),
                    "fields": {},
                    "labels": {},
                }
            )
        elif tag == "label" and attrs.get("for"):
            self._label_for, self._text = attrs["for"], []
        elif (
            tag in ("input", "button")
            and attrs.get("type", "submit" if tag == "button" else "text") == "submit"
        ):
            if attrs.get("name") and self.forms:  # the first button is the one the walk "presses"
                self.forms[-1]["fields"].setdefault(
                    attrs["name"],
                    {
                        "kind": "submit",
                        "values": [attrs.get("value") or ""],
                        "options": [],
                        "id": attrs.get("id"),
                    },
                )
        elif tag == "input" and attrs.get("type") not in {"button", "reset", "image"}:
            kind = attrs.get("type") or "text"
            keep = kind not in {"checkbox", "radio"} or "checked" in attrs
            field = self._field(
                attrs.get("name"), kind, (attrs.get("value") or "") if keep else None, attrs.get("id")
            )
            if field is not None and kind in {"checkbox", "radio"}:
                field["options"].append(attrs.get("value") or "on")
        elif tag == "select":
            self._select = self._field(attrs.get("name"), "select", None, attrs.get("id"))
        elif tag == "option" and self._select is not None:
            self._select["options"].append(attrs.get("value") or "")
            if "selected" in attrs:
                self._select["values"].append(attrs.get("value") or "")
        elif tag == "textarea":
            self._textarea, self._text = self._field(attrs.get("name"), "textarea", None, attrs.get("id")), []

    def handle_data(self, data):
        if self._textarea is not None or self._label_for:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            if not self._select["values"] and self._select["options"]:
                self._select["values"].append(self._select["options"][0])
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._textarea["values"].append("".join(self._text).removeprefix("\n"))
            self._textarea = None
        elif tag == "label" and self._label_for:
            if self.forms:
                self.forms[-1]["labels"][self._label_for] = " ".join("".join(self._text).split())
            self._label_for = None


def parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def shown_errors(response) -> str:
    """Every error message the response shows: field errors, flashed errors, the error page's text, JSON."""
    if response.is_json:
        body = response.get_json()
        return " ".join([str(body.get("error", "")), *map(str, (body.get("errors") or {}).values())])
    html = response.get_data(as_text=True)
    found = re.findall(r'<p class="(?:error|flash flash-error)"[^>]*>(.*?)</p>', html, re.S)
    page = re.search(r'<section class="error-page">(.*?)</section>', html, re.S)
    return unescape(" ".join(found + ([re.sub(r"<[^>]+>", " ", page.group(1))] if page else [])))


def names_field(message: str, name: str, label: str | None) -> bool:
    text = message.lower()
    words = {name, name.replace("_", " "), name.rsplit("-", 1)[-1].replace("_", " ")}
    if label:
        words.add(label.lower().rstrip(":*").strip())
    return any(word and word.lower() in text for word in words)


def numeric(field: dict) -> bool:
    """A field that carries a number: number inputs, id selects and radios, hidden ids and versions."""
    if field["kind"] == "number":
        return True
    if field["kind"] in {"select", "radio"}:
        options = [o for o in field["options"] if o not in ("", "None")]
        return bool(options) and all(o.isdigit() for o in options)
    return field["kind"] == "hidden" and bool(field["values"]) and all(v.isdigit() for v in field["values"])


# --- the site and the crawl ----------------------------------------------------------------------------------------


@pytest.fixture
def demo_site(app):
    content.import_content(app.config["KMS_CONTENT_DIR"])
    db.session.commit()
    team = demo.create_demo()
    db.session.commit()
    auth_services.create_token(team.admin, "walk")
    calendar.create_feed(actor=team.admin)
    for asker in ("one member", "another member"):  # a gap needs two different people asking
        search.log_search("warp drive", results=0, duration_ms=3, role="member", asker=asker)
    db.session.commit()
    app.extensions[EXTENSION].rebuild()
    passwords = {email: password for email, _, password in team.logins}
    interviewer = db.session.scalars(select(InterviewerAssignment)).first().interviewer
    return {
        "admin": (team.admin.email, passwords[team.admin.email]),
        "interviewer": (interviewer.email, passwords[interviewer.email]),
        "new hire": (team.new_hires[0].email, passwords[team.new_hires[0].email]),
    }


def logged_in(app, credentials):
    client = app.test_client()
    assert login(client, *credentials).status_code == 302
    return client


def crawl(app, client) -> dict[str, dict]:
    """endpoint -> the first form posting to it: {page, action, fields}; pages found through links."""
    adapter = app.url_map.bind("kms.test")
    todo = [
        rule.build({}, append_unknown=False)[1]
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods and not rule.arguments and rule.endpoint != "static"
    ]
    seen_pages, per_endpoint, forms = set(todo), {}, {}
    while todo:
        url = todo.pop(0)
        response = client.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = parse(response.get_data(as_text=True))
        for form in page.forms:
            if form["method"] != "post":
                continue
            action = urlsplit(form["action"] or url).path
            try:
                endpoint, _ = adapter.match(action, method="POST")
            except Exception:  # noqa: BLE001 - a form posting somewhere odd shows up as "not walked"
                continue
            for field in form["fields"].values():
                field["label"] = form["labels"].get(field["id"] or "")
            forms.setdefault(endpoint, {"page": url, "action": action, "fields": form["fields"]})
        for href in page.links:
            parts = urlsplit(href)
            if (
                parts.netloc not in ("", "kms.test")
                or parts.path in seen_pages
                or not parts.path.startswith("/")
            ):
                continue
            try:
                endpoint, _ = adapter.match(parts.path, method="GET")
            except Exception:  # noqa: BLE001 - not one of ours (or a redirect rule)
                continue
            if endpoint in ("static", "auth.logout") or per_endpoint.get(endpoint, 0) >= PAGES_PER_ENDPOINT:
                continue
            per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
            seen_pages.add(parts.path)
            todo.append(parts.path)
    return forms


# --- posting garbage -----------------------------------------------------------------------------------------------


def baseline(fields: dict) -> dict[str, list[str]]:
    return {name: list(field["values"]) for name, field in fields.items() if field["values"]}


def refreshed(client, found: dict, endpoint: str, app) -> dict | None:
    """The same form read again from its page (versions move on after a save); None when it is gone."""
    response = client.get(found["page"])
    if response.status_code != 200:
        return None
    page = parse(response.get_data(as_text=True))
    for form in page.forms:
        if form["method"] == "post" and urlsplit(form["action"] or found["page"]).path == found["action"]:
            for field in form["fields"].values():
                field["label"] = form["labels"].get(field["id"] or "")
            return {**found, "fields": form["fields"]}
    return None


def check_answer(response, name: str, field: dict, garbage: str) -> str | None:
    """What is wrong with the answer to one garbage post, or None."""
    body = response.get_data(as_text=True)
    if response.status_code >= 500:
        return f"{response.status_code}"
    if "\x00" in body:
        return "a NUL byte came back in the page"
    if garbage not in UNREADABLE:
        return None  # may be fine for this field ("" when optional); the other fields' messages may show
    errors = shown_errors(response)
    label = field.get("label")
    if numeric(field) and not names_field(errors, name, label):
        return f"{response.status_code}: accepted, or refused without naming the field ({errors[:120]!r})"
    if (
        field["kind"] in {"hidden", "submit"}
        and response.status_code >= 400
        and not names_field(errors, name, label)
    ):
        return f"{response.status_code}, the message does not name the field: {errors[:120]!r}"
    return None


def walk_form(app, client, endpoint: str, found: dict) -> list[str]:
    problems = []
    for name in list(found["fields"]):
        field = found["fields"].get(name)
        if name == "csrf_token" or field is None:
            continue
        kind = field["kind"]
        values = (
            GARBAGE
            if (numeric(field) or kind in {"hidden", "submit", "select", "radio", "number"})
            else TEXT_GARBAGE
        )
        for garbage in values:
            data = {**baseline(found["fields"]), name: [garbage]}
            response = client.post(found["action"], data=data, follow_redirects=True)
            problem = check_answer(response, name, field, garbage)
            if problem:
                problems.append(f"{endpoint} {found['action']} {name}={garbage!r}: {problem}")
            if response.status_code < 400 and not shown_errors(response):
                again = refreshed(client, found, endpoint, app)
                if again is None:
                    return problems
                found = again
                if name not in found["fields"]:
                    break
    return problems


def test_every_form_refuses_garbage_by_field_name_and_never_fails(app, demo_site):
    """Each field of each form, one at a time: no 500, no NUL echoed, numbers refused naming the field."""
    admin = logged_in(app, demo_site["admin"])
    forms = {endpoint: (admin, found) for endpoint, found in crawl(app, admin).items()}
    for who in ("interviewer", "new hire"):
        client = logged_in(app, demo_site[who])
        for endpoint, found in crawl(app, client).items():
            forms.setdefault(endpoint, (client, found))
    posting = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    missing = sorted(posting - set(forms) - set(NOT_WALKED))
    assert not missing, f"forms the walk never found: {missing}"
    problems = []
    for endpoint, (client, found) in sorted(forms.items(), key=lambda item: item[0].endswith("delete")):
        if endpoint not in NOT_WALKED:
            problems += walk_form(app, client, endpoint, found)
    assert not problems, "\n".join(problems)


def test_an_article_edit_with_an_unreadable_base_version_keeps_the_text_and_names_the_field(
    client, login_as, demo_site
):
    """The issue's case: base_version=abc was a 500; now the editor comes back with the text and a message."""
    login(client, *demo_site["admin"])
    found = crawl_one(client, "/handbook/articles/refund-request/edit")
    data = {**baseline(found), "base_version": ["abc"], "body": ["My careful new paragraph"]}
    response = client.post("/handbook/articles/refund-request/edit", data=data)
    assert response.status_code == 400
    assert "base_version" in shown_errors(response) and "Page version must be a whole number" in shown_errors(
        response
    )
    assert "My careful new paragraph" in response.get_data(as_text=True)


def crawl_one(client, url: str) -> dict:
    """The fields of the post form on one page."""
    [form] = [
        f
        for f in parse(client.get(url).get_data(as_text=True)).forms
        if f["method"] == "post" and urlsplit(f["action"] or url).path == url
    ]
    return form["fields"]
