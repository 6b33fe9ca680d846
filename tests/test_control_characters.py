"""NUL bytes and other control characters never reach the database (PostgreSQL refuses NUL in text) or an
export: every way text comes in drops them, keeping tabs and newlines (CR LF and lone CR become newlines)."""

from __future__ import annotations

import shutil

import pytest
from sqlalchemy import select

from kms import content, demo
from kms.articles.models import Article, Revision
from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db
from kms.hiring.models import InterviewerAssignment, Rating, Scorecard
from kms.search.indexer import EXTENSION
from kms.search.models import SearchLog
from kms.training import services as training
from kms.training.models import Lesson
from kms.validate import clean_text
from tests.articles.conftest import categories  # noqa: F401 - the handbook's fixture, used here too
from tests.conftest import login

DIRTY = "Refund\x00 steps\x1b[31m\x7f\x9b\x07 done"
CLEAN = "Refund steps[31m done"


def test_clean_text_keeps_tabs_and_newlines_and_normalises_carriage_returns():
    assert clean_text("a\tb\r\nc\rd\x00e\x0bf\x85g\u2028h") == "a\tb\nc\nde" + "fg\u2028h"
    assert clean_text("a\r\nb\x00", keep_cr=True) == "a\r\nb"


def test_nul_in_an_article_title_and_body_is_stored_without_it(client, login_as, categories):
    author = login_as(Role.AUTHOR)
    response = client.post(
        "/handbook/new",
        data={
            "title": DIRTY,
            "body": f"First line\r\n\tindented {DIRTY}\r\n",
            "category": categories[0],
            "language": "en",
            "verify_interval_days": "30",
            "status": "published",
            "owner_id": str(author.id),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    revision = db.session.scalars(select(Revision)).one()
    assert revision.title == CLEAN
    assert revision.body == f"First line\n\tindented {CLEAN}\n"
    assert db.session.scalars(select(Article)).one().title == CLEAN


def test_nul_in_a_lesson_is_stored_without_it(client, login_as):
    author = login_as(Role.AUTHOR)
    module = training.create_module(
        actor=author,
        title="Refunds",
        summary="",
        audience=["member"],
        minutes=20,
        pass_mark=80,
        max_attempts=0,
        recertify_months=None,
        tags=[],
    )
    response = client.post(
        f"/training/modules/{module.id}/lessons/new",
        data={"title": DIRTY, "body": f"Say {DIRTY}", "articles": ""},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    lesson = db.session.scalars(select(Lesson)).one()
    assert (lesson.title, lesson.body) == (CLEAN, f"Say {CLEAN}")


@pytest.fixture
def demo_team(app):
    team = demo.create_demo()
    db.session.commit()
    return {email: password for email, _, password in team.logins}


def test_nul_in_scorecard_evidence_sent_to_the_api_is_stored_without_it(app, client, demo_team):
    scored = select(Scorecard.assignment_id)  # the demo's third candidate is already scored: take a fresh one
    assignment = db.session.scalars(
        select(InterviewerAssignment)
        .where(InterviewerAssignment.id.not_in(scored))
        .order_by(InterviewerAssignment.id)
    ).first()
    login(client, assignment.interviewer.email, demo_team[assignment.interviewer.email])
    response = client.post(
        f"/api/hiring/scorecards/{assignment.id}/draft",
        json={
            "ratings": {
                "empathy": {"rating": "3", "evidence": DIRTY, "question": "Tell me\u0000 about a time"}
            },
            "summary": "Calm\u0000 and kind",
        },
    )
    assert response.status_code == 200, response.get_json()
    rating = db.session.scalars(
        select(Rating)
        .join(Scorecard)
        .where(Scorecard.assignment_id == assignment.id, Rating.trait_key == "empathy")
    ).one()
    assert (rating.evidence, rating.question) == (CLEAN, "Tell me about a time")


def test_nul_in_a_search_query_finds_and_logs_the_clean_words(app, client, login_as):
    login_as(Role.MEMBER)
    app.extensions[EXTENSION].rebuild()
    assert client.get("/search?q=refund%00s%1b").status_code == 200
    response = client.get("/api/search?q=refund%00s")
    assert response.status_code == 200 and response.get_json()["query"] == "refunds"
    assert {log.query for log in db.session.scalars(select(SearchLog))} == {"refunds"}


def test_nul_in_a_user_name_from_the_admin_page_or_the_cli_is_stored_without_it(
    app, client, login_as, runner
):
    login_as(Role.ADMIN)
    response = client.post(
        "/admin/users",
        data={
            "name": DIRTY,
            "email": "nul@example.test",
            "role": "member",
            "team": "Night\x00 shift",
            "time_zone": "UTC",
        },
    )
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:500]
    user = auth_services.find_user_by_email("nul@example.test")
    assert (user.name, user.team) == (CLEAN, "Night shift")
    result = runner.invoke(
        args=["create-user", "cli@example.test", "--name", "Cli\x00 Person\x1b", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert auth_services.find_user_by_email("cli@example.test").name == "Cli Person"


def test_an_imported_content_file_with_control_characters_is_stored_without_them(app, tmp_path):
    folder = tmp_path / "content"
    shutil.copytree(app.config["KMS_CONTENT_DIR"], folder)
    article = folder / "articles" / "refund-request.md"
    text = article.read_text(encoding="utf-8").replace(
        "title: Refund request", 'title: "Refund\\0 request\\e"', 1
    )
    article.write_text(text + f"\nLast line {DIRTY}\n", encoding="utf-8")
    content.import_content(folder)
    db.session.commit()
    stored = db.session.scalars(select(Article).where(Article.slug == "refund-request")).one()
    assert stored.title == "Refund request"
    body = db.session.scalars(select(Revision.body).where(Revision.article_id == stored.id)).one()
    assert f"Last line {CLEAN}" in body and "\x00" not in body


# --- the JSON APIs: numbers in query strings and bodies -------------------------------------------------------------

API_NUMBERS = {
    "/api/articles": ["limit", "offset"],
    "/api/processes": ["limit", "offset", "owner_id"],
    "/api/search?q=refund": ["page", "per_page"],
    "/api/hiring/candidates": ["opening"],
}


@pytest.mark.parametrize("garbage", ["abc", "1e400", "-1", "99999999999999999999", "\x00"])
def test_an_api_number_that_is_not_one_is_a_400_naming_the_parameter(app, client, login_as, garbage):
    login_as(Role.ADMIN)
    app.extensions[EXTENSION].rebuild()
    for url, names in API_NUMBERS.items():
        for name in names:
            joiner = "&" if "?" in url else "?"
            response = client.get(f"{url}{joiner}{name}={garbage}")
            if garbage == "\x00" and response.status_code == 200:
                continue  # the NUL is dropped: an empty parameter is the same as none
            assert response.status_code == 400, (url, name, response.status_code)
            assert name in response.get_json()["error"], (url, name, response.get_json())


@pytest.mark.parametrize(
    "body",
    [
        {"ratings": {"empathy": {"rating": "abc"}}},
        {"ratings": {"empathy": {"rating": 1e300}}},
        {"ratings": {"empathy": {"rating": "99999999999999999999"}}},
        {"ratings": {"empathy": {"rating": -1}}},
        {"ratings": {"empathy": {"rating": "\u0000"}}, "recommendation": "maybe\u0000"},
        {"ratings": "abc"},
        {"ratings": {"empathy": "abc"}},
        {"ratings": {"empathy": {"red_flags": [1e400, None]}}},
        {"recommendation": 5},
        {"summary": ["a", {"b": "\u0000"}]},
    ],
    ids=lambda body: str(body)[:40],
)
def test_garbage_in_the_scorecard_api_is_a_400_naming_the_field(app, client, demo_team, body):
    scored = select(Scorecard.assignment_id)  # the demo's third candidate is already scored: take a fresh one
    assignment = db.session.scalars(
        select(InterviewerAssignment)
        .where(InterviewerAssignment.id.not_in(scored))
        .order_by(InterviewerAssignment.id)
    ).first()
    login(client, assignment.interviewer.email, demo_team[assignment.interviewer.email])
    response = client.post(f"/api/hiring/scorecards/{assignment.id}/draft", json=body)
    assert response.status_code == 400, response.get_json()
    answer = response.get_json()
    named = " ".join([answer["error"], *answer.get("errors", {}), *answer.get("errors", {}).values()]).lower()
    assert any(
        key in named for key in ("rating", "empathy", "recommendation", "summary", "red flag", "ratings")
    ), answer
    assert "\x00" not in response.get_data(as_text=True)
