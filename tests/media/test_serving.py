"""Serving: a file is as private as the most open page that uses it; anything else is 404; caching by hash."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kms.articles.models import Article
from kms.auth.models import Role
from kms.auth.system import SYSTEM
from kms.extensions import db, unit_of_work
from kms.hiring import services as hiring
from kms.hiring.models import AuditEntry, Candidate
from kms.media.models import Attachment
from tests.media.conftest import image_bytes, login, save_body, upload

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.usefixtures("on_storage")
def test_revalidation_answers_304_with_the_hash_as_etag_and_a_long_private_cache(client, login_as):
    login_as(Role.AUTHOR)
    data = upload(client, image_bytes(), "a.png").get_json()
    first = client.get(data["url"])
    digest = data["url"].split("/")[2]
    assert first.headers["ETag"] == f'"{digest}"'
    assert first.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    again = client.get(data["url"], headers={"If-None-Match": f'"{digest}"'})
    assert again.status_code == 304 and again.data == b""


def test_a_draft_articles_image_is_hidden_from_members_until_it_is_published(client, make_user, make_article):
    author, member = make_user(Role.AUTHOR), make_user(Role.MEMBER)
    article = make_article(author, status="draft")
    login(client, author)
    data = upload(client, image_bytes(), "draft.png", owner=f"article:{article.id}").get_json()
    save_body(article.id, f"Look:\n\n{data['markdown']}\n", author, status="draft")
    login(client, member)
    assert client.get(data["url"]).status_code == 404
    save_body(article.id, f"Look:\n\n{data['markdown']}\n", author, status="published")
    assert client.get(data["url"]).status_code == 200


@pytest.mark.usefixtures("on_storage")
def test_a_members_guess_of_another_pages_file_address_is_404(client, make_user, make_article):
    author, member = make_user(Role.AUTHOR), make_user(Role.MEMBER)
    article = make_article(author, status="draft")
    login(client, author)
    data = upload(client, PDF, "plan.pdf", owner=f"article:{article.id}").get_json()
    login(client, member)
    guessed = client.get(data["url"])
    unknown = client.get("/media/" + "ab" * 32 + "/plan.pdf")
    assert guessed.status_code == unknown.status_code == 404
    assert guessed.data == unknown.data


def test_a_draft_upload_is_private_to_its_uploader_until_a_saved_page_uses_it(
    client, make_user, make_article
):
    author, other, member = make_user(Role.AUTHOR), make_user(Role.AUTHOR), make_user(Role.MEMBER)
    login(client, author)
    data = upload(client, image_bytes(), "new.png", alt="New screen").get_json()
    assert client.get(data["url"]).status_code == 200
    login(client, other)
    assert client.get(data["url"]).status_code == 404
    make_article(author, body=f"The new screen:\n\n{data['markdown']}\n")
    login(client, member)
    assert client.get(data["url"]).status_code == 200
    owners = {row.owner_type for row in db.session.scalars(select(Attachment))}
    assert owners == {"article"}


@pytest.mark.usefixtures("on_storage")
def test_a_deleted_articles_image_is_404_and_its_file_is_gone(client, make_user, make_article, stored):
    author = make_user(Role.AUTHOR)
    login(client, author)
    data = upload(client, image_bytes(), "gone.png").get_json()
    article = make_article(author, body=f"Soon gone:\n\n{data['markdown']}\n")
    assert stored() == (1, 1, 1)
    with unit_of_work():
        db.session.delete(db.session.get(Article, article.id))
    assert client.get(data["url"]).status_code == 404
    assert stored() == (0, 0, 0)


def test_a_file_two_pages_use_stays_until_the_last_one_goes(client, make_user, make_article, stored):
    author = make_user(Role.AUTHOR)
    login(client, author)
    data = upload(client, image_bytes(), "shared.png").get_json()
    first = make_article(author, body=f"One:\n\n{data['markdown']}\n", title="One")
    make_article(author, body=f"Two:\n\n{data['markdown']}\n", title="Two")
    assert stored() == (1, 1, 2)
    with unit_of_work():
        db.session.delete(db.session.get(Article, first.id))
    assert stored() == (1, 1, 1)
    assert client.get(data["url"]).status_code == 200


def _cv(client, process, name="cv.pdf"):
    login(client, process.manager)
    response = upload(client, PDF, name, owner=f"candidate:{process.candidate.id}")
    assert response.status_code == 201, response.data
    return response.get_json()


@pytest.mark.usefixtures("on_storage")
def test_a_candidates_file_is_seen_only_by_leads_and_assigned_interviewers_and_each_download_is_audited(
    client, make_user, process
):
    data = _cv(client, process)
    assert client.get(data["url"]).headers["Cache-Control"] == "private, no-store"
    login(client, process.second)  # a member assigned to interview
    response = client.get(data["url"])
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "downloaded")))
    assert {(e.actor_id, e.candidate_id) for e in entries} == {
        (process.manager.id, process.candidate.id),
        (process.second.id, process.candidate.id),
    }
    assert all("cv" not in e.detail for e in entries)
    for outsider in (make_user(Role.MEMBER), make_user(Role.AUTHOR)):
        login(client, outsider)
        assert client.get(data["url"]).status_code == 404


def test_a_candidates_file_named_in_an_article_stays_confidential(client, make_user, make_article, process):
    data = _cv(client, process)
    make_article(make_user(Role.AUTHOR), body=f"Oops:\n\n[cv]({data['url']})\n")
    login(client, make_user(Role.MEMBER))
    assert client.get(data["url"]).status_code == 404


def test_only_leads_attach_files_to_a_candidate(client, process, stored):
    login(client, process.first)  # an author assigned to interview
    response = upload(client, PDF, "cv.pdf", owner=f"candidate:{process.candidate.id}")
    assert response.status_code == 403
    assert stored() == (0, 0, 0)


def test_deleting_a_candidate_deletes_their_files(client, process, stored):
    data = _cv(client, process)
    assert stored() == (1, 1, 1)
    with unit_of_work():
        hiring.delete_candidate(process.candidate.id, actor=process.manager)
    assert stored() == (0, 0, 0)
    assert client.get(data["url"]).status_code == 404


def test_the_hiring_purge_deletes_the_files_of_purged_candidates(client, process, stored):
    from datetime import timedelta

    from kms.extensions import utcnow

    _cv(client, process)
    with unit_of_work():
        candidate = db.session.get(Candidate, process.candidate.id)
        candidate.stage, candidate.stage_changed_at = "rejected", utcnow() - timedelta(days=400)
    with unit_of_work():
        assert hiring.purge_rejected(180, actor=SYSTEM) == 1
    assert stored() == (0, 0, 0)


def test_the_candidate_page_lists_its_files_with_an_upload_form(client, process):
    data = _cv(client, process, "Robin CV.pdf")
    page = client.get(f"/hiring/candidates/{process.candidate.id}")
    assert page.status_code == 200
    assert data["url"].encode() in page.data and b'name="owner" type="hidden" value="candidate:' in page.data
    login(client, process.second)
    interviewer_page = client.get(f"/hiring/candidates/{process.candidate.id}")
    assert data["url"].encode() in interviewer_page.data
    assert b"Attach file" not in interviewer_page.data


def test_a_lead_removes_a_candidates_file(client, process, stored):
    data = _cv(client, process)
    response = client.post(
        f"/media/attachments/{data['id']}/remove", data={"next": f"/hiring/candidates/{process.candidate.id}"}
    )
    assert response.status_code == 302
    assert stored() == (0, 0, 0)


def test_a_lessons_image_follows_the_modules_visibility(client, make_user):
    from kms.training import services as training

    editor, member = make_user(Role.AUTHOR), make_user(Role.MEMBER)
    login(client, editor)
    data = upload(client, image_bytes(), "step.png", alt="Step one").get_json()
    module = training.create_module(title="Renewals 101", audience=["member"], actor=editor)
    training.add_lesson(module.id, title="Step one", body=f"Do this:\n\n{data['markdown']}\n", actor=editor)
    login(client, member)
    assert client.get(data["url"]).status_code == 404
    training.set_module_status(module.id, "published", actor=editor)
    assert client.get(data["url"]).status_code == 200


def test_the_media_drafts_job_deletes_old_unused_draft_uploads_and_keeps_the_rest(
    app, client, make_user, make_article, stored
):
    from datetime import timedelta

    from kms.extensions import utcnow
    from kms.jobs.registry import jobs_of

    author = make_user(Role.AUTHOR)
    article = make_article(author)
    login(client, author)
    used = upload(client, image_bytes(color=(1, 2, 3)), "used.png").get_json()
    save_body(article.id, f"See:\n\n{used['markdown']}\n", author)
    forgotten = upload(client, image_bytes(color=(4, 5, 6)), "forgotten.png").get_json()
    recent = upload(client, image_bytes(color=(7, 8, 9)), "recent.png").get_json()
    with unit_of_work():
        db.session.execute(
            Attachment.__table__.update()
            .where(Attachment.name == "forgotten.png")
            .values(created_at=utcnow() - timedelta(days=31))
        )
    files_before = stored()[0]
    summary = jobs_of(app)["media-drafts"].func(utcnow())
    assert summary.startswith("1 ")
    assert stored()[0] == files_before - 1  # the forgotten file is gone from storage, not just its row
    assert client.get(forgotten["url"]).status_code == 404
    assert client.get(used["url"]).status_code == 200
    assert client.get(recent["url"]).status_code == 200
