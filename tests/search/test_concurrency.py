"""Several processes saving at once: no lost index updates, none applied out of order."""

from __future__ import annotations

import multiprocessing

from sqlalchemy import func, select

from kms.articles import services as handbook
from kms.articles.models import Article, Category
from kms.auth.models import Role
from kms.extensions import db, unit_of_work
from kms.search import services
from kms.search.indexer import EXTENSION

WORKERS = 3
SAVES = 8


def _worker(settings: dict, author_id: int, shared_id: int, worker: int, start, errors) -> None:
    """One server process: creates its own articles and keeps rewriting a shared one."""
    from kms import create_app
    from kms.auth.models import User

    try:
        app = create_app(settings)
        with app.app_context():
            author = db.session.get(User, author_id)
            start.wait(timeout=60)
            for n in range(SAVES):
                with unit_of_work():
                    handbook.create_article(
                        handbook.ArticleFields(
                            title=f"Worker {worker} note {n}",
                            body=f"Written by worker {worker}, save {n}.",
                            category="Billing",
                        ),
                        actor=author,
                    )
                for _ in range(20):  # optimistic locking: retry on a conflicting save
                    version = db.session.scalar(select(Article.version).where(Article.id == shared_id))
                    db.session.rollback()
                    try:
                        with unit_of_work():
                            handbook.save_article(
                                shared_id,
                                handbook.ArticleFields(
                                    title="Shared page",
                                    body=f"Last written by worker {worker} at save {n}.",
                                    category="Billing",
                                ),
                                base_version=version,
                                actor=author,
                            )
                        break
                    except handbook.EditConflict:
                        continue
    except BaseException as error:  # noqa: BLE001 - reported to the test
        errors.put(f"worker {worker}: {error!r}")


def test_concurrent_saves_from_several_processes_leave_the_index_equal_to_the_database(app, make_user):
    for position, name in enumerate(handbook.DEFAULT_CATEGORIES):
        db.session.add(Category(name=name, position=position))
    db.session.commit()
    index = app.extensions[EXTENSION]
    index.rebuild()
    author = make_user(Role.AUTHOR)
    with unit_of_work():
        shared = handbook.create_article(
            handbook.ArticleFields(title="Shared page", body="First text.", category="Billing"), actor=author
        )
    settings = {
        "TESTING": True,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "KMS_LOAD_STARTER_CONTENT": "0",
        "KMS_INSTANCE_PATH": app.config["KMS_INSTANCE_DIR"],
        "KMS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SERVER_NAME": "kms.test",
    }
    context = multiprocessing.get_context("spawn")
    start, errors = context.Event(), context.Queue()
    processes = [
        context.Process(target=_worker, args=(settings, author.id, shared.id, n, start, errors))
        for n in range(WORKERS)
    ]
    for process in processes:
        process.start()
    start.set()
    for process in processes:
        process.join(timeout=300)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, problems
    assert all(process.exitcode == 0 for process in processes)

    db.session.rollback()
    assert db.session.scalar(select(func.count(Article.id))) == 1 + WORKERS * SAVES
    drift = services.check_index(index)
    assert drift.clean, drift
    assert index.engine().doc_count() == drift.database_count
    assert index.outbox_size() == 0
    last = db.session.scalar(select(Article.body).where(Article.id == shared.id))
    hits = index.engine().search('"last written by worker"', visibilities={"public"}).hits
    assert [hit.id for hit in hits] == [f"article:{shared.id}"]
    assert last.split(" at ")[0].split()[-1] in hits[0].snippet  # the newest version, not an older one
