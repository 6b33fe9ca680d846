"""Every XSS payload of the corpus comes out inert in the handbook, training and hiring pages that show it.

Each payload is stored through the features' own services, as a user's text would be, in every field those
features render as Markdown or as text:
- handbook: article title, body and tags, flag comments, process names and notes;
- training: lesson titles and bodies, quiz questions, choices and explanations, shadowing notes and feedback;
- hiring: candidate names and notes, scorecard evidence, questions and summaries.
Then the pages that show those fields are fetched and parsed (tests/security/inert.py): no script-like element,
event handler or javascript:/vbscript:/data:text/html URL may appear. Plain-text fields must also still be
readable as the text the user typed. The search query echo joins when the search pages exist (issue 6).
"""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from kms.articles import services as handbook
from kms.articles.models import Category
from kms.auth.models import Role
from kms.extensions import db, utcnow
from kms.hiring import services as hiring
from kms.training import services as training
from tests.conftest import login
from tests.hiring.conftest import CONTENT
from tests.security.inert import assert_inert, load_payloads

PAYLOADS = load_payloads()


def short(payload: str, limit: int) -> str:
    return payload[:limit].strip() or "x"


def page(client, path: str, where: str) -> str:
    """The visible text of a page that must be answered (200) and inert."""
    response = client.get(path)
    assert response.status_code == 200, f"{where}: GET {path} answered {response.status_code}"
    return assert_inert(response.get_data(as_text=True), where)


@pytest.fixture
def people(app, make_user):
    for position, name in enumerate(handbook.DEFAULT_CATEGORIES, 1):
        db.session.add(Category(name=name, position=position))
    db.session.commit()
    return {
        "author": make_user(Role.AUTHOR, name="Ada Author", team="EMEA"),
        "manager": make_user(Role.MANAGER, name="Morgan Manager", team="EMEA"),
        "member": make_user(Role.MEMBER, name="Nina New", team="EMEA"),
    }


def test_handbook_titles_bodies_tags_flags_and_process_names_are_inert(app, client, people):
    author, member = people["author"], people["member"]
    articles = []
    for number, payload in enumerate(PAYLOADS):
        name = f"{short(payload, 190)} #{number}"  # process names are unique, whatever their case
        process = handbook.create_process(
            handbook.ProcessFields(name=name, category="Billing", frequency=number, notes=payload),
            actor=author,
        )
        article = handbook.create_article(
            handbook.ArticleFields(
                title=name,
                body=payload,
                category="Billing",
                tags=[short(payload, 40), "xss"],
                slug=f"payload-{number}",
                process_id=process.id if number % 2 else None,
            ),
            actor=author,
        )
        handbook.flag_article(article.id, payload, actor=member)
        articles.append((payload, name, article.slug))

    login(client, author)
    for payload, name, slug in articles:
        text = page(client, f"/handbook/articles/{slug}", f"article page for {payload!r}")
        assert name in text, f"the article page does not show the title {name!r} as text"
        assert payload.strip() in text, f"the article page does not show the flag comment {payload!r} as text"
        for suffix in ("/edit", "/history"):
            page(client, f"/handbook/articles/{slug}{suffix}", f"{suffix} of the article for {payload!r}")
    listing = processes = ""
    for number in (1, 2, 3):  # the lists show 50 a page
        listing += page(client, f"/handbook/articles?tag=xss&page={number}", f"all articles, page {number}")
        processes += page(client, f"/handbook/processes?page={number}", f"process inventory, page {number}")
    missing = [name for _, name, _ in articles if name not in listing or name not in processes]
    assert not missing, f"titles or process names not shown as text: {missing[:3]}"
    for path in ("/handbook/", "/handbook/flags", "/handbook/stale"):
        page(client, path, path)


def test_lessons_quiz_questions_choices_and_explanations_are_inert(app, client, people):
    author, member = people["author"], people["member"]
    module = training.create_module(
        actor=author,
        title="XSS module",
        summary="payloads",
        audience=["member"],
        minutes=5,
        pass_mark=50,
        max_attempts=0,
        recertify_months=None,
        tags=[],
    )
    lessons = [
        (payload, training.add_lesson(module.id, title=short(payload, 120), body=payload, actor=author).id)
        for payload in PAYLOADS
    ]
    for payload in PAYLOADS:
        training.add_question(
            module.id,
            text=payload,
            kind="single",
            explanation=payload,
            actor=author,
            choices=[(short(payload, 500), True), ("Something else", False)],
        )
    module = training.set_module_status(module.id, "published", actor=author)

    login(client, member)
    for payload, lesson_id in lessons:
        text = page(client, f"/training/lessons/{lesson_id}", f"lesson page for {payload!r}")
        assert short(payload, 120) in text, f"the lesson page does not show the title {payload!r} as text"
    text = page(client, f"/training/modules/{module.id}", "module page")
    assert all(short(p, 120) in text for p in PAYLOADS), "lesson titles not shown as text on the module page"
    quiz = page(client, f"/training/modules/{module.id}/quiz", "quiz page")
    assert all(p.strip() in quiz for p in PAYLOADS), "questions not shown as text on the quiz page"
    questions = training.quiz_questions(module.id, actor=member)
    attempt = training.submit_quiz(module.id, {q.id: [q.choices[0].id] for q in questions}, actor=member)
    result = page(client, f"/training/attempts/{attempt.id}", "quiz result with explanations")
    assert all(p.strip() in result for p in PAYLOADS), "explanations not shown as text on the result page"


def test_shadowing_notes_and_host_feedback_are_inert(app, client, people):
    manager, host, trainee = people["manager"], people["author"], people["member"]
    training.set_host(host.id, note="Happy to be shadowed", actor=manager)
    training.set_availability(host.id, [(day, time(0, 0), time(23, 59)) for day in range(7)], actor=manager)
    starts = (utcnow() + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    session = training.schedule_session(
        trainee_id=trainee.id,
        host_id=host.id,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=90),
        focus="Refunds",
        actor=manager,
    )
    host_client = app.test_client()
    login(client, trainee)
    login(host_client, host)
    for payload in PAYLOADS:
        training.save_session_notes(session.id, payload, actor=trainee)
        training.save_session_notes(session.id, short(payload, 200) + " (host)", actor=host)
        for who, viewer in (("trainee", client), ("host", host_client)):
            text = page(viewer, f"/training/shadowing/{session.id}", f"session page ({who}) for {payload!r}")
            assert payload.strip() in text and short(payload, 200) + " (host)" in text, (
                f"the session page ({who}) lost the notes {payload!r}"
            )


def test_candidate_names_notes_and_scorecard_evidence_and_summaries_are_inert(app, client, people):
    hiring.load_rubric_from(CONTENT)
    manager = people["manager"]
    opening = hiring.create_opening("Customer Success Manager", "EMEA", actor=manager)
    traits = [trait.key for trait in hiring.current_rubric().traits]
    candidates = []
    for payload in PAYLOADS:
        candidate = hiring.create_candidate(
            opening_id=opening.id, name=short(payload, 120), notes=payload, source="Referral", actor=manager
        )
        interview = hiring.schedule_interview(
            candidate.id,
            title="Traits interview",
            scheduled_at=None,
            interviewers=[(manager.id, [])],
            actor=manager,
        )
        assignment = interview.assignments[0].id
        ratings = {
            key: {"rating": 3, "question": short(payload, 2000), "evidence": payload, "red_flags": []}
            for key in traits
        }
        hiring.submit_scorecard(
            assignment, {"ratings": ratings, "recommendation": "yes", "summary": payload}, actor=manager
        )
        candidates.append((payload, candidate.id, assignment))

    login(client, manager)
    for payload, candidate_id, assignment in candidates:
        text = page(client, f"/hiring/candidates/{candidate_id}", f"candidate page for {payload!r}")
        assert short(payload, 120) in text and payload.strip() in text, (
            f"the candidate page does not show the name and notes {payload!r} as text"
        )
        text = page(client, f"/hiring/candidates/{candidate_id}/debrief", f"debrief for {payload!r}")
        assert payload.strip() in text, (
            f"the debrief does not show the evidence and summary {payload!r} as text"
        )
        page(client, f"/hiring/scorecards/{assignment}", f"scorecard for {payload!r}")
    board = page(client, "/hiring/", "hiring board")
    assert all(short(p, 120) in board for p, _, _ in candidates), "candidate names not shown on the board"
    page(client, f"/hiring/openings/{opening.id}/compare", "comparison of candidates")


def test_the_search_page_echoes_the_query_as_text(app, client, people):
    from kms.search.indexer import EXTENSION

    app.extensions[EXTENSION].rebuild()  # an index to search (the start-up task builds it in a real run)
    login(client, people["member"])
    for payload in PAYLOADS:
        response = client.get("/search", query_string={"q": payload})
        assert response.status_code in (200, 400), f"/search?q={payload!r} answered {response.status_code}"
        assert_inert(response.get_data(as_text=True), f"search page for {payload!r}")
