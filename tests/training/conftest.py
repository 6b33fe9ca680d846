"""Training fixtures: handbook articles made directly with the models, modules, and a small team."""

from __future__ import annotations

import pytest

from kms.articles.models import Article, ArticleStatus, Revision
from kms.auth.models import Role
from kms.extensions import db
from kms.training import services


@pytest.fixture
def make_article(app):
    """A published handbook article with revision 1 (rows made directly, not via the handbook services)."""

    def make(
        slug: str = "refund-request", body: str = "Step one.\nStep two.\n", title: str | None = None
    ) -> Article:
        article = Article(
            slug=slug,
            title=title or slug.replace("-", " ").title(),
            category="Billing",
            status=ArticleStatus.PUBLISHED,
            body=body,
        )
        db.session.add(article)
        db.session.flush()
        revision = Revision(article_id=article.id, number=1, title=article.title, body=body)
        db.session.add(revision)
        db.session.flush()
        article.published_revision_id = revision.id
        db.session.commit()
        return article

    return make


@pytest.fixture
def publish_revision(app):
    """Publish a new revision of an article (number = previous + 1), as an editor's save would."""

    def publish(article: Article, body: str, title: str | None = None) -> Revision:
        article = db.session.get(Article, article.id)
        number = (article.published_revision.number if article.published_revision else 0) + 1
        revision = Revision(article_id=article.id, number=number, title=title or article.title, body=body)
        db.session.add(revision)
        db.session.flush()
        article.published_revision_id, article.body = revision.id, body
        db.session.commit()
        return revision

    return publish


@pytest.fixture
def author(make_user):
    return make_user(Role.AUTHOR, name="Ada Author")


@pytest.fixture
def make_module(author):
    """A published module with `lessons` plain lessons and optionally a two-question quiz."""

    def make(
        title: str = "Refunds 101",
        lessons: int = 2,
        quiz: bool = True,
        pass_mark: int = 50,
        max_attempts: int = 0,
        recertify_months: int | None = None,
        articles=(),
        acknowledge=False,
        tags=(),
    ):
        module = services.create_module(
            actor=author,
            title=title,
            summary="About refunds",
            audience=["member"],
            minutes=20,
            pass_mark=pass_mark,
            max_attempts=max_attempts,
            recertify_months=recertify_months,
            tags=list(tags),
        )
        for n in range(lessons):
            services.add_lesson(
                module.id,
                title=f"Lesson {n + 1}",
                body=f"Body {n + 1}",
                article_slugs=[a.slug for a in articles] if n == 0 else [],
                acknowledge=acknowledge and n == 0,
                actor=author,
            )
        if quiz:
            services.add_question(
                module.id,
                text="Pick the refund window",
                kind="single",
                explanation="Thirty days.",
                actor=author,
                choices=[("30 days", True), ("90 days", False), ("1 year", False)],
            )
            services.add_question(
                module.id,
                text="Who approves refunds over 500?",
                kind="multiple",
                explanation="Lead and finance.",
                actor=author,
                choices=[("Team lead", True), ("Finance", True), ("The customer", False)],
            )
        module = services.set_module_status(module.id, "published", actor=author)
        db.session.commit()  # the test is the caller: it owns the transaction
        return module

    return make


def right_answers(module) -> dict[int, list[int]]:
    return {q.id: [c.id for c in q.choices if c.correct] for q in module.questions}


def wrong_answers(module) -> dict[int, list[int]]:
    return {q.id: [next(c.id for c in q.choices if not c.correct)] for q in module.questions}


@pytest.fixture
def manager(make_user):
    return make_user(Role.MANAGER, name="Morgan Manager", team="EMEA", time_zone="Europe/Oslo")


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, name="Alex Admin")
