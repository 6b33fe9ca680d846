"""Handbook test helpers: categories, processes and articles made through the services."""

from __future__ import annotations

import itertools

import pytest

from kms.articles import services
from kms.articles.models import Category
from kms.auth.models import Role
from kms.extensions import db

_names = itertools.count(1)

# An article body with real content: more than MIN_OWN_WORDS words of its own, so it counts toward coverage.
REAL_TEXT = (
    "When a customer asks for a refund, open the order in billing and check the date of purchase. "
    "Orders younger than thirty days are refunded in full without asking why; older ones need the "
    "team lead's approval in the escalation channel. Tell the customer how long the money takes to "
    "arrive, usually five working days, and note the ticket number on the order before closing it.\n"
)


@pytest.fixture
def categories(app):
    for position, name in enumerate(services.DEFAULT_CATEGORIES, 1):
        db.session.add(Category(name=name, position=position))
    db.session.commit()
    return list(services.DEFAULT_CATEGORIES)


@pytest.fixture
def author(make_user, categories):
    return make_user(Role.AUTHOR, name="Ada Author")


@pytest.fixture
def make_process(author):
    def make(name=None, *, category="Billing", frequency=10, owner=None, **fields):
        process = services.create_process(
            services.ProcessFields(
                name=name or f"Process {next(_names)}",
                category=category,
                frequency=frequency,
                owner_id=owner.id if owner else None,
                **fields,
            ),
            actor=author,
        )
        db.session.commit()  # the test is the caller: it owns the transaction
        return process

    return make


@pytest.fixture
def make_article(author):
    def make(
        title=None,
        body="First version.\n",
        *,
        actor=None,
        category="Billing",
        status="published",
        process=None,
        **fields,
    ):
        article = services.create_article(
            services.ArticleFields(
                title=title or f"Article {next(_names)}",
                body=body,
                category=category,
                status=status,
                process_id=process.id if process else None,
                **fields,
            ),
            actor=actor or author,
        )
        db.session.commit()  # the test is the caller: it owns the transaction
        return article

    return make


def fields_of(article, **changes) -> services.ArticleFields:
    """The editor's fields for an article as it is now, with some changed."""
    values = dict(
        title=article.title,
        body=article.body,
        category=article.category,
        status=article.status.value,
        tags=list(article.tags),
        language=article.language,
        slug=article.slug,
        owner_id=article.owner_id,
        process_id=article.process_id,
        verify_interval_days=article.verify_interval_days,
    )
    values.update(changes)
    return services.ArticleFields(**values)
