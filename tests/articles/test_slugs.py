"""Addresses for titles in any alphabet: readable, unique, and reachable through the URL url_for builds."""

from __future__ import annotations

import pytest
from flask import url_for

from kms.auth.models import Role
from kms.errors import Invalid
from kms.markdown import slugify
from kms.training import services as training


def test_two_chinese_titles_and_a_hindi_title_get_their_own_readable_addresses(
    client, login_as, make_article
):
    """The second non-Latin article is not refused, and each page opens at the address it was given."""
    author = login_as(Role.AUTHOR)
    refunds = make_article("退款请求", actor=author)
    policy = make_article("退款政策", actor=author)
    complaint = make_article("ग्राहक की शिकायत", actor=author)
    assert (refunds.slug, policy.slug) == ("退款请求", "退款政策")
    assert complaint.slug == "ग्राहक-की-शिकायत"  # the vowel signs and the virama stay in their words
    for article in (refunds, policy, complaint):
        with client.application.test_request_context():
            url = url_for("articles.show", slug=article.slug)
        assert "%" in url and article.slug not in url  # percent-encoded on the wire
        page = client.get(url)
        assert page.status_code == 200 and article.title in page.get_data(as_text=True)


def test_titles_without_letters_and_repeated_titles_still_get_distinct_addresses(make_article):
    """Only emoji or punctuation never falls back to one constant address; a repeated title is numbered."""
    party, alarm = make_article("🎉🎉"), make_article("!!! ???")
    assert (
        party.slug != alarm.slug and party.slug.startswith("article-") and alarm.slug.startswith("article-")
    )
    again = make_article("🎉🎉")
    first, second = make_article("Refund request"), make_article("Refund request")
    assert again.slug not in (party.slug, alarm.slug)
    assert (first.slug, second.slug) == ("refund-request", "refund-request-2")


def test_an_editor_may_type_an_address_in_any_alphabet_and_is_told_what_a_bad_one_should_look_like(
    make_article,
):
    article = make_article("Возврат денег", slug="Возврат-Денег")
    assert article.slug == "возврат-денег"
    with pytest.raises(Invalid) as refused:
        make_article("Refund", slug="refund request!")
    assert refused.value.field == "slug" and "refund-request" in refused.value.message


def test_a_wiki_link_to_a_non_latin_title_points_at_its_article(client, login_as, make_article):
    author = login_as(Role.AUTHOR)
    make_article("退款请求", actor=author)
    linking = make_article("Index", body="See [[退款请求]].\n", actor=author)
    encoded = "/handbook/articles/%E9%80%80%E6%AC%BE%E8%AF%B7%E6%B1%82"
    assert f'href="{encoded}"' in client.get(f"/handbook/articles/{linking.slug}").get_data(as_text=True)
    assert client.get(encoded).status_code == 200


def test_a_module_with_a_non_latin_title_gets_a_readable_slug(make_user):
    manager = make_user(Role.MANAGER)
    first = training.create_module(actor=manager, title="客户升级处理", audience=["member"])
    second = training.create_module(actor=manager, title="ग्राहक सेवा", audience=["member"])
    third = training.create_module(actor=manager, title="???", audience=["member"])
    assert (first.slug, second.slug) == ("客户升级处理", "ग्राहक-सेवा")
    assert third.slug.startswith("module-") and third.slug != "module"
    assert slugify("Straße ÜBER") == "strasse-über"


def test_export_file_names_stay_safe_on_every_system():
    """Letters stay readable in file names; reserved Windows names and over-long names are made safe."""
    from kms.frontmatter import MAX_NAME_BYTES, file_name

    assert file_name("退款请求", ".md") == "退款请求.md"
    assert file_name("con", ".md") == "con-.md"
    long_slug = "ग्राहक" * 16  # 96 characters, 288 bytes
    name = file_name(long_slug, ".md")
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES + 3 and name != file_name(long_slug + "-2", ".md")
