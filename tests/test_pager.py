"""The shared pager macro (team view, all articles, process inventory): links, filters kept, screen-reader marks."""

from __future__ import annotations

import re


def render_pager(app, page: int, pages: int, args: dict, endpoint: str = "articles.processes") -> str:
    with app.test_request_context("/"):
        macro = app.jinja_env.get_template("_macros/pager.html").module.pager
        return str(macro(endpoint, page, pages, args))


def links(html: str) -> dict[str, str]:
    return {
        rel: href.replace("&amp;", "&")
        for href, rel in re.findall(r'<a href="([^"]+)" rel="(prev|next)">', html)
    }


def test_a_single_page_gets_no_pager(app):
    assert render_pager(app, 1, 1, {"category": "Billing"}).strip() == ""


def test_a_middle_page_links_both_ways_keeping_the_filters_and_marks_the_current_page(app):
    html = render_pager(app, 2, 3, {"category": "Billing", "status": None, "owner": ""})
    assert '<nav class="pager" aria-label="Pages">' in html
    assert '<span aria-current="page">Page 2 of 3</span>' in html
    assert links(html) == {
        "prev": "/handbook/processes?page=1&category=Billing",
        "next": "/handbook/processes?page=3&category=Billing",
    }  # empty filters left out


def test_the_first_and_last_pages_offer_only_the_way_that_exists(app):
    assert set(links(render_pager(app, 1, 2, {}))) == {"next"}
    assert set(links(render_pager(app, 2, 2, {}))) == {"prev"}


def test_the_arrows_are_hidden_from_screen_readers(app):
    html = render_pager(app, 2, 3, {})
    assert (
        '<span aria-hidden="true">←</span> Previous' in html
        and 'Next <span aria-hidden="true">→</span>' in html
    )


def test_a_page_with_its_own_link_maker_gets_numbered_pages_around_the_current_one(app):
    with app.test_request_context("/"):
        macro = app.jinja_env.get_template("_macros/pager.html").module.pager
        html = str(
            macro(None, 6, 20, label="Result pages", window=2, url=lambda page: f"/search?q=a&page={page}")
        )
    assert '<nav class="pager" aria-label="Result pages">' in html
    assert re.findall(r">(\d+)</", html) == ["4", "5", "6", "7", "8"]
    assert '<span aria-current="page" class="button primary">6</span>' in html
    assert 'href="/search?q=a&amp;page=5" rel="prev"' in html
    assert 'href="/search?q=a&amp;page=7" rel="next"' in html


def test_every_paginated_page_uses_the_one_pager_macro():
    from pathlib import Path

    templates = Path(__file__).resolve().parent.parent / "templates"
    hand_made = [
        str(p.relative_to(templates))
        for p in templates.rglob("*.html")
        if 'class="pager"' in p.read_text() and p.name != "pager.html"
    ]
    assert hand_made == []
    users = sorted(
        str(p.relative_to(templates)) for p in templates.rglob("*.html") if "import pager" in p.read_text()
    )
    assert users == [
        "articles/browse.html",
        "articles/processes.html",
        "notify/index.html",
        "search/results.html",
        "training/team.html",
    ]
