"""The team view in pages of 50: order, pager, filters kept across pages, whole-team rates, CSV, bad page numbers."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

import pytest

from kms.errors import Invalid
from kms.training import services
from tests.conftest import login

PERSON_LINK = re.compile(r'<a href="/training/people/(\d+)">([^<]+)</a>')


@dataclass
class Crowd:
    emea_may: list  # 53 EMEA learners who started in May 2026, in the team view's order
    emea_april: list  # 3 EMEA learners who started in April 2026, in order
    amer: list  # 4 AMER learners who started in May 2026
    module_id: int

    @property
    def emea(self) -> list:
        return self.emea_may + self.emea_april  # newest start date first: May before April


def in_view_order(users: list) -> list:
    return sorted(users, key=lambda u: (-u.start_date.toordinal(), u.name, u.id))


@pytest.fixture
def crowd(make_user, make_module, admin):
    """60 learners with one assigned module: more than one page of EMEA, with and without the month filter."""
    module = make_module(title="Refunds 101", lessons=1, quiz=False)

    def hire(name: str, team: str, start: date):
        user = make_user(name=name, team=team, start_date=start)
        services.assign_module(user.id, module.id, None, actor=admin)
        return user

    # Several learners share a start date, so the order also rests on the name.
    may = [hire(f"Learner EMEA {n:02d}", "EMEA", date(2026, 5, 1 + n % 20)) for n in range(53)]
    april = [hire(f"Learner EMEA {n:02d}", "EMEA", date(2026, 4, n - 43)) for n in range(53, 56)]
    amer = [hire(f"Learner AMER {n}", "AMER", date(2026, 5, 3)) for n in range(4)]
    return Crowd(emea_may=in_view_order(may), emea_april=in_view_order(april), amer=amer, module_id=module.id)


def names_on(html: str) -> list[str]:
    return [name for _, name in PERSON_LINK.findall(html)]


def pager_of(html: str) -> str:
    match = re.search(r'<nav class="pager" aria-label="Team pages">(.*?)</nav>', html, re.S)
    assert match, "no pager on the page"
    return match.group(1)


def page(client, **args) -> str:
    response = client.get("/training/team", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_each_page_shows_the_next_fifty_learners_in_a_stable_order_with_a_pager(client, crowd, manager):
    login(client, manager)
    expected = [u.name for u in crowd.emea]
    first = page(client)
    assert names_on(first) == expected[:50]
    nav = pager_of(first)
    assert '<span aria-current="page">Page 1 of 2</span>' in nav
    assert 'rel="next"' in nav and 'href="/training/team?page=2"' in nav and 'rel="prev"' not in nav
    assert "Showing 1–50 of 56" in first and "(56 new hires)" in first

    second = page(client, page=2)
    assert names_on(second) == expected[50:]
    nav = pager_of(second)
    assert '<span aria-current="page">Page 2 of 2</span>' in nav
    assert 'href="/training/team?page=1"' in nav and 'rel="next"' not in nav
    assert names_on(page(client, page=2)) == names_on(second)  # asking again: the same learners, same order


def test_a_team_that_fits_on_one_page_has_no_pager(client, crowd, admin):
    login(client, admin)
    html = page(client, team="AMER")
    assert sorted(names_on(html)) == sorted(u.name for u in crowd.amer)
    assert 'class="pager"' not in html and "Showing" not in html


def test_the_team_and_start_month_filters_survive_paging(client, crowd, admin):
    login(client, admin)
    first = page(client, team="EMEA", month="2026-05")
    assert names_on(first) == [u.name for u in crowd.emea_may[:50]]
    next_link = re.search(r'<a href="([^"]+)" rel="next">', pager_of(first)).group(1).replace("&amp;", "&")
    assert "team=EMEA" in next_link and "month=2026-05" in next_link and "page=2" in next_link

    second = client.get(next_link).get_data(as_text=True)
    assert names_on(second) == [u.name for u in crowd.emea_may[50:]]  # no AMER, no April starters
    assert "Page 2 of 2" in pager_of(second)
    assert '<option value="EMEA" selected>' in second and '<option value="2026-05" selected>' in second
    previous = re.search(r'<a href="([^"]+)" rel="prev">', pager_of(second)).group(1).replace("&amp;", "&")
    assert "team=EMEA" in previous and "month=2026-05" in previous


def test_the_module_rates_count_the_whole_filtered_team_on_every_page(client, crowd, admin):
    # Two learners on the second page finish the module; the first page's rates must still count them.
    module = services.get_module(crowd.module_id, actor=admin)
    for learner in crowd.emea[-2:]:
        services.complete_lesson(module.lessons[0].id, actor=learner)
    for number in (1, 2):
        view = services.team_view(actor=admin, team="EMEA", page=number)
        [stat] = view.modules
        assert (stat.assigned, stat.completed, stat.completion_rate, view.total) == (56, 2, 3, 56)
    login(client, admin)
    html = page(client, team="EMEA")
    assert '3% <span class="muted small">(2/56)</span>' in html


def test_the_csv_still_exports_everyone_matching_the_filters(client, crowd, manager):
    login(client, manager)

    def exported(**args) -> list[str]:
        rows = list(
            csv.reader(
                io.StringIO(client.get("/training/team.csv", query_string=args).get_data(as_text=True))
            )
        )
        return [r[0] for r in rows[1:] if r and r[0].startswith("Learner")]

    assert exported() == [u.name for u in crowd.emea]  # 56 rows, more than a page
    assert exported(page=2) == [u.name for u in crowd.emea]  # a page number does not cut the CSV
    assert exported(month="2026-05") == [u.name for u in crowd.emea_may]  # the filter still applies


def test_a_page_number_out_of_range_or_not_a_number_shows_a_real_page(client, crowd, admin):
    login(client, admin)
    expected = [u.name for u in crowd.emea]
    for raw, shown in [
        ("0", 1),
        ("-1", 1),
        ("abc", 1),
        ("2.5", 1),
        ("", 1),
        ("²", 1),
        ("1e3", 1),
        ("3", 2),
        ("999999999999", 2),
        ("9" * 5000, 2),
    ]:
        html = page(client, team="EMEA", page=raw)
        assert f'<span aria-current="page">Page {shown} of 2</span>' in pager_of(html), raw[:20]
        assert names_on(html) == (expected[:50] if shown == 1 else expected[50:]), raw[:20]


def test_the_service_clamps_page_numbers_and_refuses_an_empty_page_size(crowd, admin):
    assert services.team_view(actor=admin, team="EMEA", page=-5).page == 1
    last = services.team_view(actor=admin, team="EMEA", page=10**12)
    assert (last.page, last.pages, len(last.rows), last.first_number, last.last_number) == (2, 2, 6, 51, 56)
    with pytest.raises(Invalid):
        services.team_view(actor=admin, page=1, per_page=0)


def test_every_page_and_filter_runs_the_same_number_of_queries(client, crowd, admin, count_queries):
    login(client, admin)
    counts = []
    for args in (
        {},
        {"page": 2},
        {"page": "x"},
        {"team": "EMEA", "month": "2026-05", "page": 2},
        {"team": "AMER"},
    ):
        with count_queries() as statements:
            page(client, **args)
        counts.append(len(statements))
    assert len(set(counts)) == 1, counts
