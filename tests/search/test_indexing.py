"""Indexing after commit: every document type, deletes, rollbacks, visibility, drift and index damage."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from kms.articles import services as handbook
from kms.articles.models import Article, Category, Process
from kms.auth.models import Role
from kms.cli import STARTUP_TASKS, ensure_search_index
from kms.extensions import db, unit_of_work
from kms.hiring import services as hiring
from kms.search import indexer, services
from kms.search.engine import IndexBusyError
from kms.search.indexer import DRAIN_BATCH, EXTENSION, SearchIndex, iter_documents, visibilities_for
from kms.search.models import SearchOutbox
from kms.training import services as training
from kms.training.models import Module

EVERYONE = frozenset({"public", "handbook-editors", "training-editors"})


@pytest.fixture
def index(app) -> SearchIndex:
    for position, name in enumerate(handbook.DEFAULT_CATEGORIES):
        db.session.add(Category(name=name, position=position))
    db.session.commit()
    index = app.extensions[EXTENSION]
    index.rebuild()
    return index


@pytest.fixture
def author(make_user):
    return make_user(Role.AUTHOR, name="Ada Author")


def found(index: SearchIndex, query: str, visibilities=EVERYONE) -> list[str]:
    return [hit.id for hit in index.engine().search(query, visibilities=visibilities, pagelen=50).hits]


def new_article(author, title="Handling a chargeback", body="Chargeback disputes go to billing.", **fields):
    with unit_of_work():
        return handbook.create_article(
            handbook.ArticleFields(title=title, body=body, category="Billing", **fields), actor=author
        )


def new_module(author, title="Phone etiquette", publish=True, lesson_body="Greet the caller warmly."):
    with unit_of_work():
        module = training.create_module(
            actor=author, title=title, summary="How we answer calls", audience=["member"], tags=["phones"]
        )
        lesson = training.add_lesson(module.id, title="Answering the phone", body=lesson_body, actor=author)
    if publish:
        with unit_of_work():
            training.set_module_status(module.id, "published", actor=author)
    return module, lesson


def test_each_role_gets_its_visibility_set_from_the_permission_table():
    assert visibilities_for(Role.MEMBER) == {"public"}
    assert visibilities_for(Role.AUTHOR) == EVERYONE
    assert visibilities_for(Role.MANAGER) == {"public", "training-editors"}
    assert visibilities_for(Role.ADMIN) == EVERYONE


def test_an_article_and_its_process_are_searchable_after_commit_and_gone_after_delete(index, author):
    article = new_article(author)
    with unit_of_work():
        process = handbook.create_process(
            handbook.ProcessFields(
                name="Chargeback escalation", category="Billing", notes="Disputed card payments"
            ),
            actor=author,
        )
    assert f"article:{article.id}" in found(index, "chargeback disputes")
    assert f"process:{process.id}" in found(index, "disputed card payments")
    db.session.delete(db.session.get(Article, article.id))
    db.session.delete(db.session.get(Process, process.id))
    db.session.commit()
    assert found(index, "chargeback") == []
    assert index.outbox_size() == 0


def test_modules_and_lessons_are_indexed_and_deleted_lessons_disappear(index, author):
    module, lesson = new_module(author, lesson_body="Say the company name, then your own.")
    assert f"module:{module.id}" in found(index, "phone etiquette", {"public"})
    assert f"lesson:{lesson.id}" in found(index, "company name", {"public"})
    with unit_of_work():
        training.delete_lesson(lesson.id, actor=author)
    assert found(index, "company name") == []
    db.session.delete(db.session.get(Module, module.id))
    db.session.commit()
    assert found(index, "etiquette") == []


def test_an_edit_replaces_the_indexed_text(index, author):
    article = new_article(author)
    with unit_of_work():
        handbook.save_article(
            article.id,
            handbook.ArticleFields(
                title="Handling a chargeback", category="Billing", body="Now about reversals only."
            ),
            base_version=article.version,
            actor=author,
        )
    assert found(index, "disputes") == []
    assert found(index, "reversals") == [f"article:{article.id}"]


def test_a_rolled_back_change_never_reaches_the_index(index, author):
    article = new_article(author)
    before = index.stored_stamps()
    stored = db.session.get(Article, article.id)
    stored.title = "Zebra crossing policy"
    db.session.add(Process(name="Unicorn wrangling", category="Billing"))
    db.session.flush()
    db.session.rollback()
    assert found(index, "zebra") == [] and found(index, "unicorn") == []
    assert index.stored_stamps() == before
    assert index.outbox_size() == 0


def test_drafts_are_only_visible_to_handbook_editors(index, author):
    draft = new_article(
        author, title="Secret pricing draft", body="Unreleased discount ladder.", status="draft"
    )
    assert found(index, "discount ladder", visibilities_for(Role.AUTHOR)) == [f"article:{draft.id}"]
    assert found(index, "discount ladder", visibilities_for(Role.MEMBER)) == []
    assert found(index, "discount ladder", visibilities_for(Role.MANAGER)) == []


def test_a_change_waiting_for_review_is_not_shown_to_readers(index, author, make_user):
    with unit_of_work():
        handbook.save_category("Billing", requires_review=True, actor=make_user(Role.ADMIN))
    article = new_article(author, body="The approved wording.")
    # Published by an author in a reviewed category: readers keep seeing the last approved text.
    reviewer = make_user(Role.ADMIN)
    pending = db.session.scalars(select(Article)).one()
    if pending.published_revision_id is None:
        with unit_of_work():
            handbook.approve_revision(handbook.pending_reviews()[0].id, actor=reviewer)
    with unit_of_work():
        handbook.save_article(
            article.id,
            handbook.ArticleFields(
                title="Handling a chargeback", category="Billing", body="A proposed wording nobody approved."
            ),
            base_version=db.session.get(Article, article.id).version,
            actor=author,
        )
    member = visibilities_for(Role.MEMBER)
    assert found(index, "approved wording", member) == [f"article:{article.id}"]
    assert found(index, "proposed wording", member) == []


def test_unpublished_training_is_only_visible_to_training_editors(index, author):
    module, lesson = new_module(author, title="Draft escalation drills", publish=False)
    member, manager = visibilities_for(Role.MEMBER), visibilities_for(Role.MANAGER)
    assert found(index, "escalation drills", member) == []
    assert found(index, "answering the phone", member) == []
    assert f"module:{module.id}" in found(index, "escalation drills", manager)
    with unit_of_work():
        training.set_module_status(module.id, "published", actor=author)
    # Publishing the module makes its lessons public too (the lesson row itself did not change).
    assert f"lesson:{lesson.id}" in found(index, "answering the phone", member)


def test_hiring_candidates_are_never_indexed(index, make_user):
    manager = make_user(Role.MANAGER)
    with unit_of_work():
        opening = hiring.create_opening("Support rep", actor=manager)
        hiring.create_candidate(
            opening_id=opening.id, name="Quentin Zyxwvut", notes="Zyxwvut notes", actor=manager
        )
    assert found(index, "zyxwvut") == []
    assert not any(doc_id.startswith("candidate") for doc_id in index.stored_stamps())


def test_a_busy_index_never_fails_a_save_and_the_outbox_catches_up(index, author, monkeypatch):
    engine = index.engine()
    real_apply = engine.apply

    def busy(changes):
        raise IndexBusyError("locked")

    monkeypatch.setattr(engine, "apply", busy)
    article = new_article(author)  # the save itself succeeds
    assert db.session.get(Article, article.id) is not None
    assert index.outbox_size() > 0
    monkeypatch.setattr(engine, "apply", real_apply)
    with unit_of_work():
        handbook.create_process(handbook.ProcessFields(name="Anything", category="Billing"), actor=author)
    assert found(index, "chargeback") == [f"article:{article.id}"]
    assert index.outbox_size() == 0


def test_a_document_named_by_many_outbox_rows_is_written_once_per_drain(index, author, monkeypatch):
    # A bulk import flushes each new article several times: its rows are spread over more than one batch.
    article = new_article(author)
    doc_id = f"article:{article.id}"
    rows = [doc_id] + [f"article:{900000 + n}" for n in range(DRAIN_BATCH + 50)] + [doc_id]
    db.session.execute(SearchOutbox.__table__.insert(), [{"doc_id": d} for d in rows])
    db.session.commit()
    engine, written = index.engine(), []
    real_apply = engine.apply
    monkeypatch.setattr(engine, "apply", lambda changes: written.extend(changes) or real_apply(changes))
    index.drain()
    assert written.count(doc_id) == 1 and len(written) == len(set(rows))
    assert index.outbox_size() == 0 and found(index, "chargeback") == [doc_id]


def test_many_new_documents_are_indexed_by_a_build_in_workers_not_one_by_one(index, author, monkeypatch):
    # An import into a new site: the outbox names more documents than the index holds.
    monkeypatch.setattr(indexer, "REBUILD_MIN_DOCS", 4)
    engine = index.engine()
    monkeypatch.setattr(
        engine, "apply", lambda changes: pytest.fail(f"written one by one: {sorted(changes)}")
    )
    with unit_of_work():
        for n in range(5):
            handbook.create_article(
                handbook.ArticleFields(
                    title=f"Refund step {n}", body="Refunds go to billing.", category="Billing"
                ),
                actor=author,
            )
    assert len(found(index, "refunds")) == 5
    assert index.outbox_size() == 0 and index.drift().clean


def test_rows_left_by_a_killed_worker_are_drained_by_search_check_fix(index, author, runner):
    article = new_article(author)
    db.session.add(SearchOutbox(doc_id=f"article:{article.id}"))
    db.session.execute(SearchOutbox.__table__.insert().values(doc_id="article:999999"))
    # Written behind the session's back, as a worker killed between commit and drain would leave it.
    db.session.commit()
    index.engine().apply({f"article:{article.id}": None})
    result = runner.invoke(args=["search-check"])
    assert result.exit_code != 0 and f"missing: 1 (article:{article.id})" in result.output
    result = runner.invoke(args=["search-check", "--fix"])
    assert result.exit_code == 0, result.output
    assert found(index, "chargeback") == [f"article:{article.id}"]
    assert "In step." in runner.invoke(args=["search-check"]).output


def test_search_check_reports_a_document_deleted_from_the_index_and_fixes_it(index, author):
    article = new_article(author)
    index.engine().apply({f"article:{article.id}": None})
    drift = services.check_index(index)
    assert drift.missing == [f"article:{article.id}"] and not drift.extra and not drift.stale
    services.fix_index(index, drift)
    assert services.check_index(index).clean


def test_startup_rebuilds_a_missing_or_out_of_date_index(app, index, author):
    assert ("Search index", ensure_search_index) in STARTUP_TASKS
    article = new_article(author)
    assert ensure_search_index() is None  # in step: nothing to do
    index.engine().apply({f"article:{article.id}": None})
    assert "out-of-date" in ensure_search_index()
    assert found(index, "chargeback") == [f"article:{article.id}"]
    shutil.rmtree(index.root)
    assert "built the search index (there was none)" in ensure_search_index()
    assert index.engine().doc_count() == len(list(iter_documents(db.session, index.url_for())))


def test_reindex_swaps_atomically_while_another_thread_searches(app, index, author, runner):
    for n in range(30):
        new_article(author, title=f"Refund case {n}", body="Refund steps for the billing team.")
    errors: list[BaseException] = []
    totals: list[int] = []
    stop = threading.Event()

    def search_constantly():
        while not stop.is_set():
            try:
                totals.append(index.engine().search("refund", visibilities=EVERYONE).total)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

    thread = threading.Thread(target=search_constantly)
    thread.start()
    try:
        for _ in range(3):
            result = runner.invoke(args=["reindex"])
            assert result.exit_code == 0, result.output
            assert "Indexed 30 documents" in result.output and "docs/s" in result.output
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert totals and set(totals) == {30}


def _corrupt(index: SearchIndex) -> None:
    live = index.root / (index.root / "CURRENT").read_text().strip()
    segment = max((p for p in live.iterdir() if p.suffix == ".seg"), key=lambda p: p.stat().st_size)
    with open(segment, "r+b") as handle:
        handle.truncate(segment.stat().st_size // 3)


@pytest.mark.parametrize("damage", ["truncated segment", "deleted folder"])
def test_a_damaged_index_answers_503_then_is_rebuilt(app, index, author, login_as, damage):
    new_article(author, title="Refund request", body="Refunds within 30 days.")
    index.engine().search("refund", visibilities=EVERYONE)  # the process has a searcher open
    client = app.test_client()
    from tests.conftest import login

    assert login(client, author).status_code == 302
    if damage == "deleted folder":
        shutil.rmtree(index.root)
    else:
        _corrupt(index)
        index.reopen()  # as a worker started after the damage opens it
    response = client.get("/search?q=refund")
    assert response.status_code == 503
    assert b"being rebuilt" in response.data
    assert client.get("/api/search?q=refund").status_code in (503, 200)
    assert client.get("/handbook/articles/refund-request").status_code == 200  # the site keeps working
    index.wait_for_rebuild(timeout=60)
    response = client.get("/search?q=refund")
    assert response.status_code == 200 and b"<mark>Refund</mark> request" in response.data
    assert services.check_index(index).clean


def test_the_outbox_is_emptied_and_the_index_equals_the_database_after_starter_content(app, index):
    from kms import content

    content.import_content(app.config["KMS_CONTENT_DIR"])
    assert index.outbox_size() == 0
    drift = services.check_index(index)
    assert drift.clean and drift.index_count == drift.database_count > 50


def test_documents_link_to_the_real_pages(app, index, author, client):
    from tests.conftest import login

    article = new_article(author, title="Refund request", body="Refund steps.")
    module, lesson = new_module(author)
    assert login(client, author).status_code == 302
    urls = {
        hit.id: hit.url
        for hit in index.engine()
        .search("refund OR phone OR answering", visibilities=EVERYONE, pagelen=50)
        .hits
    }
    assert urls[f"article:{article.id}"] == "/handbook/articles/refund-request"
    assert urls[f"module:{module.id}"] == f"/training/modules/{module.id}"
    assert urls[f"lesson:{lesson.id}"] == f"/training/lessons/{lesson.id}"
    for url in urls.values():
        assert client.get(url).status_code == 200, url


def test_an_index_folder_unknown_to_this_process_is_found_missing(app, tmp_path):
    index = app.extensions[EXTENSION]
    assert not Path(index.root).exists()
    with pytest.raises(services.SearchIndexError):
        index.engine()


def test_an_orm_bulk_update_is_indexed_too(index, author):
    from sqlalchemy import update

    with unit_of_work():
        process = handbook.create_process(
            handbook.ProcessFields(name="Bulk edited", category="Billing"), actor=author
        )
    db.session.execute(
        update(Process).where(Process.id == process.id).values(notes="Quarterly tariff review")
    )
    db.session.commit()
    assert found(index, "tariff") == [f"process:{process.id}"]


def test_renaming_an_owner_updates_their_documents(index, author):
    from kms.auth.models import User

    article = new_article(author)
    db.session.get(User, author.id).name = "Grace Renamed"
    db.session.commit()
    hits = index.engine().search("chargeback", visibilities=EVERYONE).hits
    assert [h.id for h in hits] == [f"article:{article.id}"]
    assert services.check_index(index).clean
