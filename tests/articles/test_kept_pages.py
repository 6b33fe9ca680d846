"""An article page kept by a server (per generation of what pages are built from) is never shown stale: not after
a save on another server sharing the database, nor once its "Verified N days ago" label has moved on."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text

from kms.articles import services
from kms.articles.models import Article, Category, Flag, Process
from kms.articles.views import article_page, pages
from kms.articles.views.article_page import BY_GENERATION, GENERATION
from kms.auth import services as auth_services
from kms.auth.models import Role, User
from kms.extensions import db, unit_of_work, utcnow
from kms.generations import current, watched, written
from tests.articles.conftest import fields_of
from tests.conftest import login, make_app


@pytest.fixture
def other_server(app, backend, tmp_path):
    """A second server on the same database, with its own kept pages."""
    other = make_app(backend, tmp_path / "b", KMS_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"])
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def _on(server, change) -> None:
    """Run `change()` as one use case on `server` (a view of that server would do the same)."""
    with server.app_context(), unit_of_work():
        change()


def _kept(app) -> int:
    return len(app.extensions.get(BY_GENERATION, {}))


def test_a_page_kept_by_one_server_shows_each_change_saved_on_another(
    app, other_server, make_user, make_article, make_process, author
):
    process = make_process("Refund over the limit", frequency=12)
    article = make_article("Refunds", "Refund within thirty days.\n", process=process, owner_id=author.id)
    article_id, slug, author_id, process_id = article.id, article.slug, author.id, process.id
    reader = make_user(Role.MEMBER, name="Mo Member")
    reader_id = reader.id
    client = app.test_client()
    login(client, reader)
    url = f"/handbook/articles/{slug}"

    def page() -> str:
        response = client.get(url)
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert "Refund within thirty days." in page()
    assert page() == page() and _kept(app) == 1  # kept, and the kept copy is what is shown

    def edit():
        saved = services.get_article(article_id)
        actor = db.session.get(User, author_id)
        services.save_article(
            article_id,
            fields_of(saved, body="Refund within fourteen days.\n"),
            base_version=saved.version,
            actor=actor,
        )

    _on(other_server, edit)
    shown = page()
    assert "Refund within fourteen days." in shown and "thirty days" not in shown

    _on(other_server, lambda: setattr(db.session.get(User, author_id), "name", "Ada Renamed"))
    assert "<strong>Owner:</strong> Ada Renamed" in page()

    _on(other_server, lambda: setattr(db.session.get(Process, process_id), "name", "Refunds above 500 EUR"))
    assert "Refunds above 500 EUR (12/month)" in page()

    _on(
        other_server,
        lambda: services.flag_article(article_id, "Step 2 changed", actor=db.session.get(User, reader_id)),
    )
    shown = page()
    assert "Step 2 changed" in shown and "Mo Member" in shown

    _on(other_server, lambda: auth_services.end_all_sessions(db.session.get(User, reader_id)))
    assert client.get(url).status_code == 302  # logged out everywhere: no kept page for an ended session


def test_readers_of_different_roles_and_zones_get_their_own_kept_page(app, make_user, make_article, author):
    article = make_article("Zones", "Some text.\n", owner_id=author.id)
    with unit_of_work():
        services.flag_article(article.id, "Flagged late", actor=author)
    flagged_at = db.session.scalar(select(Flag.created_at).where(Flag.article_id == article.id))
    people = {
        "member in Tokyo": make_user(Role.MEMBER, time_zone="Asia/Tokyo"),
        "member in Los Angeles": make_user(Role.MEMBER, time_zone="America/Los_Angeles"),
        "author": make_user(Role.AUTHOR),
    }
    pages = {}
    for name, person in people.items():
        client = app.test_client()
        login(client, person)
        for _ in range(2):  # rendered, then kept
            pages[name] = client.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)
    for name, zone in (("member in Tokyo", "Asia/Tokyo"), ("member in Los Angeles", "America/Los_Angeles")):
        assert flagged_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d") in pages[name]
    assert ">Edit</a>" in pages["author"] and ">Edit</a>" not in pages["member in Tokyo"]
    assert _kept(app) == 3


def test_a_kept_page_says_verified_one_day_ago_once_a_day_has_passed(
    app, make_user, make_article, author, monkeypatch
):
    article = make_article("Verified", "Checked text.\n")
    with unit_of_work():
        services.mark_verified(article.id, actor=author)
    client = app.test_client()
    login(client, make_user(Role.MEMBER))
    url = f"/handbook/articles/{article.slug}"
    for _ in range(2):
        assert "Verified today by Ada Author" in client.get(url).get_data(as_text=True)
    tomorrow = utcnow() + timedelta(days=1, minutes=1)
    for module in (article_page, pages):  # the kept page's expiry, the page's own clock
        monkeypatch.setattr(module, "utcnow", lambda: tomorrow)
    assert "Verified 1 day ago by Ada Author" in client.get(url).get_data(as_text=True)


def test_the_generation_moves_once_per_committed_write_to_what_pages_show_and_only_then(
    app, make_article, author
):
    assert {"articles", "revisions", "flags", "users", "processes", "article_tags"} <= watched(GENERATION)
    assert "categories" not in watched(GENERATION)
    article = make_article("Counted", "Text.\n")
    moves: list[str] = []

    def count(_conn, _cursor, statement, *_):
        if statement.startswith("INSERT INTO generations"):
            moves.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    before = current(GENERATION)
    with unit_of_work():  # many writes, one transaction: one move
        for number in range(3):
            services.flag_article(article.id, f"Problem {number}", actor=author)
    after_flags = current(GENERATION)
    assert after_flags != before and len(moves) == 1
    with unit_of_work():
        db.session.get(Category, "Billing").requires_review = True  # a table no article page reads
    with pytest.raises(RuntimeError), unit_of_work():
        services.flag_article(article.id, "Never saved", actor=author)
        raise RuntimeError("the use case fails")
    assert current(GENERATION) == after_flags and len(moves) == 1
    with unit_of_work():  # plain SQL counts too
        db.session.execute(Flag.__table__.update().values(comment="Edited"))
    assert current(GENERATION) not in (before, after_flags) and len(moves) == 2
    with unit_of_work():  # a write after common table expressions, as text
        db.session.execute(
            text("WITH noted AS (SELECT 'Seen' AS word) UPDATE flags SET comment = (SELECT word FROM noted)")
        )
    assert len(moves) == 3
    event.remove(db.engine, "before_cursor_execute", count)


def test_a_transaction_that_wrote_to_what_pages_show_is_seen_until_it_ends(app, make_article):
    """written(): no kept page is used or kept while this context's own write is uncommitted."""
    article = make_article("Pending", "Text.\n")
    assert not written(GENERATION)
    db.session.execute(Article.__table__.update().where(Article.id == article.id).values(title="Renamed"))
    assert written(GENERATION)
    db.session.rollback()
    assert not written(GENERATION)
    db.session.execute(Category.__table__.update().values(requires_review=True))  # not a table pages read
    assert not written(GENERATION)
    db.session.execute(Article.__table__.update().where(Article.id == article.id).values(title="Renamed"))
    db.session.commit()
    assert not written(GENERATION)
