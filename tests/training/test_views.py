"""Pages and API: permission boundaries, fixed query counts, team view and CSV, the browser flow."""

from __future__ import annotations

import csv
import io
from datetime import date, time, timedelta

import pytest

from kms.auth import services as auth_services
from kms.auth.models import Role
from kms.extensions import db, utcnow
from kms.training import services
from kms.training.models import Path, PathModule
from tests.conftest import login
from tests.training.conftest import right_answers


@pytest.fixture
def path(make_module):
    modules = [make_module(title=f"Module {n}") for n in range(3)]
    made = Path(
        slug="csm-first-30-days",
        title="CSM — first 30 days",
        shadow_days=1,
        shadow_sessions_per_day=2,
        shadow_minutes=60,
    )
    made.steps = [PathModule(module_id=m.id, position=i, day_offset=2 + i) for i, m in enumerate(modules)]
    db.session.add(made)
    db.session.commit()
    return made


def hire_team(make_user, path, admin, count: int, team: str = "EMEA"):
    hires = []
    for n in range(count):
        hire = make_user(name=f"Hire {team} {n}", team=team, start_date=date.today() - timedelta(days=n * 5))
        services.assign_path(hire.id, path.id, actor=admin)
        module = services.get_module(path.steps[0].module_id, actor=hire)
        services.complete_lesson(module.lessons[0].id, actor=hire)
        if n % 2:
            services.submit_quiz(module.id, right_answers(module), actor=hire)
        hires.append(hire)
    return hires


def onboarding_figures(hire, manager, now=None) -> tuple[int, int]:
    """The learner's overall percent as they see it (My onboarding) and as their manager does (team view)."""
    mine = services.my_onboarding(hire.id, actor=hire, now=now).percent
    [row] = [r for r in services.team_view(actor=manager, now=now).rows if r.user.id == hire.id]
    return mine, row.percent


def test_every_lesson_and_quiz_moves_the_onboarding_bar_the_same_for_the_learner_and_the_manager(
    make_user, path, admin, manager
):
    hire = make_user(team="EMEA", start_date=date.today())
    services.assign_path(hire.id, path.id, actor=admin)
    seen = [onboarding_figures(hire, manager)]
    for step in path.steps:
        module = services.get_module(step.module_id, actor=hire)
        for lesson in module.lessons:
            services.complete_lesson(lesson.id, actor=hire)
            seen.append(onboarding_figures(hire, manager))
        services.submit_quiz(module.id, right_answers(module), actor=hire)
        seen.append(onboarding_figures(hire, manager))
    assert all(mine == theirs for mine, theirs in seen), seen
    figures = [mine for mine, _ in seen]
    assert figures[0] == 0 and figures[-1] == 100
    assert all(before < after for before, after in zip(figures, figures[1:], strict=False)), figures


def test_work_from_before_a_certificate_expired_does_not_count_in_the_team_view(
    make_user, make_module, manager, admin
):
    from datetime import UTC, datetime

    hire = make_user(team="EMEA", start_date=date(2026, 1, 5))
    module = make_module(title="Security refresher", recertify_months=6)
    services.assign_module(hire.id, module.id, None, actor=admin)
    first = datetime(2026, 1, 31, 10, tzinfo=UTC)
    for lesson in module.lessons:
        services.complete_lesson(lesson.id, actor=hire, now=first)
    services.submit_quiz(module.id, right_answers(module), actor=hire, now=first)
    assert onboarding_figures(hire, manager, now=datetime(2026, 7, 1, tzinfo=UTC)) == (100, 100)

    expired = datetime(2026, 8, 2, tzinfo=UTC)
    assert onboarding_figures(hire, manager, now=expired) == (0, 0)
    [row] = [r for r in services.team_view(actor=manager, now=expired).rows if r.user.id == hire.id]
    cell = row.cells[module.id]
    assert (cell.status, cell.lessons_done, cell.quiz_passed) == ("expired", 0, False)

    services.complete_lesson(module.lessons[0].id, actor=hire, now=expired)
    mine, theirs = onboarding_figures(hire, manager, now=expired)
    assert mine == theirs > 0
    [row] = [r for r in services.team_view(actor=manager, now=expired).rows if r.user.id == hire.id]
    assert row.cells[module.id].lessons_done == 1


def test_the_team_view_runs_the_same_number_of_queries_for_any_team_size(
    make_user, path, admin, manager, count_queries
):
    hire_team(make_user, path, admin, 2)
    with count_queries() as small:
        view = services.team_view(actor=manager)
        [row.percent for row in view.rows]
    hire_team(make_user, path, admin, 7, team="EMEA")
    with count_queries() as large:
        view = services.team_view(actor=manager)
        [row.percent for row in view.rows]
    assert len(view.rows) == 9 and len(small) == len(large)


def test_the_team_view_runs_the_same_number_of_queries_for_any_page_or_page_size(
    make_user, path, admin, manager, count_queries
):
    hire_team(make_user, path, admin, 5)
    services.team_view(actor=manager)  # reloads the manager, expired by the last commit, outside the counting
    counts, shown = [], []
    for page, per_page in ((1, 1), (3, 2), (2, 4), (1, 50), (99, 2)):
        with count_queries() as statements:
            view = services.team_view(actor=manager, page=page, per_page=per_page)
            [(row.percent, row.last_activity) for row in view.rows]
        counts.append(len(statements))
        shown.append((view.page, len(view.rows)))
    assert shown == [(1, 1), (3, 1), (2, 1), (1, 5), (3, 1)]
    assert len(set(counts)) == 1, counts


def test_my_onboarding_runs_the_same_number_of_queries_however_much_is_assigned(
    make_user, make_module, path, admin, count_queries
):
    [hire] = hire_team(make_user, path, admin, 1)
    with count_queries() as few:
        services.my_onboarding(hire.id, actor=hire)
    for n in range(5):
        services.assign_module(hire.id, make_module(title=f"Extra {n}").id, date.today(), actor=admin)
    with count_queries() as many:
        onboarding = services.my_onboarding(hire.id, actor=hire)
        [(i.percent, i.next_lesson) for i in onboarding.items]
    assert len(onboarding.items) == 8 and len(few) == len(many)


def test_the_pages_run_a_fixed_number_of_queries(client, make_user, path, admin, count_queries):
    hire_team(make_user, path, admin, 2)
    login(client, admin)
    with count_queries() as small:
        assert client.get("/training/team").status_code == 200
    hire_team(make_user, path, admin, 6, team="AMER")
    with count_queries() as large:
        assert client.get("/training/team").status_code == 200
    with count_queries() as filtered_page:
        assert client.get("/training/team?team=AMER&page=2").status_code == 200
    assert len(small) == len(large) == len(filtered_page)


def test_a_manager_sees_only_their_team_in_the_team_view_and_csv(client, make_user, path, admin, manager):
    hire_team(make_user, path, admin, 2, team="EMEA")
    hire_team(make_user, path, admin, 1, team="AMER")
    login(client, manager)
    html = client.get("/training/team").get_data(as_text=True)
    assert "Hire EMEA 0" in html and "Hire AMER 0" not in html
    rows = list(csv.reader(io.StringIO(client.get("/training/team.csv").get_data(as_text=True))))
    assert rows[0][:4] == ["Name", "Email", "Team", "Start date"] and "Module 0" in rows[0]
    names = [r[0] for r in rows[1:] if r and r[0].startswith("Hire")]
    assert sorted(names) == ["Hire EMEA 0", "Hire EMEA 1"]


def test_the_team_view_cell_shows_lessons_done_and_a_passed_quiz(client, make_user, path, admin, manager):
    hire_team(
        make_user, path, admin, 2, team="EMEA"
    )  # both did one of two lessons; only "Hire EMEA 1" passed
    login(client, manager)
    html = client.get("/training/team").get_data(as_text=True)
    rows = {name: row for row in html.split("<tr>") for name in ("Hire EMEA 0", "Hire EMEA 1") if name in row}
    step = '1/2<span class="visually-hidden"> lessons</span>'
    assert step + " + quiz</span>" in rows["Hire EMEA 1"]
    assert step + "</span>" in rows["Hire EMEA 0"] and "+ quiz" not in rows["Hire EMEA 0"]


def test_the_team_view_filters_by_team_and_start_month_and_reports_rates(make_user, path, admin):
    hire_team(make_user, path, admin, 2, team="EMEA")
    [amer] = hire_team(make_user, path, admin, 1, team="AMER")
    view = services.team_view(actor=admin, team="AMER")
    assert [r.user.id for r in view.rows] == [amer.id] and view.teams == ["AMER", "EMEA"]
    month = date.today().strftime("%Y-%m")
    assert all(
        r.user.start_date.strftime("%Y-%m") == month
        for r in services.team_view(actor=admin, start_month=month).rows
    )
    everyone = services.team_view(actor=admin)
    first = everyone.modules[0]
    assert (first.assigned, first.attempted, first.passed) == (3, 1, 1) and first.pass_rate == 100


def test_csv_cells_that_look_like_formulas_are_defused(make_user, path, admin):
    hire = make_user(name="=HYPERLINK(1)", team="EMEA", start_date=date.today())
    services.assign_path(hire.id, path.id, actor=admin)
    text = services.team_csv(services.team_view(actor=admin))
    assert "'=HYPERLINK(1)" in text


@pytest.mark.parametrize("role", [Role.MEMBER, Role.AUTHOR])
def test_members_and_authors_cannot_open_the_team_view_or_someone_elses_progress(
    client, login_as, make_user, role
):
    other = make_user(team="EMEA")
    login_as(role, team="EMEA")
    assert client.get("/training/team").status_code == 403
    assert client.get("/training/team.csv").status_code == 403
    assert client.get(f"/training/people/{other.id}").status_code == 403
    assert client.get(f"/training/shadowing/plan/{other.id}").status_code == 403


def test_a_manager_opens_their_team_members_progress_but_not_another_teams(client, make_user, manager):
    mine, theirs = make_user(team="EMEA", name="Mine"), make_user(team="AMER", name="Theirs")
    login(client, manager)
    assert "Mine" in client.get(f"/training/people/{mine.id}").get_data(as_text=True)
    assert client.get(f"/training/people/{theirs.id}").status_code == 404


def test_the_training_home_is_my_onboarding_for_members_and_the_team_view_for_managers(
    client, make_user, manager
):
    member = make_user()
    login(client, member)
    assert "My onboarding" in client.get("/training/").get_data(as_text=True)
    client.post("/logout")
    login(client, manager)
    assert "Team training" in client.get("/training/").get_data(as_text=True)


def test_every_training_page_without_parameters_renders_for_every_role(client, make_user, path, admin):
    hire_team(make_user, path, admin, 1)
    simple = [
        r.rule
        for r in client.application.url_map.iter_rules()
        if r.endpoint.startswith("training.") and "GET" in r.methods and not r.arguments
    ]
    for role in Role:
        user = make_user(role, team="EMEA")
        login(client, user)
        for rule in simple:
            response = client.get(rule)
            assert response.status_code in (200, 403), (role, rule, response.status_code)
        client.post("/logout")


def test_the_browser_flow_assign_learn_and_watch_progress_move(client, make_user, path, manager):
    hire = make_user(team="EMEA", start_date=date.today(), name="Nina New")
    login(client, manager)
    response = client.post("/training/assign/path", data={"user_id": hire.id, "path_id": path.id})
    assert response.status_code == 302
    client.post("/logout")
    login(client, hire)
    page = client.get("/training/").get_data(as_text=True)
    assert "0%" in page and "Module 0" in page
    module = services.get_module(path.steps[0].module_id, actor=hire)
    for lesson in module.lessons:
        assert client.post(f"/training/lessons/{lesson.id}/complete", data={"seen": ""}).status_code == 302
    failed = {f"q-{q.id}": [c.id for c in q.choices if not c.correct][0] for q in module.questions}
    client.post(f"/training/modules/{module.id}/quiz", data=failed)
    assert services.my_onboarding(hire.id, actor=hire).modules_done == 0
    passed = {f"q-{q.id}": [c.id for c in q.choices if c.correct] for q in module.questions}
    client.post(f"/training/modules/{module.id}/quiz", data=passed)
    page = client.get("/training/me").get_data(as_text=True)
    assert 'value="33"' in page and "33%" in page


def test_the_api_answers_with_a_personal_token(client, make_user, path, admin):
    [hire] = hire_team(make_user, path, admin, 1)
    _, secret = auth_services.create_token(hire, "script")
    headers = {"Authorization": f"Bearer {secret}"}
    data = client.get("/api/me/onboarding", headers=headers).get_json()
    assert [a["module"]["title"] for a in data["assignments"]] == ["Module 0", "Module 1", "Module 2"]
    assert data["paths"][0]["slug"] == "csm-first-30-days" and 0 <= data["progress"]["percent"] <= 100
    modules = client.get("/api/modules", headers=headers).get_json()["modules"]
    assert {m["title"] for m in modules} == {"Module 0", "Module 1", "Module 2"}
    assert client.get("/api/me/onboarding").status_code == 401
    assert client.get("/api/me/onboarding", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_an_author_creates_a_module_adds_a_lesson_and_a_question_and_publishes_it(client, login_as):
    login_as(Role.AUTHOR)
    response = client.post(
        "/training/modules/new",
        data={
            "title": "Angry customers",
            "audience": ["member"],
            "minutes": 30,
            "pass_mark": 80,
            "max_attempts": 0,
        },
    )
    assert response.status_code == 302
    edit = response.location
    module_id = int(edit.rstrip("/").split("/")[-2])
    assert (
        client.post(f"/training/modules/{module_id}/status", data={"status": "published"}).status_code == 400
    )
    client.post(
        f"/training/modules/{module_id}/lessons/new", data={"title": "Listen", "body": "**Listen** first."}
    )
    bad = client.post(
        f"/training/modules/{module_id}/questions/new",
        data={"text": "First step?", "kind": "single", "choices": "Listen\nArgue"},
    )
    assert bad.status_code == 400 and "exactly one correct" in bad.get_data(as_text=True)
    assert "Argue" in bad.get_data(as_text=True)  # what was typed is kept
    client.post(
        f"/training/modules/{module_id}/questions/new",
        data={"text": "First step?", "kind": "single", "choices": "* Listen\nArgue"},
    )
    assert (
        client.post(f"/training/modules/{module_id}/status", data={"status": "published"}).status_code == 302
    )
    page = client.get(f"/training/modules/{module_id}").get_data(as_text=True)
    assert "Listen" in page and "1 question ·" in page


def test_lessons_reorder(make_module, author):
    module = make_module(lessons=3, quiz=False)
    first, second, third = [lesson.id for lesson in module.lessons]
    services.move_lesson(third, -1, actor=author)
    assert [lesson.id for lesson in services.get_module(module.id, actor=author).lessons] == [
        first,
        third,
        second,
    ]
    services.reorder_lessons(module.id, [second, first, third], actor=author)
    assert [lesson.id for lesson in services.get_module(module.id, actor=author).lessons] == [
        second,
        first,
        third,
    ]


def test_the_planner_page_proposes_and_books_sessions(client, make_user, manager, admin):
    host = make_user(team="EMEA", time_zone="Europe/Oslo", name="Hana Host")
    services.set_host(host.id, actor=admin)
    services.set_availability(host.id, [(d, time(9), time(17)) for d in range(7)], actor=admin)
    hire = make_user(team="EMEA", time_zone="Europe/Oslo", start_date=date.today() + timedelta(days=3))
    login(client, manager)
    page = client.post(
        f"/training/shadowing/plan/{hire.id}",
        data={"action": "propose", "days": 1, "sessions_per_day": 2, "minutes": 60},
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="start-1"' in html
    form = {"action": "confirm", "count": 2}
    for i in range(2):
        for field in ("host", "start", "end", "format"):
            marker = f'name="{field}-{i}"'
            chunk = html.split(marker)[1]
            value = (
                chunk.split("selected")[0].rsplit('value="', 1)[1].split('"')[0]
                if field in ("host", "format")
                else chunk.split('value="')[1].split('"')[0]
            )
            form[f"{field}-{i}"] = value
        form[f"keep-{i}"] = "y"
    done = client.post(f"/training/shadowing/plan/{hire.id}", data=form)
    assert done.status_code == 302
    assert len([s for s in services.sessions_for(hire.id, actor=manager) if s.starts_at > utcnow()]) == 2


def test_the_planner_page_says_what_did_not_fit_and_offers_a_wider_window(client, make_user, manager, admin):
    host = make_user(team="EMEA", time_zone="Europe/Oslo", name="Hana Host")
    first = date.today() + timedelta(days=7)
    services.set_host(host.id, windows=[(first.weekday(), time(9), time(12))], actor=admin)
    hire = make_user(team="EMEA", time_zone="Europe/Oslo", start_date=first)
    login(client, manager)
    ask = {
        "action": "propose",
        "days": 2,
        "sessions_per_day": 4,
        "minutes": 90,
        "first_day": first.isoformat(),
        "window_days": 7,
    }
    page = client.post(f"/training/shadowing/plan/{hire.id}", data=ask)
    text = " ".join(page.get_data(as_text=True).split())
    assert page.status_code == 200
    assert "2 of 8 requested sessions fit." in text and "6 sessions did not" in text
    assert "<strong>2</strong> — host availability" in text
    assert "<strong>4</strong> — outside the window" in text and "double booking" not in text
    assert 'name="window_days" value="14"' in text and "Widen the window to 14 days" in text
    wider = client.post(f"/training/shadowing/plan/{hire.id}", data={**ask, "window_days": 14})
    text = " ".join(wider.get_data(as_text=True).split())
    assert "4 of 8 requested sessions fit." in text and "outside the window" not in text
    assert "Widen the window" not in text and 'name="start-3"' in text


def _words(response) -> str:
    return " ".join(response.get_data(as_text=True).split())


def test_a_new_hire_with_nothing_assigned_is_told_what_happens_next_not_0_of_0(
    client, make_user, manager, admin
):
    hire = make_user(name="Nina New", team="EMEA")
    login(client, hire)
    page = _words(client.get("/training/me"))
    assert "0 of 0 modules" not in page and "0%" not in page
    assert "Nothing is assigned to you yet" in page
    assert "Your manager Morgan Manager will assign your onboarding path" in page
    assert 'href="/handbook/">browse the handbook</a>' in page and 'href="/training/modules">' in page


def test_a_new_hire_without_a_team_manager_is_told_an_admin_assigns_and_progress_returns_once_assigned(
    client, make_user, manager, admin, path
):
    loner = make_user(name="Lou Loner", team="APAC", start_date=date.today())
    login(client, loner)
    assert "An admin (Alex Admin) will assign your onboarding path" in _words(client.get("/training/me"))
    services.assign_path(loner.id, path.id, actor=admin)
    page = _words(client.get("/training/me"))
    assert "Nothing is assigned" not in page and "0 of 3 modules" in page


def test_a_manager_opening_a_person_with_nothing_assigned_is_offered_to_assign(client, make_user, manager):
    hire = make_user(name="Nina New", team="EMEA")
    login(client, manager)
    page = _words(client.get(f"/training/people/{hire.id}"))
    assert "Nothing is assigned to Nina New yet" in page and "0 of 0 modules" not in page
    assert f'href="/training/assign?user_id={hire.id}">Assign an onboarding path or modules</a>' in page
