"""One document can never take indexing, saves or logins down (issue 13 item 1).

A document whose indexing fails is retried alone and quarantined after MAX_ATTEMPTS, with its error in `kms
search-check` and on the admins' search health page; the others keep being indexed. Web requests never drain
in the request; searches say the index is being rebuilt while it is, and the rest of the site answers.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select, update

from kms.auth.models import Role
from kms.extensions import db, unit_of_work
from kms.search import schema
from kms.search.indexer import DRAIN_LOCK_FILE, MAX_ATTEMPTS, _file_lock
from kms.search.models import SearchOutbox
from tests.conftest import login
from tests.search.test_indexing import author, found, index, new_article  # noqa: F401 - fixtures

__all__ = ["author", "index"]


@pytest.fixture
def poison(monkeypatch):
    """Indexing fails for any document whose text holds POISON, as a bug in an analyzer would."""
    real = schema.prepare_document

    def prepare(doc):
        if "POISON" in str(doc.get("body")):
            raise RuntimeError("analyzer exploded on this text")
        return real(doc)

    monkeypatch.setattr(schema, "prepare_document", prepare)


def outbox_rows(doc_id: str) -> list[SearchOutbox]:
    db.session.expire_all()
    return list(db.session.scalars(select(SearchOutbox).where(SearchOutbox.doc_id == doc_id)))


def test_a_failing_document_is_quarantined_after_its_tries_and_never_blocks_the_others(
    index, author, poison, runner
):
    bad = new_article(author, title="Broken page", body="POISON text")
    bad_id = f"article:{bad.id}"
    assert {row.attempts for row in outbox_rows(bad_id)} == {1}
    for n in range(MAX_ATTEMPTS + 2):  # every later save drains again
        new_article(author, title=f"Refund case {n}", body="Refund steps for billing.")
    assert len(found(index, "refund")) == MAX_ATTEMPTS + 2  # the others were all indexed
    rows = outbox_rows(bad_id)
    assert {row.attempts for row in rows} == {MAX_ATTEMPTS}  # tried once per drain, then left alone
    assert all(row.quarantined_at is not None and "analyzer exploded" in row.last_error for row in rows)
    assert index.outbox_size() == 0  # nothing waits any more

    result = runner.invoke(args=["search-check"])
    assert result.exit_code != 0
    assert (
        f"{bad_id} after {MAX_ATTEMPTS} tries: RuntimeError: analyzer exploded on this text" in result.output
    )
    assert "missing: 0" in result.output  # set aside, not drift: no rebuild at every start


def test_the_admins_see_quarantined_documents_with_their_error(app, index, author, poison, make_user):
    bad = new_article(author, title="Broken page", body="POISON text")
    for n in range(MAX_ATTEMPTS):
        new_article(author, title=f"Another {n}", body="Anything")
    # A worker died while indexing this one, MAX_ATTEMPTS times: no error was ever recorded.
    db.session.add(SearchOutbox(doc_id="lesson:77", attempts=MAX_ATTEMPTS))
    db.session.commit()
    index.drain()
    client = app.test_client()
    login(client, make_user(Role.ADMIN))
    page = client.get("/search/health").get_data(as_text=True)
    assert f"article:{bad.id}" in page and "RuntimeError: analyzer exploded on this text" in page
    assert "lesson:77" in page and "never finished" in page
    member = app.test_client()
    login(member, make_user(Role.MEMBER))
    assert member.get("/search/health").status_code == 403


def test_rows_a_killed_worker_left_are_retried_one_by_one_and_the_culprit_is_set_aside(index, author):
    good = new_article(author, title="Refund request", body="Refund steps.")
    index.engine().apply({f"article:{good.id}": None})
    # A worker took both rows and died: each counted one attempt, and the stalling one used all of its tries.
    db.session.add(SearchOutbox(doc_id=f"article:{good.id}", attempts=1))
    db.session.add(SearchOutbox(doc_id="article:424242", attempts=MAX_ATTEMPTS))
    db.session.commit()
    new_article(author, title="Chargeback", body="Disputes.")
    assert found(index, "refund") == [f"article:{good.id}"]
    assert [(row.quarantined_at is not None) for row in outbox_rows("article:424242")] == [True]
    assert index.outbox_size() == 0


def test_an_edit_of_a_quarantined_document_tries_again_and_clears_it(index, author, poison, monkeypatch):
    bad = new_article(author, title="Broken page", body="POISON text")
    db.session.execute(update(SearchOutbox).values(attempts=MAX_ATTEMPTS, quarantined_at=db.func.now()))
    db.session.commit()
    from kms.articles import services as handbook

    with unit_of_work():
        handbook.save_article(
            bad.id,
            handbook.ArticleFields(title="Fixed page", body="Mended text", category="Billing"),
            base_version=bad.version,
            actor=author,
        )
    assert found(index, "mended") == [f"article:{bad.id}"]
    assert outbox_rows(f"article:{bad.id}") == []


def test_a_save_in_a_request_never_waits_for_the_index_lock(app, index, author, monkeypatch):
    """Another process holds the drain lock: the save answers, and the change is indexed once it is free."""
    index.drain_wait = 600.0  # a request that waited would hang the test
    applied_in: list[str] = []
    engine = index.engine()
    real_apply = engine.apply
    monkeypatch.setattr(
        engine,
        "apply",
        lambda changes: applied_in.append(threading.current_thread().name) or real_apply(changes),
    )
    client = app.test_client()
    login(client, author)
    answered: list[int] = []
    with _file_lock(index.root / DRAIN_LOCK_FILE, None):
        saver = threading.Thread(
            target=lambda: answered.append(
                client.post(
                    "/handbook/processes/new",
                    data={"name": "Zebra escalations", "category": "Billing", "frequency": "3"},
                ).status_code
            )
        )
        saver.start()
        saver.join(timeout=60)
        assert answered and answered[0] in (302, 303), "the save waited for the index lock"
        assert index.outbox_size() == 1
    assert index.wait_for_drain(timeout=60)
    assert len(found(index, "zebra")) == 1
    assert applied_in and "kms-search-drain" in applied_in


@pytest.fixture
def blocked_rebuild(monkeypatch):
    """Rebuilds wait until the test lets them go, as a long rebuild of a big handbook would."""
    from kms.search.indexer import SearchIndex

    release = threading.Event()
    real = SearchIndex.rebuild

    def slow(self):
        assert release.wait(timeout=60), "the test never let the rebuild go"
        return real(self)

    monkeypatch.setattr(SearchIndex, "rebuild", slow)
    return release


def test_a_start_with_a_missing_index_answers_at_once_and_search_says_it_is_being_rebuilt(
    app, make_user, blocked_rebuild
):
    import shutil

    from kms.articles.models import Category
    from kms.search import services
    from kms.search.indexer import EXTENSION

    db.session.add(Category(name="Billing", position=0))
    db.session.commit()
    author = make_user(Role.AUTHOR)
    new_article(author, title="Refund request", body="Refunds within 30 days.")
    index = app.extensions[EXTENSION]
    shutil.rmtree(index.root, ignore_errors=True)
    starting = services.ensure_index_in_background(index)  # what each `kms serve` worker does
    client = app.test_client()
    assert login(client, author).status_code == 302  # logins and pages answer meanwhile
    assert client.get("/handbook/articles/refund-request").status_code == 200
    page = client.get("/search?q=refund")
    assert page.status_code == 503 and "Search is being rebuilt" in page.get_data(as_text=True)
    api = client.get("/api/search?q=refund")
    assert api.status_code == 503 and "being rebuilt" in api.get_json()["error"]
    blocked_rebuild.set()
    starting.join(timeout=60)
    index.wait_for_rebuild(timeout=60)
    page = client.get("/search?q=refund")
    assert page.status_code == 200 and "<mark>Refund</mark> request" in page.get_data(as_text=True)


def test_kms_serve_leaves_the_index_check_to_the_workers(app, runner, monkeypatch):
    import os

    from kms import cli
    from kms.search import CHECK_ON_START

    checked: list[str] = []
    monkeypatch.setattr(cli.search_services, "ensure_index", lambda index: checked.append("sync"))
    monkeypatch.setattr(cli.search_services, "ensure_index_in_background", lambda index: checked.append("bg"))
    monkeypatch.setenv(CHECK_ON_START, "0")
    monkeypatch.setattr(cli, "migrate_database", lambda: None)  # the test database is already current

    def exec_gunicorn(path, argv):
        raise SystemExit(0)

    monkeypatch.setattr(os, "execv", exec_gunicorn)
    result = runner.invoke(args=["serve"])
    assert result.exit_code == 0, result.output
    assert "kms is running" in result.output and checked == []  # no rebuild before listening
    assert os.environ[CHECK_ON_START] == "1"  # each worker checks in the background


def test_an_article_of_100000_brackets_saves_is_indexed_and_the_site_keeps_working(app, index, make_user):
    """The save that once hung every writing request: it answers, reaches the index, and others keep working."""
    author, other = make_user(Role.AUTHOR), make_user(Role.AUTHOR)
    client = app.test_client()
    login(client, author)
    form = {
        "title": "Bracket storm",
        "category": "Billing",
        "status": "published",
        "language": "en",
        "body": "Zebrafish policy " + "[" * 100_000,
        "verify_interval_days": "90",
        "tags": "",
        "slug": "",
        "owner_id": "",
        "process_id": "",
        "reason": "",
    }
    assert client.post("/handbook/new", data=form).status_code == 302
    assert index.wait_for_drain(timeout=60)
    assert len(found(index, "zebrafish")) == 1 and index.outbox_size() == 0
    second = app.test_client()
    assert login(second, other).status_code == 302  # logins and saves keep working
    assert (
        second.post("/handbook/new", data={**form, "title": "Calm page", "body": "Plain words"}).status_code
        == 302
    )
    assert second.get("/search?q=calm").status_code == 200
