"""Bad input on an HTML form: the form comes back with a message at the bad field and everything else as typed.

Each case posts the form a browser would send, with one field wrong and the others filled with distinctive text,
then reads the returned page the way a browser would: the values in the form's fields, and the message shown
next to the field (or at the top of the page when it concerns no single field).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from kms.articles.models import Article
from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db
from kms.hiring import services as hiring
from kms.hiring.models import Candidate, Opening
from kms.training import services as training
from kms.training.models import Assignment, Lesson, Module, ShadowSession
from kms.training.services._common import local_to_utc
from tests.articles.conftest import categories  # noqa: F401 - the handbook's fixture, used here too
from tests.conftest import login

# --- reading the returned page --------------------------------------------------------------------------------


class _FormReader(HTMLParser):
    """Every <form> on a page with the values a browser would show in it: {action: {name: [values]}}."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, dict[str, list[str]]]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name: str | None, value: str) -> None:
        if name and self.forms:
            self.forms[-1][1].setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append((attrs.get("action") or "", {}))
        elif tag == "input" and attrs.get("type") not in {"submit", "button"}:
            if attrs.get("type") not in {"checkbox", "radio"} or "checked" in attrs:
                self._add(attrs.get("name"), attrs.get("value") or "")
        elif tag == "select":
            self._select = attrs.get("name")
        elif tag == "option" and self._select and "selected" in attrs:
            self._add(self._select, attrs.get("value") or "")
        elif tag == "textarea":
            self._textarea, self._text = attrs.get("name"), []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self._add(self._textarea, text[2:] if text.startswith("\r\n") else text.removeprefix("\n"))
            self._textarea = None


def form_values(html: str, action: str = "") -> dict[str, list[str]]:
    """The fields of the one form on the page that posts to `action` ("" = the page's own address)."""
    reader = _FormReader()
    reader.feed(html)
    found = [fields for form_action, fields in reader.forms if form_action == action]
    assert len(found) == 1, f"expected one form posting to {action!r}, found {len(found)}"
    return found[0]


def error_at(html: str, field_id: str) -> str:
    """The message the page shows next to a field (the element its aria-describedby points at)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    assert match, f"no message next to the field {field_id!r}"
    return unescape(match.group(1)).strip()


def flashed_errors(html: str) -> list[str]:
    return [unescape(m).strip() for m in re.findall(r'<p class="flash flash-error">(.*?)</p>', html, re.S)]


def answered_again(response, status: int = 400) -> str:
    """The page, after checking the form was answered in place (no redirect that would drop the input)."""
    assert response.status_code == status, (response.status_code, response.headers.get("Location"))
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def assert_kept(values: dict[str, list[str]], typed: dict[str, str | list[str]]) -> None:
    for name, value in typed.items():
        expected = value if isinstance(value, list) else [value]
        shown = values.get(name, [])
        assert shown == expected, f"{name}: typed {expected!r}, the form shows {shown!r}"


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- the handbook editor (read only here: the view belongs to kms/articles) ------------------------------------

ARTICLE_BODY = "## Refund steps\n\nCheck the <order> & the card, then refund within *thirty* days.\n"


@pytest.mark.parametrize(
    "title, message",
    [
        ("", "Title is required."),
        ("Refunds " * 30, "Title can be at most 200 characters."),
    ],
    ids=["missing title", "title too long"],
)
def test_a_new_article_with_a_bad_title_keeps_the_body(client, login_as, categories, title, message):
    author = login_as(Role.AUTHOR)
    typed = {
        "title": title,
        "body": ARTICLE_BODY,
        "category": categories[1],
        "tags": "refunds, cards",
        "language": "en",
        "verify_interval_days": "45",
        "status": "draft",
        "owner_id": str(author.id),
    }
    html = answered_again(client.post("/handbook/new", data=typed))
    assert error_at(html, "title") == message
    assert_kept(form_values(html), {k: v for k, v in typed.items() if k != "title"})
    assert count(Article) == 0


# --- training modules -------------------------------------------------------------------------------------------

MODULE_TYPED = {
    "title": "Calming an angry caller",
    "summary": "Listen first, then <repeat> the ask & act.",
    "intro": "Why *tone* matters on the phone.",
    "audience": ["member", "author"],
    "minutes": "45",
    "recertify_months": "12",
    "pass_mark": "70",
    "max_attempts": "3",
    "tags": "calls, empathy",
}

MODULE_CASES = [
    pytest.param("minutes", "ninety", "Estimated minutes must be a whole number.", id="minutes not a number"),
    pytest.param("minutes", "0", "Estimated minutes must be between 1 and 6000.", id="minutes out of range"),
    pytest.param(
        "pass_mark", "150", "Quiz pass mark (%) must be between 1 and 100.", id="pass mark out of range"
    ),
    pytest.param(
        "recertify_months",
        "200",
        "Re-certify every (months) must be between 1 and 120.",
        id="recertify out of range",
    ),
    pytest.param(
        "tags",
        "calls, refunds!",
        "Tag 'refunds!' may hold only letters, digits, spaces, '-' and '_' (at most 50).",
        id="tag with punctuation (service)",
    ),
]


@pytest.fixture
def draft_module(make_user):
    editor = make_user(Role.AUTHOR, name="Erin Editor")
    return training.create_module(
        actor=editor,
        title="Old title",
        summary="Old summary",
        audience=["member"],
        minutes=20,
        pass_mark=80,
        max_attempts=0,
        recertify_months=None,
        tags=[],
    )


@pytest.mark.parametrize("field, bad, message", MODULE_CASES)
def test_a_new_module_with_a_bad_number_or_tag_keeps_the_rest(client, login_as, field, bad, message):
    login_as(Role.AUTHOR)
    html = answered_again(client.post("/training/modules/new", data={**MODULE_TYPED, field: bad}))
    assert error_at(html, field) == message
    assert_kept(form_values(html), {**MODULE_TYPED, field: bad})
    assert count(Module) == 0


@pytest.mark.parametrize("field, bad, message", MODULE_CASES)
def test_editing_a_module_with_a_bad_number_or_tag_keeps_the_rest(
    client, login_as, draft_module, field, bad, message
):
    login_as(Role.AUTHOR)
    html = answered_again(
        client.post(f"/training/modules/{draft_module.id}/edit", data={**MODULE_TYPED, field: bad})
    )
    assert error_at(html, field) == message
    assert_kept(form_values(html), {**MODULE_TYPED, field: bad})
    saved = db.session.get(Module, draft_module.id)
    assert (saved.title, saved.summary, saved.minutes) == ("Old title", "Old summary", 20)


# --- lessons ------------------------------------------------------------------------------------------------------

LESSON_TYPED = {
    "title": "Mirror the caller",
    "body": 'Say back what you heard:\n\n- *"So the refund <failed>?"*\n',
    "articles": "",
    "acknowledge": "y",
}

LESSON_CASES = [
    pytest.param({"title": ""}, "title", "Title is required.", id="empty title"),
    pytest.param(
        {"articles": "no-such-article"},
        "articles",
        "No handbook article with the slug no-such-article.",
        id="unknown article (service)",
    ),
    pytest.param(
        {"body": "", "acknowledge": None},
        "body",
        "A lesson needs its own text, a linked handbook article, or both.",
        id="nothing to read (service)",
    ),
]


def _lesson_post(changes: dict) -> dict:
    return {k: v for k, v in {**LESSON_TYPED, **changes}.items() if v is not None}


def _lesson_url(module, route: str) -> str:
    if route == "new":
        return f"/training/modules/{module.id}/lessons/new"
    return f"/training/lessons/{module.lessons[0].id}/edit"


@pytest.mark.parametrize("route", ["new", "edit"])
@pytest.mark.parametrize("changes, field, message", LESSON_CASES)
def test_a_bad_lesson_keeps_what_was_typed(client, login_as, draft_module, route, changes, field, message):
    author = login_as(Role.AUTHOR)
    training.add_lesson(
        draft_module.id,
        title="First lesson",
        body="First body",
        article_slugs=[],
        acknowledge=False,
        actor=author,
    )
    module = training.get_module(draft_module.id, actor=author)
    typed = _lesson_post(changes)
    html = answered_again(client.post(_lesson_url(module, route), data=typed))
    assert error_at(html, field) == message
    assert_kept(form_values(html), {name: typed.get(name, []) for name in LESSON_TYPED})
    assert [(lesson.title, lesson.body) for lesson in db.session.scalars(select(Lesson))] == [
        ("First lesson", "First body")
    ]


# --- shadowing sessions -------------------------------------------------------------------------------------------


def _next_monday(weeks_ahead: int = 2) -> date:
    today = date.today()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


@pytest.fixture
def shadowing(make_user):
    """An admin, a host free on weekdays 09-17 UTC, a trainee, and one session booked for them."""
    admin = make_user(Role.ADMIN, name="Alex Admin")
    host = make_user(Role.MEMBER, name="Hana Host", team="EMEA")
    trainee = make_user(Role.MEMBER, name="Tom Trainee", team="EMEA")
    training.set_host(host.id, note="Great on refunds", actor=admin)
    training.set_availability(host.id, [(day, time(9), time(17)) for day in range(5)], actor=admin)
    day = _next_monday()
    booked = training.schedule_session(
        trainee_id=trainee.id,
        host_id=host.id,
        actor=admin,
        starts_at=local_to_utc(datetime.combine(day, time(10)), "UTC"),
        ends_at=local_to_utc(datetime.combine(day, time(11)), "UTC"),
    )
    return admin, host, trainee, booked


SESSION_CASES = [
    pytest.param(
        {"starts_at": "T14:00", "ends_at": "T13:00"},
        "ends_at",
        "The end must be after the start.",
        id="end before start (service)",
    ),
    pytest.param(
        {"starts_at": "soon", "ends_at": "T13:00"},
        "starts_at",
        "Starts must be a date and a time.",
        id="start not a date and time",
    ),
]


def _session_post(host, trainee, changes: dict) -> dict:
    day = (_next_monday() + timedelta(days=1)).isoformat()
    times = {k: (day + v if v.startswith("T") else v) for k, v in changes.items()}
    return {
        "trainee_id": str(trainee.id),
        "host_id": str(host.id),
        "format": "ticket queue",
        "focus": "Watch how <Hana> & the queue handle refunds",
        **times,
    }


@pytest.mark.parametrize("changes, field, message", SESSION_CASES)
def test_scheduling_a_bad_session_keeps_the_people_times_and_focus(
    client, shadowing, changes, field, message
):
    admin, host, trainee, _ = shadowing
    login(client, admin)
    typed = _session_post(host, trainee, changes)
    html = answered_again(client.post("/training/shadowing/new", data=typed))
    assert error_at(html, field) == message
    assert_kept(form_values(html), typed)
    assert count(ShadowSession) == 1


@pytest.mark.parametrize("changes, field, message", SESSION_CASES)
def test_changing_a_session_badly_keeps_the_typed_change(client, shadowing, changes, field, message):
    admin, host, trainee, booked = shadowing
    login(client, admin)
    typed = _session_post(host, trainee, changes)
    html = answered_again(client.post(f"/training/shadowing/{booked.id}/edit", data=typed))
    assert error_at(html, field) == message
    assert_kept(form_values(html, f"/training/shadowing/{booked.id}/edit"), typed)
    assert db.session.get(ShadowSession, booked.id).focus == ""


def test_notes_that_are_too_long_are_refused_and_kept(client, shadowing):
    _, _, trainee, booked = shadowing
    login(client, trainee)
    notes = "Learned to <mirror> the caller & wait. " * 300
    assert len(notes) > 10_000
    html = answered_again(client.post(f"/training/shadowing/{booked.id}/notes", data={"notes": notes}))
    assert error_at(html, "notes") == "Notes can be at most 10000 characters."
    assert_kept(form_values(html, f"/training/shadowing/{booked.id}/notes"), {"notes": notes})
    assert db.session.get(ShadowSession, booked.id).trainee_notes in ("", None)


@pytest.mark.parametrize(
    "windows, message",
    [
        (
            "Mon 09:00-12:00\nTuesday mornings",
            "Line 2 ('Tuesday mornings') should look like 'Mon 09:00-12:00'.",
        ),
        ("Mon 09:00-12:00\nMon 25:00-26:00", "Line 2: 'Mon 25:00-26:00' is not a valid time."),
        ("Wed 09:00-12:00\nWed 11:00-13:00", "Two windows overlap on Wednesday."),
    ],
    ids=["not a window", "not a time", "overlapping windows (service)"],
)
def test_bad_availability_keeps_the_typed_windows_and_note(client, shadowing, windows, message):
    admin, host, _, _ = shadowing
    login(client, admin)
    typed = {"windows": windows, "note": "Best on <billing> & refunds", "active": "y"}
    html = answered_again(client.post(f"/training/shadowing/hosts/{host.id}", data=typed))
    assert error_at(html, "windows") == message
    assert_kept(form_values(html), typed)
    db.session.expire_all()
    [kept] = training.list_hosts(include_inactive=True)
    assert (len(kept.windows), kept.note) == (5, "Great on refunds")  # nothing of the refused save is stored


# --- assigning a module -------------------------------------------------------------------------------------------


def test_a_bad_due_date_keeps_the_chosen_learner_and_module(client, make_user):
    author = make_user(Role.AUTHOR)
    module = training.create_module(
        actor=author,
        title="Refunds 101",
        summary="",
        audience=["member"],
        minutes=20,
        pass_mark=80,
        max_attempts=0,
        recertify_months=None,
        tags=[],
    )
    training.add_lesson(
        module.id, title="Lesson", body="Text", article_slugs=[], acknowledge=False, actor=author
    )
    training.set_module_status(module.id, "published", actor=author)
    make_user(Role.MEMBER, name="Someone Else", team="EMEA")
    learner = make_user(Role.MEMBER, name="Lee Learner", team="EMEA")
    login(client, make_user(Role.MANAGER, team="EMEA"))
    typed = {"user_id": str(learner.id), "module_id": str(module.id), "due_on": "2026-02-30"}
    html = answered_again(client.post("/training/assign/module", data=typed))
    assert error_at(html, "due_on") == "Due on must be a date (YYYY-MM-DD)."
    assert_kept(form_values(html, "/training/assign/module"), typed)
    assert count(Assignment) == 0


# --- user administration ------------------------------------------------------------------------------------------


def test_a_bad_start_date_keeps_the_role_team_and_active_flag(client, login_as, make_user):
    login_as(Role.ADMIN)
    user = make_user(Role.MEMBER, team="Old team")
    typed = {"role": "author", "team": "Night <shift> & weekends", "start_date": "2026-13-01", "active": "y"}
    html = answered_again(client.post(f"/admin/users/{user.id}", data=typed))
    assert error_at(html, "start_date") == "Start date must be a date (YYYY-MM-DD)."
    assert_kept(form_values(html), typed)
    assert (auth_services.get_user(user.id).role, auth_services.get_user(user.id).team) == (
        Role.MEMBER,
        "Old team",
    )


def test_an_admin_demoting_themselves_is_told_why_and_keeps_the_typed_team(client, login_as):
    admin = login_as(Role.ADMIN, team="Old team")
    typed = {"role": "member", "team": "Tier two escalations", "start_date": "2026-03-02", "active": "y"}
    html = answered_again(client.post(f"/admin/users/{admin.id}", data=typed))
    assert flashed_errors(html) == ["You cannot remove your own admin role or deactivate yourself."]
    assert_kept(form_values(html), typed)
    assert auth_services.get_user(admin.id).role == Role.ADMIN


# --- hiring -------------------------------------------------------------------------------------------------------


@pytest.fixture
def opening(make_user):
    manager = make_user(Role.MANAGER, name="Hilda Manager", team="EMEA")
    hiring.create_opening("Support Specialist", "EMEA", actor=manager)
    return hiring.create_opening("Customer Success Manager", "EMEA", actor=manager), manager


CANDIDATE_CASES = [
    pytest.param(
        {"email": "robin at example"},
        "email",
        "Email does not look like an email address.",
        id="bad email (service)",
    ),
    pytest.param({"name": ""}, "name", "Name is required.", id="missing name"),
]


@pytest.mark.parametrize("route", ["new", "edit"])
@pytest.mark.parametrize("changes, field, message", CANDIDATE_CASES)
def test_a_bad_candidate_keeps_the_name_notes_and_opening(client, opening, route, changes, field, message):
    opening, manager = opening
    existing = hiring.create_candidate(opening_id=opening.id, name="Old Name", actor=manager)
    login(client, manager)
    typed = {
        "opening_id": str(opening.id),
        "name": "Robin Quill-Ørsted",
        "email": "robin@example.test",
        "phone": "+47 555 0101",
        "source": "Referral from <Mia>",
        "notes": "Strong on empathy & calm;\nasked about night shifts.",
        **changes,
    }
    url = "/hiring/candidates/new" if route == "new" else f"/hiring/candidates/{existing.id}/edit"
    html = answered_again(client.post(url, data=typed))
    assert error_at(html, field) == message
    assert_kept(form_values(html), typed)
    assert [c.name for c in db.session.scalars(select(Candidate))] == ["Old Name"]


@pytest.mark.parametrize(
    "typed, field, message",
    [
        ({"title": "", "team": "Nordics <night> desk"}, "title", "Role title is required."),
        (
            {"title": "Team lead & coach", "team": "Nordics " * 12},
            "team",
            "Team can be at most 80 characters.",
        ),
    ],
    ids=["missing title", "team too long"],
)
def test_a_bad_opening_keeps_what_was_typed(client, opening, typed, field, message):
    _, manager = opening
    login(client, manager)
    html = answered_again(client.post("/hiring/openings", data=typed))
    assert error_at(html, field) == message
    assert_kept(form_values(html, "/hiring/openings"), typed)
    assert count(Opening) == 2
