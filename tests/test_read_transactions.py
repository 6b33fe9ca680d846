"""How a transaction that only read ends: on PostgreSQL with COMMIT, so psycopg keeps the connection's prepared
statements (a ROLLBACK makes it deallocate them all, and every page's statements were planned anew); a
transaction that changed anything, or failed, is still rolled back."""

import pytest
from sqlalchemy import func, select, text

from kms.auth.models import User
from kms.extensions import db, deciding_per_statement


def _stored_name(user_id: int) -> str:
    with deciding_per_statement(), db.engine.connect() as conn:  # sees only what is committed
        return conn.execute(select(User.name).where(User.id == user_id)).scalar_one()


def _prepared() -> list[str]:
    return list(db.session.execute(text("SELECT statement FROM pg_prepared_statements")).scalars())


def test_pages_that_only_read_keep_their_prepared_statements(app, backend, client):
    if backend["name"] != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's (psycopg prepares a statement on its 5th run)")
    db.session.remove()
    db.engine.dispose()  # one connection from here on: each request below checks it out and returns it
    for _ in range(8):
        assert client.get("/healthz").status_code == 200  # each request ends its own session
    assert any("SELECT 1" in statement for statement in _prepared())


def test_a_transaction_that_changed_rows_is_still_rolled_back(app, make_user):
    user = make_user(name="Before")
    db.session.execute(select(func.count()).select_from(User)).scalar_one()
    db.session.execute(text("UPDATE users SET name = 'Raw change' WHERE id = :id"), {"id": user.id})
    db.session.rollback()
    assert _stored_name(user.id) == "Before"
    db.session.get(User, user.id).name = "Flushed change"
    db.session.flush()
    db.session.remove()  # the end of a request
    assert _stored_name(user.id) == "Before"


def test_a_failed_read_is_rolled_back_and_the_connection_works_on(app, make_user):
    user = make_user(name="Still here")
    with pytest.raises(Exception, match="no_such_table"):
        db.session.execute(text("SELECT * FROM no_such_table"))
    db.session.rollback()
    assert db.session.get(User, user.id).name == "Still here"
    db.session.remove()
    assert _stored_name(user.id) == "Still here"
