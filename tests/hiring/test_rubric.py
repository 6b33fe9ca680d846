"""The traits rubric: imported from content/hiring, versioned on every change, edited only by admins."""

import shutil

import pytest

from kms.auth.models import Role
from kms.errors import Conflict, Forbidden, Invalid
from kms.extensions import db
from kms.frontmatter import ContentError, ImportReport, read_front_matter, write_front_matter
from kms.hiring import services
from kms.hiring.models import RubricVersion, Scorecard
from tests.hiring.conftest import CONTENT, TRAITS, full_scorecard


def _copy_content(tmp_path):
    target = tmp_path / "content"
    shutil.copytree(CONTENT / "hiring", target / "hiring")
    return target


def test_the_starter_rubric_has_four_traits_with_questions_flags_and_a_four_point_scale(rubric):
    assert rubric.number == 1
    assert [t.key for t in rubric.traits] == TRAITS
    for trait in rubric.traits:
        assert trait.definition and trait.questions and trait.red_flags and trait.green_flags
        assert sorted(trait.scale) == ["1", "2", "3", "4"]
        assert all(trait.anchor(n) for n in (1, 2, 3, 4))


def test_importing_the_same_files_again_makes_no_new_version(rubric):
    report = ImportReport()
    services.import_content(CONTENT, report)
    db.session.commit()
    assert report.counts["hiring traits"]["unchanged"] == 4
    assert db.session.query(RubricVersion).count() == 1


def test_a_changed_file_makes_the_next_version_and_keeps_the_old_one(rubric, tmp_path):
    content = _copy_content(tmp_path)
    path = content / "hiring" / "drive.md"
    meta, body = read_front_matter(path)
    meta["definition"] = "A new definition of drive."
    write_front_matter(path, meta, body)
    report = ImportReport()
    services.import_content(content, report)
    db.session.commit()
    assert report.counts["hiring traits"] == {"created": 0, "updated": 1, "unchanged": 3}
    assert services.current_rubric().number == 2
    assert services.rubric_version(2).traits[0].definition == "A new definition of drive."
    assert services.rubric_version(1).traits[0].definition != "A new definition of drive."


@pytest.mark.parametrize(
    "change, field",
    [
        ({"scale": {1: "a", 2: "b", 3: "c"}}, "scale"),
        ({"scale": {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}}, "scale"),
        ({"definition": ""}, "definition"),
        ({"questions": []}, "questions"),
    ],
)
def test_a_malformed_trait_file_is_rejected_naming_the_file_and_field(rubric, tmp_path, change, field):
    content = _copy_content(tmp_path)
    path = content / "hiring" / "empathy.md"
    meta, body = read_front_matter(path)
    meta.update(change)
    write_front_matter(path, meta, body)
    with pytest.raises(ContentError) as caught:
        services.import_content(content, ImportReport())
    assert "empathy.md" in caught.value.message and caught.value.field == field


def test_export_writes_files_that_import_back_unchanged(rubric, tmp_path):
    assert services.export_content(tmp_path) == 4
    report = ImportReport()
    services.import_content(tmp_path, report)
    assert report.counts["hiring traits"]["unchanged"] == 4


def test_an_admin_edit_makes_a_new_version_and_scorecards_keep_theirs(process, make_user):
    draft = services.save_draft(process.first_assignment, full_scorecard(), actor=process.first)
    admin = make_user(Role.ADMIN)
    fields = {"red_flags": ["Blames customers"], "definition": "Sharper wording."}
    version = services.update_trait("empathy", fields, base_version=1, note="Clearer flags", actor=admin)
    assert version.number == 2 and version.created_by_id == admin.id
    assert [t.key for t in version.traits] == TRAITS
    assert version.traits[3].red_flags == ["Blames customers"]
    assert db.session.get(Scorecard, draft.id).rubric_version.number == 1
    context = services.open_scorecard(process.first_assignment, actor=process.first)
    assert context.rubric.number == 1 and context.traits[3].definition != "Sharper wording."


def test_only_admins_edit_the_rubric(rubric, make_user):
    with pytest.raises(Forbidden):
        services.update_trait(
            "drive", {"name": "Hunger"}, base_version=1, note="x", actor=make_user(Role.MANAGER)
        )


def test_an_edit_from_an_outdated_version_is_a_conflict(rubric, make_user):
    admin = make_user(Role.ADMIN)
    services.update_trait("drive", {"name": "Hunger"}, base_version=1, note="rename", actor=admin)
    with pytest.raises(Conflict):
        services.update_trait("drive", {"name": "Grit"}, base_version=1, note="rename", actor=admin)
    assert services.current_rubric().traits[0].name == "Hunger"


def test_an_edit_without_a_four_point_anchor_is_refused(rubric, make_user):
    with pytest.raises(Invalid) as caught:
        services.update_trait(
            "drive",
            {"scale": {"1": "a", "2": "b", "3": "c", "4": ""}},
            base_version=1,
            note="oops",
            actor=make_user(Role.ADMIN),
        )
    assert caught.value.field == "scale 4"
    assert services.current_rubric().number == 1


def test_the_edit_page_saves_a_new_version_and_the_rubric_page_lists_it(client, rubric, login_as):
    login_as(Role.ADMIN)
    page = client.get("/hiring/rubric/positivity/edit")
    assert page.status_code == 200 and b"Save as a new version" in page.data
    trait = rubric.traits[2]
    data = {
        "base_version": "1",
        "name": trait.name,
        "definition": "Positivity, reworded.",
        "questions": "\n".join(trait.questions),
        "strong_answer": trait.strong_answer,
        "weak_answer": trait.weak_answer,
        "green_flags": "\n".join(trait.green_flags),
        "red_flags": "\n".join(trait.red_flags),
        "guidance": trait.guidance,
        "position": "3",
        "note": "Reworded the definition",
        **{f"scale_{n}": trait.anchor(n) for n in range(1, 5)},
    }
    response = client.post("/hiring/rubric/positivity/edit", data=data)
    assert response.status_code == 302
    listing = client.get("/hiring/rubric").get_data(as_text=True)
    assert (
        "Positivity, reworded." in listing and "Version 1" in listing and "Reworded the definition" in listing
    )


def test_the_edit_page_keeps_the_text_and_names_the_missing_field(client, rubric, login_as):
    login_as(Role.ADMIN)
    response = client.post(
        "/hiring/rubric/drive/edit",
        data={"base_version": "1", "name": "Drive", "definition": "My careful new text"},
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "My careful new text" in html
    assert (
        "What a strong answer sounds like is required." in html
        and "What changed and why is required." in html
    )
    assert services.current_rubric().number == 1
