"""unit_of_work(): the outermost caller's one transaction: commit once, roll back on any error, inner units join."""

import pytest
from sqlalchemy import event, func, select

from kms.auth.models import Role, User
from kms.extensions import db, deciding_per_statement, unit_of_work


def _user(email: str) -> User:
    return User(email=email, name=email.split("@")[0], role=Role.MEMBER)


def _stored(email: str) -> int:
    # A separate connection sees only what is committed.
    with deciding_per_statement(), db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(User).where(User.email == email)).scalar_one()


@pytest.fixture
def commits(app):
    seen: list[str] = []

    def count(conn):
        seen.append("commit")

    event.listen(db.engine, "commit", count)
    yield seen
    event.remove(db.engine, "commit", count)


def test_the_block_commits_once_at_the_end(app, commits):
    with unit_of_work():
        db.session.add(_user("one@example.test"))
        db.session.flush()
        assert _stored("one@example.test") == 0  # not visible to others before the unit ends
    assert _stored("one@example.test") == 1
    assert commits == ["commit"]


def test_an_error_anywhere_rolls_everything_back(app):
    with pytest.raises(ZeroDivisionError):
        with unit_of_work():
            db.session.add(_user("first@example.test"))
            db.session.flush()
            db.session.add(_user("second@example.test"))
            db.session.flush()
            1 / 0
    assert _stored("first@example.test") == 0 and _stored("second@example.test") == 0


def test_an_inner_unit_joins_the_outer_one(app, commits):
    with pytest.raises(RuntimeError):
        with unit_of_work():
            with unit_of_work():
                db.session.add(_user("inner@example.test"))
            assert commits == []  # the inner block did not commit on its own
            raise RuntimeError("a later step fails")
    assert _stored("inner@example.test") == 0


def test_as_a_decorator(app, commits):
    @unit_of_work()
    def add_two():
        db.session.add_all([_user("a@example.test"), _user("b@example.test")])

    add_two()
    assert _stored("a@example.test") == 1 and _stored("b@example.test") == 1
    assert commits == ["commit"]


def test_changes_made_outside_any_unit_are_refused_loudly(app):
    db.session.add(_user("stray@example.test"))
    db.session.flush()
    with pytest.raises(RuntimeError, match="outside a unit of work"):
        with unit_of_work():
            pass
    db.session.rollback()
    assert _stored("stray@example.test") == 0
