"""content/training/ import and export, and the demo data built on it."""

from __future__ import annotations

from pathlib import Path as FilePath

import pytest
from sqlalchemy import func, select

from kms.extensions import db, unit_of_work
from kms.frontmatter import ContentError, ImportReport, read_front_matter
from kms.training import services
from kms.training.models import Lesson, Module, Path, ShadowHost, ShadowSession

CONTENT = FilePath(__file__).resolve().parents[2] / "content"
STARTER_SLUGS = sorted(p.stem for p in (CONTENT / "articles").glob("*.md"))


@pytest.fixture
def handbook(make_article):
    """Stand-in handbook: one published article per starter article slug (the handbook importer is elsewhere)."""
    return {slug: make_article(slug=slug) for slug in STARTER_SLUGS}


def run_import(root) -> ImportReport:
    report = ImportReport()
    with unit_of_work():  # the test is the caller: all of the import, or nothing
        services.import_content(FilePath(root), report)
    return report


def test_the_starter_training_content_imports(handbook):
    report = run_import(CONTENT)
    assert report.counts["training modules"]["created"] >= 6
    assert report.counts["training paths"]["created"] == 1
    modules = list(db.session.scalars(select(Module)))
    assert all(m.questions and m.lessons and m.status.value == "published" for m in modules)
    assert all(
        link.article.slug in handbook
        for m in modules
        for lesson in m.lessons
        for link in lesson.article_links
    )
    [path] = db.session.scalars(select(Path))
    assert path.title == "CSM — first 30 days" and path.shadow_days == 2 and len(path.steps) == 6


def test_export_writes_what_import_reads_and_a_reimport_changes_nothing(handbook, tmp_path):
    run_import(CONTENT)
    written = services.export_content(tmp_path)
    assert written == len(list((CONTENT / "training" / "modules").glob("*.md"))) + 1
    for original in (CONTENT / "training" / "modules").glob("*.md"):
        before, body_before = read_front_matter(original)
        after, body_after = read_front_matter(tmp_path / "training" / "modules" / original.name)
        assert [q["text"] for q in after["quiz"]["questions"]] == [
            q["text"] for q in before["quiz"]["questions"]
        ]
        assert [les["articles"] for les in after["lessons"]] == [les["articles"] for les in before["lessons"]]
        assert body_after.strip() == body_before.strip()
    lessons_before = sorted(db.session.scalars(select(Lesson.id)))
    report = run_import(tmp_path)
    assert set(report.counts["training modules"]) == {"created", "updated", "unchanged"}
    assert report.counts["training modules"]["created"] == report.counts["training modules"]["updated"] == 0
    assert report.counts["training paths"]["unchanged"] == 1
    assert sorted(db.session.scalars(select(Lesson.id))) == lessons_before


def test_a_lesson_linking_an_unknown_article_stops_the_import_naming_the_file_and_field(app, tmp_path):
    folder = tmp_path / "training" / "modules"
    folder.mkdir(parents=True)
    (folder / "broken.md").write_text(
        "---\ntitle: Broken\nslug: broken\nlessons:\n  - title: One\n"
        "    articles: [no-such-article]\n---\nIntro\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as error:
        run_import(tmp_path)
    assert "broken.md" in error.value.message and "lessons[0].articles" in error.value.message
    assert db.session.scalar(select(func.count(Module.id))) == 0


def test_a_path_naming_an_unknown_module_is_refused(app, tmp_path):
    folder = tmp_path / "training" / "paths"
    folder.mkdir(parents=True)
    (folder / "p.yml").write_text(
        "title: P\nslug: p\nmodules:\n  - {module: ghost, day: 1}\n", encoding="utf-8"
    )
    with pytest.raises(ContentError, match="ghost"):
        run_import(tmp_path)


def test_the_demo_assigns_the_path_plans_shadowing_and_records_progress(handbook):
    from kms import demo

    run_import(CONTENT)
    team = demo.create_demo()
    assert db.session.scalar(select(func.count()).select_from(ShadowHost)) == 2
    for hire in team.new_hires:
        onboarding = services.my_onboarding(hire.id, actor=team.admin)
        assert len(onboarding.items) == 6 and onboarding.sessions
    veteran = services.my_onboarding(team.new_hires[1].id, actor=team.admin)
    assert veteran.modules_done == 2 and veteran.sessions_done == 3 and veteran.percent > 0
    sessions = list(db.session.scalars(select(ShadowSession)))
    for a in sessions:
        for b in sessions:
            if a.id < b.id and ({a.host_id, a.trainee_id} & {b.host_id, b.trainee_id}):
                assert not (a.starts_at < b.ends_at and b.starts_at < a.ends_at)


def test_a_modules_tags_read_the_same_right_after_saving_as_from_the_database(author):
    """Export writes module.tags; a module saved in the same process must give them in the order a fresh read
    gives (by tag), or a re-import of what was just exported reports the module as changed."""
    with unit_of_work():
        module = services.create_module(
            actor=author,
            title="Tags",
            summary="",
            audience=["member"],
            minutes=5,
            pass_mark=50,
            max_attempts=0,
            recertify_months=None,
            tags=["Troubleshooting", "escalation", "troubleshooting"],
        )
    assert module.tags == ["escalation", "troubleshooting"]
    db.session.expire_all()
    assert db.session.get(Module, module.id).tags == ["escalation", "troubleshooting"]
