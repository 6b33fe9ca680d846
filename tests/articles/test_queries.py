"""The handbook home and an article page run the same number of SQL queries at 10 and at 1,000 processes."""

from __future__ import annotations

import pytest

from benchmarks import handbook_data
from kms.articles import services
from kms.articles.models import Category
from kms.articles.views.article_page import BY_GENERATION
from kms.auth.models import Role
from kms.extensions import db
from tests.articles.conftest import fields_of
from tests.conftest import login


@pytest.mark.parametrize("role", [Role.AUTHOR, Role.MEMBER])
def test_home_and_article_page_query_counts_do_not_grow_with_the_handbook(
    app, make_user, count_queries, role
):
    owners = [make_user(Role.AUTHOR).id for _ in range(3)]
    viewer = make_user(role)
    client = app.test_client()
    login(client, viewer)
    counted = {}
    for size in (10, 1000):
        handbook_data.load(size, owners) if size == 10 else _grow(owners)
        services.flag_article(
            services.resolve_slug("process-2", viewer=viewer)[0].id, "Outdated", actor=viewer
        )
        for url in ("/handbook/", "/handbook/articles/process-2"):
            client.get(url)  # warm-up: the first request loads per-process caches such as Jinja's
            with count_queries() as statements:
                response = client.get(url)
            assert response.status_code == 200
            counted[(size, url)] = len(statements)
    assert counted[(10, "/handbook/")] == counted[(1000, "/handbook/")]
    assert counted[(10, "/handbook/articles/process-2")] == counted[(1000, "/handbook/articles/process-2")]
    assert counted[(1000, "/handbook/")] <= 15 and counted[(1000, "/handbook/articles/process-2")] <= 8


def _grow(owners):
    from sqlalchemy import delete

    from kms.articles.models import Article, ArticleTag, Process, Revision
    from kms.extensions import db

    # Start over at the bigger size (keeping users), so slugs and names stay the same.
    db.session.execute(Article.__table__.update().values(published_revision_id=None))
    for model in (ArticleTag, Revision, Article, Process):
        db.session.execute(delete(model))
    db.session.commit()
    handbook_data.load(1000, owners)


def test_an_article_page_shows_every_tag_in_order_and_loads_article_and_tags_in_one_query(
    app, make_user, make_article, count_queries
):
    viewer = make_user(Role.MEMBER)
    client = app.test_client()
    login(client, viewer)
    counts = {}
    for tags in (["refunds"], ["vip", "billing", "refunds", "escalation", "apac"]):
        article = make_article(tags=tags)
        client.get(f"/handbook/articles/{article.slug}")  # warm-up
        with count_queries() as statements:
            page = client.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)
        shown = [tag for tag in sorted(tags) if f"#{tag}" in page]
        assert shown == sorted(tags)
        assert [page.index(f"#{tag}") for tag in sorted(tags)] == sorted(
            page.index(f"#{tag}") for tag in tags
        )
        counts[len(tags)] = len(statements)
        assert not any(
            "FROM article_tags" in s and "WHERE article_tags.article_id IN" in s for s in statements
        )
    assert counts[1] == counts[5]


def test_the_article_page_reads_everything_in_one_statement_and_flags_only_when_there_are_some(
    app, make_user, make_article, make_process, author, count_queries
):
    process = make_process("Refund over the limit", frequency=42)
    article = make_article(
        "Refunds", "Published text.\n", process=process, tags=["vip", "billing"], owner_id=author.id
    )
    services.mark_verified(article.id, actor=author)
    # A change that waits for review: readers keep the published text, the history counts both revisions.
    db.session.get(Category, "Billing").requires_review = True
    db.session.commit()
    services.save_article(
        article.id,
        fields_of(article, title="Refunds (new)", body="Proposed text.\n"),
        base_version=article.version,
        actor=author,
    )
    reader = make_user(Role.MEMBER, name="Mo Member")
    client = app.test_client()
    login(client, reader)
    url = f"/handbook/articles/{article.slug}"
    client.get(url)
    app.extensions.pop(BY_GENERATION)  # the page as rendered, not as kept
    with count_queries() as statements:
        page = client.get(url).get_data(as_text=True)
    handbook = [
        s for s in statements if any(f"FROM {table}" in s for table in ("articles", "flags", "revisions"))
    ]
    assert len(handbook) == 1, handbook
    assert "Published text." in page and "Proposed text." not in page and '<h1 lang="en">Refunds</h1>' in page
    assert "<strong>Owner:</strong> Ada Author" in page
    assert "<strong>Process:</strong> Refund over the limit (42/month)" in page
    assert "Verified today by Ada Author" in page and "History (2 revisions)" in page
    assert page.index("#billing") < page.index("#vip")

    services.flag_article(article.id, "Step 2 changed", actor=reader)
    with count_queries() as statements:
        page = client.get(url).get_data(as_text=True)
    assert (
        len([s for s in statements if "FROM flags" in s]) == 2
    )  # the count in the article row, then the flags
    assert "Step 2 changed" in page and "Mo Member" in page
