"""content/ round trip: the starter handbook imports, re-imports change nothing, bad files import nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kms import content
from kms.articles import services
from kms.articles.models import Article, ArticleTemplate, Category, Process, Revision
from kms.auth.models import Role
from kms.extensions import db
from kms.frontmatter import ContentError


def snapshot() -> dict:
    """The handbook as readers and editors see it, in plain values."""
    articles = sorted(
        (
            a.slug,
            a.title,
            services.reader_text(a)[1],
            a.category,
            tuple(a.tags),
            a.language,
            a.status.value,
            a.owner_id,
            a.verify_interval_days,
            a.process.name if a.process else None,
        )
        for a in db.session.scalars(select(Article))
    )
    processes = sorted(
        (p.name, p.category, p.frequency, p.owner_id, p.target_date, p.status.value, p.notes)
        for p in db.session.scalars(select(Process))
    )
    templates = sorted(
        (t.key, t.name, t.description, t.body) for t in db.session.scalars(select(ArticleTemplate))
    )
    categories = sorted((c.name, c.requires_review) for c in db.session.scalars(select(Category)))
    return {"articles": articles, "processes": processes, "templates": templates, "categories": categories}


def counts() -> tuple[int, ...]:
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Process, Article, Revision, Category, ArticleTemplate)
    )


@pytest.fixture
def starter(app) -> Path:
    return Path(app.config["KMS_CONTENT_DIR"])


@pytest.fixture
def folder(tmp_path, starter) -> Path:
    """A copy of the starter handbook to break."""
    target = tmp_path / "content"
    shutil.copytree(starter, target, ignore=shutil.ignore_patterns("training", "hiring"))
    return target


def test_the_starter_handbook_imports_cleanly_at_about_two_thirds(starter):
    report = content.import_content(starter)
    assert report.counts["articles"]["created"] >= 20
    numbers = services.coverage()
    assert numbers.overall.total >= 30
    assert 55 <= numbers.overall.percent < 80


def test_reimporting_changes_nothing_and_adds_no_revisions(starter):
    content.import_content(starter)
    before, state = counts(), snapshot()
    report = content.import_content(starter)
    assert counts() == before and snapshot() == state
    assert report.counts["articles"]["created"] == report.counts["articles"]["updated"] == 0


def test_a_changed_file_adds_exactly_one_revision(folder):
    content.import_content(folder)
    path = folder / "articles" / "refund-request.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    report = content.import_content(folder)
    assert report.counts["articles"]["updated"] == 1
    article = db.session.scalar(select(Article).where(Article.slug == "refund-request"))
    assert [r.number for r in services.list_revisions(article.id)] == [2, 1]
    assert services.reader_text(article)[1].endswith("One more line.\n")


@pytest.mark.parametrize(
    "breakage, expected",
    [
        (
            lambda f: (f / "articles" / "refund-request.md").write_text("---\ntitle: [unclosed\n---\nbody\n"),
            "refund-request.md, line 3: invalid YAML",
        ),
        (
            lambda f: (f / "articles" / "refund-request.md").write_text("no front matter\n"),
            "refund-request.md, line 1: missing front matter",
        ),
        (
            lambda f: _edit(
                f / "articles" / "refund-request.md",
                "category: Billing",
                "category: Billing\nowner: ghost@example.test",
            ),
            "refund-request.md, line 5, field 'owner': unknown owner 'ghost@example.test'",
        ),
        (
            lambda f: _edit(
                f / "articles" / "downgrade-request.md", "slug: downgrade-request", "slug: refund-request"
            ),
            "field 'slug': duplicate slug 'refund-request'",
        ),
        (
            lambda f: _edit(f / "articles" / "refund-request.md", "status: published", "status: live"),
            "field 'status': unknown status 'live'",
        ),
        (
            lambda f: _edit(f / "processes.yml", "status: drafting", "status: someday"),
            "processes.yml, line 73, field 'status': unknown status 'someday'",
        ),
        (
            lambda f: _edit(f / "processes.yml", "frequency: 6", "frequency: lots"),
            "processes.yml, line 6, field 'frequency'",
        ),
        (
            lambda f: _edit(f / "articles" / "refund-request.md", "category: Billing", "category: Bilking"),
            "field 'category': unknown category 'Bilking'",
        ),
        (
            lambda f: (f / "categories.yml").write_text("- name: Billing\n  requires_review: 'no'\n"),
            "categories.yml, field 'requires_review': category 'Billing': must be true or false",
        ),
        (
            lambda f: (f / "processes.yml").write_text(
                (f / "processes.yml").read_text(encoding="utf-8")
                + "\n- name: Straße sperren\n  category: Billing\n"
                "\n- name: STRASSE  SPERREN\n  category: Billing\n",
                encoding="utf-8",
            ),
            "field 'name': process 'STRASSE  SPERREN' is also defined in",
        ),
        (
            lambda f: (f / "articles" / "evil.md").write_text(
                "---\ntitle: !!python/object/apply:os.system ['echo hacked']\nslug: evil\ncategory: Billing\n---\nx\n"
            ),
            "evil.md, line 2: invalid YAML",
        ),
    ],
)
def test_a_bad_file_is_named_and_leaves_the_database_untouched(folder, make_user, breakage, expected):
    make_user(Role.AUTHOR, email="existing@example.test")
    content.import_content(folder)  # a handbook already in place
    path = folder / "articles" / "refund-request.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("Refund requests are common", "Refunds are common"),
        encoding="utf-8",
    )
    (folder / "processes.yml").write_text(
        (folder / "processes.yml")
        .read_text()
        .replace(
            "- name: Tax exemption certificate",
            "- name: Brand new process\n  category: Billing\n  frequency: 3\n\n"
            "- name: Tax exemption certificate",
        )
    )
    before, state = counts(), snapshot()
    breakage(folder)
    with pytest.raises(ContentError) as caught:
        content.import_content(folder, owners="require")
    assert expected in str(caught.value)
    db.session.expire_all()
    assert counts() == before and snapshot() == state  # not even the valid changes were written


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_export_then_import_into_an_empty_handbook_reproduces_it(
    starter, tmp_path, make_user, make_process, make_article, author
):
    content.import_content(starter)
    owner = make_user(Role.AUTHOR, email="owner@example.test")
    make_process("Fax support", category="Billing", frequency=1, owner=owner, notes="Legacy customers only")
    extra = make_article(
        "Draft with tags",
        "Some *text*\n",
        status="draft",
        tags="alpha, beta",
        owner_id=owner.id,
        language="nb",
    )
    services.retire_process(make_process("Old thing", category="Escalations").id, actor=author)
    db.session.get(Category, "Billing").requires_review = True
    db.session.commit()
    assert extra.slug == "draft-with-tags"
    first = tmp_path / "first"
    content.export_content(first)
    state = snapshot()

    db.session.rollback()
    with db.engine.begin() as conn:  # empty the handbook, keep the users
        for model in (Revision, Article, Process, Category, ArticleTemplate):
            if model is Article:
                conn.execute(Article.__table__.update().values(published_revision_id=None))
            conn.execute(model.__table__.delete())
    from kms.articles.models import ArticleTag, CoverageSnapshot, SlugRedirect

    with db.engine.begin() as conn:
        for model in (ArticleTag, SlugRedirect, CoverageSnapshot):
            conn.execute(model.__table__.delete())
    assert counts()[:2] == (0, 0)

    content.import_content(first)
    assert snapshot() == state
    second = tmp_path / "second"
    content.export_content(second)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_an_import_matches_an_existing_process_by_name_ignoring_case_in_any_alphabet(folder, make_process):
    existing = make_process("Überweisung zurückholen", frequency=1)
    (folder / "processes.yml").write_text(
        (folder / "processes.yml").read_text(encoding="utf-8")
        + "\n- name: ÜBERWEISUNG ZURÜCKHOLEN\n  category: Billing\n  frequency: 7\n",
        encoding="utf-8",
    )
    content.import_content(folder)
    db.session.expire_all()
    matching = [p for p in db.session.scalars(select(Process)) if p.name.lower() == existing.name.lower()]
    assert [(p.id, p.frequency) for p in matching] == [(existing.id, 7)]


def test_a_folder_of_markdown_files_at_the_top_is_not_ignored_in_silence(app, tmp_path):
    """Plain Markdown files where import does not look: the error names them and says where they go."""
    (tmp_path / "refund-request.md").write_text("# Refund request\n\nSteps.\n", encoding="utf-8")
    (tmp_path / "handbook").mkdir()
    (tmp_path / "handbook" / "escalation.md").write_text("Escalate.\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        content.import_content(tmp_path)
    message = str(caught.value)
    assert "refund-request.md" in message and "handbook/escalation.md" in message
    assert f"{tmp_path / 'articles'}/" in message and "front matter" in message
    assert counts()[:2] == (0, 0)


def test_stray_markdown_next_to_real_content_is_reported_after_the_import(folder):
    (folder / "notes.md").write_text("Loose notes.\n", encoding="utf-8")
    report = content.import_content(folder)
    assert report.counts["articles"]["created"] >= 20
    assert any("notes.md" in warning and "articles" in warning for warning in report.warnings)
