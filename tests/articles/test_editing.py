"""Articles keep every revision, show diffs, restore as new revisions, and never lose an editor's text."""

from __future__ import annotations

import threading

import pytest

from kms.articles import services
from kms.articles.models import (
    Article,
    ArticleStatus,
    Category,
    Process,
    ProcessStatus,
    Revision,
    RevisionState,
)
from kms.auth.models import Role, User
from kms.errors import Forbidden, Invalid, NotFound
from kms.extensions import db, unit_of_work
from tests.articles.conftest import REAL_TEXT, fields_of


def test_every_save_adds_a_numbered_revision_with_author_and_reason(make_article, author):
    article = make_article("Refund request", "v1\n")
    with unit_of_work():
        services.save_article(
            article.id, fields_of(article, body="v2\n", reason="typo"), base_version=1, actor=author
        )
    revisions = services.list_revisions(article.id)
    assert [(r.number, r.body, r.author_id) for r in revisions] == [
        (2, "v2\n", author.id),
        (1, "v1\n", author.id),
    ]
    assert revisions[0].reason == "typo"
    assert db.session.get(Article, article.id).version == 2


def test_second_save_from_the_same_version_is_a_conflict_and_keeps_the_first(make_article, author, make_user):
    other = make_user(Role.AUTHOR)
    article = make_article(body="v1\n")
    with unit_of_work():
        services.save_article(article.id, fields_of(article, body="mine\n"), base_version=1, actor=author)
    with pytest.raises(services.EditConflict) as caught:
        with unit_of_work():
            services.save_article(
                article.id, fields_of(article, body="theirs\n"), base_version=1, actor=other
            )
    assert caught.value.current_body == "mine\n" and caught.value.current_version == 2
    db.session.expire_all()
    assert db.session.get(Article, article.id).body == "mine\n"
    assert len(services.list_revisions(article.id)) == 2


def test_diff_between_two_revisions_shows_removed_and_added_lines(make_article, author):
    article = make_article(body="keep\nold line\nkeep too\n")
    with unit_of_work():
        services.save_article(
            article.id,
            fields_of(article, title="Renamed", body="keep\nnew line\nkeep too\n"),
            base_version=1,
            actor=author,
        )
    _, _, lines = services.diff_revisions(article.id, 1, 2)
    kinds = {(line.kind, line.text) for line in lines}
    assert ("del", "old line") in kinds and ("add", "new line") in kinds
    assert ("same", "keep") in kinds
    assert ("add", "Title: Renamed") in kinds
    assert services.diff_texts("same\n", "same\n") == []


def test_restoring_an_old_revision_appends_a_new_one_and_history_only_grows(make_article, author):
    article = make_article(body="one\n")
    with unit_of_work():
        services.save_article(article.id, fields_of(article, body="two\n"), base_version=1, actor=author)
    revision = services.restore_revision(article.id, 1, base_version=2, actor=author)
    assert revision.number == 3 and revision.body == "one\n" and "Restored revision 1" in revision.reason
    assert [r.number for r in services.list_revisions(article.id)] == [3, 2, 1]
    db.session.expire_all()
    article = db.session.get(Article, article.id)
    assert article.body == "one\n" and services.reader_text(article)[1] == "one\n"


def test_restore_from_an_outdated_page_is_refused(make_article, author):
    article = make_article(body="one\n")
    with unit_of_work():
        services.save_article(article.id, fields_of(article, body="two\n"), base_version=1, actor=author)
    with pytest.raises(services.EditConflict):
        services.restore_revision(article.id, 1, base_version=1, actor=author)


def test_renaming_keeps_the_old_address_and_the_title_link_working(make_article, author, make_user):
    article = make_article("Refund request")
    with unit_of_work():
        services.save_article(
            article.id,
            fields_of(article, title="Refunds and credits", slug="refunds"),
            base_version=1,
            actor=author,
        )
    member = make_user()
    for old in ("refund-request", "refunds-and-credits"):
        found, moved_to = services.resolve_slug(old, viewer=member)
        assert found is None and moved_to == "refunds"


def test_a_slug_taken_by_another_article_is_refused_naming_the_field(make_article, author):
    make_article("Refund request")
    other = make_article("Something else")
    with pytest.raises(Invalid) as caught:
        with unit_of_work():
            services.save_article(
                other.id, fields_of(other, slug="refund-request"), base_version=1, actor=author
            )
    assert caught.value.field == "slug"


def test_bad_input_names_the_field_and_saves_nothing(make_article, author):
    article = make_article(body="v1\n")
    for change, field in (
        (dict(title=" "), "title"),
        (dict(category="Nope"), "category"),
        (dict(language="not a tag!"), "language"),
        (dict(verify_interval_days=0), "verify_interval_days"),
    ):
        with pytest.raises(Invalid) as caught:
            with unit_of_work():
                services.save_article(
                    article.id, fields_of(article, body="changed\n", **change), base_version=1, actor=author
                )
        assert caught.value.field == field
    db.session.expire_all()
    assert db.session.get(Article, article.id).version == 1
    assert len(services.list_revisions(article.id)) == 1


def test_drafts_are_hidden_from_members_and_managers_but_not_authors(make_article, make_user, author):
    draft = make_article("Secret plan", status="draft")
    for role in (Role.MEMBER, Role.MANAGER):
        with pytest.raises(NotFound):
            services.resolve_slug(draft.slug, viewer=make_user(role))
    assert services.resolve_slug(draft.slug, viewer=author)[0].id == draft.id
    assert services.list_articles(viewer=make_user())[1] == 0


def test_members_cannot_write(make_user, categories):
    with pytest.raises(Forbidden):
        with unit_of_work():
            services.create_article(
                services.ArticleFields(title="x", body="", category="Billing"), actor=make_user(Role.MEMBER)
            )


def test_review_keeps_readers_on_the_published_text_until_another_person_approves(
    make_article, author, make_user
):
    article = make_article("Refund request", "approved text\n")
    db.session.get(Category, "Billing").requires_review = True
    db.session.commit()
    with unit_of_work():
        services.save_article(
            article.id, fields_of(article, body="proposed text\n"), base_version=1, actor=author
        )
    member = make_user()
    db.session.expire_all()
    shown, _ = services.resolve_slug(article.slug, viewer=member)
    assert services.reader_text(shown)[1] == "approved text\n"
    pending = services.pending_reviews()
    assert [r.state for r in pending] == [RevisionState.PENDING]
    with pytest.raises(Forbidden):
        services.approve_revision(pending[0].id, actor=author)  # not your own change
    services.approve_revision(pending[0].id, actor=make_user(Role.MANAGER))
    db.session.expire_all()
    shown, _ = services.resolve_slug(article.slug, viewer=member)
    assert services.reader_text(shown)[1] == "proposed text\n"


def test_rejecting_a_change_puts_the_published_text_back_in_the_editor(make_article, author, make_user):
    article = make_article(body="good\n")
    db.session.get(Category, "Billing").requires_review = True
    db.session.commit()
    with unit_of_work():
        services.save_article(article.id, fields_of(article, body="bad\n"), base_version=1, actor=author)
    revision = services.pending_reviews()[0]
    services.reject_revision(revision.id, actor=make_user(Role.AUTHOR), reason="wrong limits")
    db.session.expire_all()
    article = db.session.get(Article, article.id)
    assert article.body == "good\n" and article.status == ArticleStatus.PUBLISHED
    assert db.session.get(Revision, revision.id).state == RevisionState.REJECTED


def test_publishing_the_article_makes_its_process_documented(make_process, make_article, author):
    process = make_process("Refund request")
    article = make_article(body=REAL_TEXT, status="draft", process=process)
    assert process.status == ProcessStatus.DRAFTING
    with unit_of_work():
        services.save_article(
            article.id, fields_of(article, status="published"), base_version=1, actor=author
        )
    db.session.expire_all()
    assert services.get_process(process.id).status == ProcessStatus.DOCUMENTED


def test_flags_show_until_the_owner_resolves_them(make_article, make_user, author):
    article = make_article(owner_id=author.id)
    reader = make_user()
    services.flag_article(article.id, "Step 3 is outdated", actor=reader)
    assert [f.comment for f in services.open_flags(article.id)] == ["Step 3 is outdated"]
    flag = services.flags_for_owner(author)[0]
    with pytest.raises(Forbidden):
        services.resolve_flag(flag.id, "", actor=make_user(Role.AUTHOR))
    services.resolve_flag(flag.id, "Fixed step 3", actor=author)
    assert services.open_flags(article.id) == []
    with pytest.raises(Invalid):
        services.flag_article(article.id, "   ", actor=reader)


def test_verification_sets_the_next_due_date_and_the_label(make_article, make_user, author):
    from datetime import timedelta

    from kms.extensions import utcnow

    article = make_article(verify_interval_days=30)
    services.mark_verified(article.id, actor=author, at=utcnow() - timedelta(days=12))
    db.session.expire_all()
    article = db.session.get(Article, article.id)
    due, text = services.verification_label(article)
    assert not due and text == f"Verified 12 days ago by {author.name}"
    services.mark_verified(article.id, actor=author, at=utcnow() - timedelta(days=31))
    db.session.expire_all()
    article = db.session.get(Article, article.id)
    assert services.verification_label(article)[0] is True
    assert [a.id for a in services.stale_articles()] == [article.id]


@pytest.mark.parametrize(
    "first, second",
    [
        ("Refund request", "REFUND REQUEST"),
        ("Über-Rückgabe", "über-rückgabe"),
        ("Возврат средств", "ВОЗВРАТ СРЕДСТВ"),
        ("Ελληνικά", "ΕΛΛΗΝΙΚΆ"),
        ("Straße sperren", "STRASSE SPERREN"),
        ("Refund  request", "refund request"),
        ("Café", "Cafe\u0301"),
    ],
)
def test_a_process_name_differing_only_in_case_spacing_or_spelling_is_refused_in_any_alphabet(
    make_process, author, first, second
):
    make_process(first)
    with pytest.raises(Invalid) as refused:
        with unit_of_work():
            services.create_process(services.ProcessFields(name=second, category="Billing"), actor=author)
    assert refused.value.field == "name" and "already exists" in str(refused.value)
    assert services.process_named(second.lower()).name == first
    other = make_process("Unrelated")
    with pytest.raises(Invalid):
        services.update_process(
            other.id, services.ProcessFields(name=second, category="Billing"), actor=author
        )
    renamed = services.update_process(
        other.id, services.ProcessFields(name=second + " 2", category="Billing"), actor=author
    )
    assert renamed.name == second + " 2"


def test_a_name_that_unicode_spells_out_much_longer_is_kept_and_still_compared(author):
    # U+FDFA is one character that compatibility normalization spells out as 18: a 200-character name of it must
    # neither break the stored key's column or index nor let its twin in.
    name = "\ufdfa" * 200
    with unit_of_work():
        made = services.create_process(services.ProcessFields(name=name, category="Billing"), actor=author)
    assert services.process_named(name).id == made.id
    with pytest.raises(Invalid) as refused:
        with unit_of_work():
            services.create_process(services.ProcessFields(name=name, category="Billing"), actor=author)
    assert refused.value.field == "name" and "already exists" in str(refused.value)


def test_people_adding_one_process_at_the_same_moment_get_one_process_and_a_clear_refusal(app, author):
    names = ["Chargeback dispute", "CHARGEBACK DISPUTE", "chargeback dispute", "Chargeback Dispute"]
    start, outcomes, author_id = threading.Barrier(len(names)), [], author.id

    def add(name: str) -> None:
        with app.app_context():
            try:
                actor = db.session.get(User, author_id)
                start.wait(timeout=10)
                with unit_of_work():
                    services.create_process(
                        services.ProcessFields(name=name, category="Billing"), actor=actor
                    )
                outcomes.append("created")
            except Invalid as refused:
                outcomes.append(str(refused))
            except Exception as error:  # noqa: BLE001 - a crash is what this test looks for
                outcomes.append(f"crashed: {error!r}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcomes.count("created") == 1, outcomes
    assert all("already exists" in outcome for outcome in outcomes if outcome != "created"), outcomes
    db.session.rollback()  # end this test's own read snapshot to see the threads' commits
    stored = [p for p in db.session.scalars(db.select(Process)) if p.name.lower() == "chargeback dispute"]
    assert len(stored) == 1


def test_a_category_typed_in_another_case_is_the_existing_one_and_an_unknown_one_lists_the_choices(
    make_article, make_process
):
    assert make_article(category="billing").category == "Billing"
    assert make_process(category="ESCALATIONS").category == "Escalations"
    with pytest.raises(Invalid) as refused:
        make_article(category="Bilking")
    assert refused.value.field == "category"
    assert "Unknown category 'Bilking'" in str(refused.value) and "Billing, " in str(refused.value)
