"""Moving a whole site: export with its people, import into a fresh instance, and nothing drifts on the way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from kms import content
from kms.articles import services
from kms.articles.models import Article, Revision
from kms.auth.models import Role, User
from kms.extensions import db
from kms.frontmatter import ContentError
from tests.conftest import _empty_all_tables


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def site(make_user, make_article, categories):
    """A small site as people make it in the browser: bodies without a final newline, blank lines first."""
    owner = make_user(
        Role.AUTHOR, email="owner@example.test", name="Olga Owner", team="EMEA", time_zone="Europe/Oslo"
    )
    make_user(Role.MEMBER, email="rep@example.test", name="Ravi Rep", team="APAC", time_zone="Asia/Kolkata")
    make_article("Refund request", "## Steps\n\n1. Check the order", actor=owner, owner_id=owner.id)
    make_article(
        "退款请求",
        "\n\n  Indented first line, after two blank lines.   \n\n\n",
        actor=owner,
        owner_id=owner.id,
    )
    return owner


def test_the_export_lists_the_people_without_any_secret(site, tmp_path):
    content.export_content(tmp_path)
    people = yaml.safe_load((tmp_path / "people.yml").read_text(encoding="utf-8"))
    olga = next(p for p in people if p["email"] == "owner@example.test")
    assert olga == {
        "email": "owner@example.test",
        "name": "Olga Owner",
        "role": "author",
        "team": "EMEA",
        "time_zone": "Europe/Oslo",
    }
    text = (tmp_path / "people.yml").read_text(encoding="utf-8")
    assert "argon2" not in text and "password" not in text and "token" not in text


def test_reimporting_a_sites_own_unchanged_export_changes_nothing(site, tmp_path):
    content.export_content(tmp_path)
    revisions = db.session.scalar(select(func.count(Revision.id)))
    report = content.import_content(tmp_path)
    assert db.session.scalar(select(func.count(Revision.id))) == revisions
    assert report.counts["articles"] == {"created": 0, "updated": 0, "unchanged": 2}


def test_a_whole_site_moves_into_a_fresh_instance_and_exports_byte_for_byte_the_same(site, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    content.export_content(first)
    _empty_all_tables()
    assert db.session.scalar(select(func.count(User.id))) == 0
    report = content.import_content(first)
    assert report.counts["people"]["created"] == 3  # Olga, Ravi and the author who set up the site
    olga = db.session.scalar(select(User).where(User.email == "owner@example.test"))
    assert (olga.name, olga.role, olga.team, olga.time_zone) == (
        "Olga Owner",
        Role.AUTHOR,
        "EMEA",
        "Europe/Oslo",
    )
    assert not olga.active and not olga.has_password  # an account to invite, not one to log into
    article = db.session.scalar(select(Article).where(Article.slug == "退款请求"))
    assert article.owner_id == olga.id
    assert services.reader_text(article)[1] == "\n\n  Indented first line, after two blank lines.   \n\n\n"
    content.export_content(second)
    assert _files(first) == _files(second)


def test_owners_without_an_account_are_left_empty_with_a_warning_or_refused_as_asked(site, tmp_path):
    content.export_content(tmp_path)
    (tmp_path / "people.yml").unlink()
    _empty_all_tables()
    with pytest.raises(ContentError) as refused:
        content.import_content(tmp_path, owners="require")
    assert "owner@example.test" in str(refused.value) and "--owners=create" in str(refused.value)
    assert db.session.scalar(select(func.count(Article.id))) == 0
    report = content.import_content(tmp_path, owners="clear")
    assert db.session.scalar(select(func.count(User.id))) == 0
    assert [a.owner_id for a in db.session.scalars(select(Article))] == [None, None]
    assert any("owner@example.test" in w and "left empty" in w for w in report.warnings)


def test_an_owner_missing_from_people_yml_is_created_deactivated_and_named_in_a_warning(site, tmp_path):
    content.export_content(tmp_path)
    (tmp_path / "people.yml").unlink()
    _empty_all_tables()
    report = content.import_content(tmp_path)
    ghost = db.session.scalar(select(User).where(User.email == "owner@example.test"))
    assert ghost is not None and not ghost.active and ghost.role == Role.AUTHOR
    assert any("owner@example.test" in w and "deactivated" in w for w in report.warnings)
