"""The search engine on its own: analyzers, query language, typos, visibility, concurrency, damage."""

from __future__ import annotations

import multiprocessing
import os
import re
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh.index import open_dir

from kms.search import engine as search_engine
from kms.search.engine import (
    IndexCorruptError,
    IndexMissingError,
    SearchEngine,
    make_snippet,
    parse_query,
)
from kms.search.engine.snippets import merge_spans
from kms.search.schema import SCHEMA, analyzer_for, strip_markdown

EVERYONE = {"public", "editors"}
PUBLIC = {"public"}
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def doc(doc_id: str, title: str, body: str, **fields) -> dict:
    number = int(re.sub(r"\D", "", doc_id) or 0)
    return {
        "id": doc_id,
        "type": doc_id.split(":")[0],
        "title": title,
        "body": body,
        "tags": fields.pop("tags", []),
        "category": fields.pop("category", "general"),
        "language": fields.pop("language", "en"),
        "status": "published",
        "visibility": fields.pop("visibility", "public"),
        "owner": "ada",
        "updated": fields.pop("updated", T0 + timedelta(hours=number)),
        "url": f"/{doc_id.replace(':', '/')}",
        "verified": None,
        **fields,
    }


def ids(result) -> list[str]:
    return [hit.id for hit in result.hits]


@pytest.fixture
def engine(tmp_path):
    with SearchEngine(tmp_path / "index") as eng:
        yield eng


def add(eng: SearchEngine, *docs: dict) -> None:
    eng.apply({d["id"]: d for d in docs})


# --------------------------------------------------------------------------------------------------
# Analyzers


def test_english_stemming_finds_other_forms_of_a_word(engine):
    add(
        engine,
        doc("article:1", "Handling escalations", "Escalations go to the duty manager."),
        doc("article:2", "Lunch", "Sandwiches on Fridays."),
    )
    assert ids(engine.search("escalation", visibilities=PUBLIC)) == ["article:1"]
    assert ids(engine.search("handle", visibilities=PUBLIC)) == ["article:1"]


@pytest.mark.parametrize("query", ["kunden", "kundene", "kunder", "kunde"])
def test_norwegian_inflections_find_kunde(engine, query):
    add(
        engine,
        doc("article:1", "Oppfølging", "Hver kunde får en egen plan.", language="nb"),
        doc("article:2", "Ferie", "Sommerferien starter i juli.", language="nb"),
    )
    assert ids(engine.search(query, visibilities=PUBLIC)) == ["article:1"]


def test_nynorsk_and_norsk_tags_use_the_norwegian_stemmer(engine):
    add(
        engine,
        doc("article:1", "Møte", "Kundene kjem på møtet.", language="nn"),
        doc("article:2", "Møte", "Kunden ringer i morgon.", language="no"),
    )
    assert sorted(ids(engine.search("kunde", visibilities=PUBLIC))) == ["article:1", "article:2"]


def test_finnish_inflections_meet_at_one_stem(engine):
    add(
        engine,
        doc("article:1", "Asiakkaat", "Asiakkaiden palaute käsitellään tiimissä.", language="fi"),
        doc("article:2", "Loma", "Kesäloma alkaa heinäkuussa.", language="fi"),
    )
    assert ids(engine.search("asiakkaat", visibilities=PUBLIC)) == ["article:1"]
    assert ids(engine.search("tiimin", visibilities=PUBLIC)) == ["article:1"]


@pytest.mark.parametrize("query", ["客户", "成功", "运营", "客户成功"])
def test_chinese_two_character_queries_find_the_text(engine, query):
    add(
        engine,
        doc("article:1", "运营指南", "我们的客户成功运营团队每周开会。", language="zh"),
        doc("article:2", "假期", "公司在春节期间放假。", language="zh-Hant"),
    )
    assert ids(engine.search(query, visibilities=PUBLIC)) == ["article:1"]


def test_a_single_chinese_character_finds_it_anywhere_in_a_word(engine):
    add(engine, doc("article:1", "指南", "客户成功", language="zh"))
    assert ids(engine.search("功", visibilities=PUBLIC)) == ["article:1"]
    assert ids(engine.search("户", visibilities=PUBLIC)) == ["article:1"]


def test_japanese_and_korean_are_split_into_bigrams(engine):
    add(
        engine,
        doc("article:1", "ガイド", "カスタマーサクセスの手順", language="ja"),
        doc("article:2", "안내", "고객성공팀의 절차", language="ko"),
    )
    assert ids(engine.search("サクセス", visibilities=PUBLIC)) == ["article:1"]
    assert ids(engine.search("고객", visibilities=PUBLIC)) == ["article:2"]


@pytest.mark.parametrize("query", ["cafe", "café", "CAFÉ"])
def test_accents_are_folded_in_text_and_queries(engine, query):
    add(
        engine,
        doc("lesson:1", "Meeting spots", "Meet the customer at the café.", language="fr"),
        doc("lesson:2", "Meeting spots", "Meet the customer in the office.", language="fr"),
    )
    assert ids(engine.search(query, visibilities=PUBLIC)) == ["lesson:1"]


def test_norwegian_letters_without_decomposition_are_folded(engine):
    add(engine, doc("article:1", "Mål", "Målene for kvartalet.", language="nb"))
    assert ids(engine.search("malene", visibilities=PUBLIC)) == ["article:1"]


def test_hindi_words_with_vowel_signs_are_whole_terms(engine):
    add(
        engine,
        doc("article:1", "टीम", "ग्राहक सफलता टीम को स्केल करने की प्रक्रिया", language="hi"),
        doc("article:2", "छुट्टी", "दिवाली की छुट्टी", language="hi"),
    )
    assert ids(engine.search("ग्राहक", visibilities=PUBLIC)) == ["article:1"]
    assert ids(engine.search("प्रक्रिया", visibilities=PUBLIC)) == ["article:1"]
    # "ग्राहक" cut at its vowel signs ("ग", "र", "हक") must not be what matched.
    assert ids(engine.search("हक", visibilities=PUBLIC)) == []


def test_tagalog_words_are_found_as_written(engine):
    add(
        engine,
        doc("article:1", "Koponan", "Ang pagtatayo ng isang koponan ng customer success.", language="tl"),
        doc("article:2", "Bakasyon", "Mahabang bakasyon sa Disyembre.", language="tl"),
    )
    assert ids(engine.search("pagtatayo", visibilities=PUBLIC)) == ["article:1"]


HINDI_FORMS = [
    ["ग्राहक", "ग्राहकों"],  # customer, customers (oblique)
    ["भाषा", "भाषाएं", "भाषाएँ", "भाषाओं"],  # language: plural written with anusvara or chandrabindu
    ["नीति", "नीतियां", "नीतियों"],  # policy
    ["समस्या", "समस्याएं", "समस्याओं"],  # problem
    ["कर्मचारी", "कर्मचारियों"],  # employee
    ["टीम", "टीमों"],  # team
    ["बात", "बातें"],  # matter, talk
    ["करेगा", "करेंगे", "करेगी"],  # will do
    ["सफलता", "सफलताओं"],  # success
]
TAGALOG_FORMS = [
    ["bayad", "bayaran", "nagbayad", "magbabayad", "nagbabayad", "binabayaran"],  # pay
    ["kain", "kumain", "kumakain", "kakain"],  # eat
    ["sulat", "sumulat", "sinulat", "isulat", "susulat"],  # write
    ["tawag", "tumawag", "tawagan", "tinawagan"],  # call
    ["basa", "basahin", "nagbasa", "binasa", "babasahin"],  # read
    ["tayo", "pagtatayo"],  # build
    ["alis", "umalis"],  # leave
    ["galit", "nagalit"],  # anger
]


@pytest.mark.parametrize(
    ("family", "forms"), [("hi", f) for f in HINDI_FORMS] + [("tl", f) for f in TAGALOG_FORMS]
)
def test_hindi_and_tagalog_inflections_share_one_index_term(family, forms):
    terms = {form: analyzer_for(family).terms(form) for form in forms}
    assert len({tuple(t) for t in terms.values()}) == 1, terms


@pytest.mark.parametrize(
    ("family", "words"),
    [
        ("hi", ["को", "में", "की"]),  # postpositions are not cut to one letter
        ("hi", ["ग्राहक", "कर"]),  # customer and "do" stay apart
        ("tl", ["mahal", "hal"]),  # ma- is not cut from a short root
        ("tl", ["pagod", "god"]),
        ("tl", ["bayad", "basa", "tawag"]),  # different roots stay different
        ("tl", ["customer", "custom"]),  # borrowed words stay whole
        ("tl", ["nagalit", "alit"]),  # nag- is not cut before a vowel (mag-aral is hyphenated)
    ],
)
def test_light_stemmers_do_not_merge_different_words(family, words):
    terms = [tuple(analyzer_for(family).terms(word)) for word in words]
    assert len(set(terms)) == len(words), dict(zip(words, terms, strict=True))
    assert all(terms), "no word may vanish"


def test_hindi_and_tagalog_queries_find_other_forms_of_the_word(engine):
    add(
        engine,
        doc("article:1", "ग्राहकों की शिकायतें", "ग्राहकों की समस्याओं को जल्दी सुलझाएं।", language="hi"),
        doc("article:2", "छुट्टी", "दिवाली की छुट्टी", language="hi"),
        doc("article:3", "Pagbabayad", "Paano binabayaran ang refund ng customer.", language="tl"),
        doc("article:4", "Bakasyon", "Mahabang bakasyon sa Disyembre.", language="fil-PH"),
    )
    for query, expected in (("ग्राहक", "article:1"), ("समस्या", "article:1"), ("bayaran", "article:3")):
        result = engine.search(query, visibilities=PUBLIC)
        # Found as a form of the word, not as a typo's correction.
        assert ids(result) == [expected] and not result.fuzzy, query
    assert ids(engine.search("bakasyon", visibilities=PUBLIC)) == ["article:4"]
    hit = engine.search("ग्राहक", visibilities=PUBLIC).hits[0]
    assert "<mark>ग्राहकों</mark>" in hit.snippet


def test_the_index_version_follows_the_stemming_rules(monkeypatch):
    from kms.search import lightstem, schema

    assert f"3.{lightstem.rules_fingerprint()}" == schema.SCHEMA_VERSION
    before = lightstem.rules_fingerprint()
    monkeypatch.setattr(lightstem, "HINDI_SUFFIXES", lightstem.HINDI_SUFFIXES[1:])
    assert lightstem.rules_fingerprint() != before


def test_an_index_built_before_hindi_and_tagalog_stemming_must_be_rebuilt(tmp_path):
    with SearchEngine(tmp_path / "ix") as eng:
        add(eng, doc("article:1", "ग्राहकों", "ग्राहकों की सूची", language="hi"))
        current = (tmp_path / "ix" / "CURRENT").read_text().strip()
        (tmp_path / "ix" / current / search_engine.META_FILE).write_text("schema 2\n")
        eng.close()
        with pytest.raises(IndexCorruptError, match="rebuild"):
            eng.search("ग्राहक", visibilities=PUBLIC)
        eng.rebuild([doc("article:1", "ग्राहकों", "ग्राहकों की सूची", language="hi")])
        assert eng.search("ग्राहक", visibilities=PUBLIC).total == 1


def test_one_query_finds_documents_in_any_language(engine):
    add(
        engine,
        doc("article:1", "Onboarding", "Onboarding for new hires.", language="en-US"),
        doc("article:2", "Onboarding", "Onboarding av nye kunder.", language="nb"),
        doc("article:3", "入职", "新员工 onboarding 流程", language="zh"),
    )
    assert sorted(ids(engine.search("onboarding", visibilities=PUBLIC))) == [
        "article:1",
        "article:2",
        "article:3",
    ]


def test_strip_markdown_keeps_text_and_code_and_drops_markup():
    text = strip_markdown(
        "# Title\n\n- **Bold** [link text](http://x.test) ![alt](i.png)\n\n"
        "| a | b |\n|---|---|\n\n`<b>code</b>` &amp; snake_case_name\n\n```\nfenced()\n```"
    )
    assert "Title" in text and "Bold" in text and "link text" in text and "alt" in text
    assert "<b>code</b>" in text and "& snake_case_name" in text and "fenced()" in text
    for markup in ("#", "**", "](", "|", "---", "```"):
        assert markup not in text


# --------------------------------------------------------------------------------------------------
# Query language


@pytest.fixture
def library(engine):
    add(
        engine,
        doc(
            "article:1",
            "Refund policy",
            "How to issue a refund to a customer.",
            tags=["billing"],
            category="Billing",
        ),
        doc(
            "article:2",
            "Refund exceptions",
            "A refund after ninety days needs approval.",
            tags=["billing"],
            category="Billing",
        ),
        doc(
            "process:3",
            "Escalation path",
            "Escalations go to the on-call lead.",
            tags=["support"],
            category="Support",
        ),
        doc(
            "lesson:4",
            "Policy basics",
            "Every policy has an owner.",
            tags=["training"],
            category="Training",
            language="en-GB",
        ),
        doc(
            "module:5",
            "Kundeoppfølging",
            "Kunden får svar innen en dag.",
            tags=["support"],
            category="Support",
            language="nb",
        ),
    )
    return engine


def test_all_words_must_match_by_default(library):
    assert ids(library.search("refund policy", visibilities=PUBLIC)) == ["article:1"]
    assert ids(library.search("refund customer", visibilities=PUBLIC)) == ["article:1"]


def test_quoted_phrases_match_words_in_order(library):
    assert ids(library.search('"issue a refund"', visibilities=PUBLIC)) == ["article:1"]
    assert ids(library.search('"refund issue"', visibilities=PUBLIC)) == []


def test_an_edited_page_is_found_by_its_new_words_and_not_its_old_ones(library):
    # The engine keeps decoded postings between queries: an edit must still show at once.
    assert ids(library.search('"issue a refund"', visibilities=PUBLIC)) == ["article:1"]
    assert ids(library.search("refund customer", visibilities=PUBLIC)) == ["article:1"]
    add(library, doc("article:1", "Refund policy", "Send the customer a voucher instead.", tags=["billing"]))
    assert ids(library.search('"issue a refund"', visibilities=PUBLIC)) == []
    assert ids(library.search("refund customer", visibilities=PUBLIC)) == ["article:1"]
    assert ids(library.search('"customer a voucher"', visibilities=PUBLIC)) == ["article:1"]
    assert ids(library.search("voucher refund", visibilities=PUBLIC)) == ["article:1"]


def test_prefix_queries_expand_to_words(library):
    assert ids(library.search("escal*", visibilities=PUBLIC)) == ["process:3"]
    # The stem of "escalation" is "escal": a longer prefix still finds it.
    assert ids(library.search("escalati*", visibilities=PUBLIC)) == ["process:3"]
    assert sorted(ids(library.search("ref*", visibilities=PUBLIC))) == ["article:1", "article:2"]


def test_or_matches_either_word(library):
    assert sorted(ids(library.search("escalation OR kunden", visibilities=PUBLIC))) == [
        "module:5",
        "process:3",
    ]


@pytest.mark.parametrize("query", ["refund NOT policy", "refund -policy"])
def test_not_and_minus_exclude_a_word(library, query):
    assert ids(library.search(query, visibilities=PUBLIC)) == ["article:2"]


def test_type_category_tag_and_lang_filters(library):
    assert ids(library.search("policy type:lesson", visibilities=PUBLIC)) == ["lesson:4"]
    assert sorted(ids(library.search("refund category:billing", visibilities=PUBLIC))) == [
        "article:1",
        "article:2",
    ]
    assert ids(library.search("kunden tag:support", visibilities=PUBLIC)) == ["module:5"]
    assert sorted(ids(library.search("policy lang:en", visibilities=PUBLIC))) == ["article:1", "lesson:4"]
    assert ids(library.search("policy lang:en-gb", visibilities=PUBLIC)) == ["lesson:4"]
    assert ids(library.search("refund -type:article", visibilities=PUBLIC)) == []


def test_filters_argument_narrows_like_the_query_syntax(library):
    result = library.search("refund", visibilities=PUBLIC, filters={"tag": ["billing"], "type": "article"})
    assert sorted(ids(result)) == ["article:1", "article:2"]
    assert library.search("refund", visibilities=PUBLIC, filters={"category": "support"}).total == 0


def test_a_query_of_filters_only_lists_newest_first(library):
    result = library.search("tag:support", visibilities=PUBLIC)
    assert ids(result) == ["module:5", "process:3"]
    assert result.total == 2


def test_facets_count_every_match_not_just_the_page(library):
    result = library.search("refund OR policy OR escalation", visibilities=PUBLIC, pagelen=1)
    assert result.total == 4 and len(result.hits) == 1
    assert dict(result.facets["type"]) == {"article": 2, "lesson": 1, "process": 1}
    assert dict(result.facets["tag"]) == {"billing": 2, "training": 1, "support": 1}
    assert dict(result.facets["category"]) == {"billing": 2, "training": 1, "support": 1}


def test_facet_labels_give_each_value_as_the_documents_write_it(library):
    result = library.search("refund OR policy OR escalation", visibilities=PUBLIC)
    assert result.facet_labels["category"] == {
        "billing": "Billing",
        "training": "Training",
        "support": "Support",
    }
    assert result.facet_labels["type"] == {"article": "article", "lesson": "lesson", "process": "process"}
    listing = library.search("category:support", visibilities=PUBLIC)
    assert listing.facet_labels["category"] == {"support": "Support"}


def test_a_name_with_a_comma_stays_one_keyword_found_by_name_or_keyword(engine):
    add(
        engine,
        doc(
            "article:1",
            "Swap a jacket",
            "Exchanges within thirty days.",
            category="Returns, exchanges",
            owner="Lovelace, Ada",
            tags=["Gift cards"],
        ),
    )
    result = engine.search("exchanges", visibilities=PUBLIC)
    assert dict(result.facets["category"]) == {"returns-exchanges": 1}
    assert result.facet_labels["category"] == {"returns-exchanges": "Returns, exchanges"}
    assert result.facet_labels["tag"] == {"gift-cards": "Gift cards"}
    assert result.hits[0].fields["category"] == "Returns, exchanges"
    for query in ('category:"returns, EXCHANGES"', "category:returns-exchanges", 'owner:"Lovelace, Ada"'):
        assert ids(engine.search(query, visibilities=PUBLIC)) == ["article:1"], query
    by_name = engine.search("jacket", visibilities=PUBLIC, filters={"category": "Returns, exchanges"})
    assert ids(by_name) == ["article:1"]
    assert engine.search("category:returns", visibilities=PUBLIC).total == 0


def test_a_facet_label_never_comes_from_a_document_the_reader_cannot_see(engine):
    add(
        engine,
        doc("article:1", "Quota memo", "Quota planning.", category="SALES", visibility="editors"),
        doc("article:2", "Quota basics", "Quota planning.", category="Sales"),
    )
    assert engine.search("quota", visibilities=PUBLIC).facet_labels["category"] == {"sales": "Sales"}
    assert engine.search("quota", visibilities={"editors"}).facet_labels["category"] == {"sales": "SALES"}


def test_a_renamed_label_shows_after_the_next_write(engine):
    add(engine, doc("article:1", "Quota basics", "Quota planning.", category="Sales team"))
    before = engine.search("quota", visibilities=PUBLIC)
    add(engine, doc("article:1", "Quota basics", "Quota planning.", category="Sales Team"))
    after = engine.search("quota", visibilities=PUBLIC)
    assert before.facet_labels["category"] == {"sales-team": "Sales team"}
    assert after.facet_labels["category"] == {"sales-team": "Sales Team"}


def test_pages_hold_the_next_hits(library):
    first = library.search("refund OR policy OR escalation", visibilities=PUBLIC, pagelen=2)
    second = library.search("refund OR policy OR escalation", visibilities=PUBLIC, pagelen=2, page=2)
    assert len(first.hits) == 2 and len(second.hits) == 2
    assert not set(ids(first)) & set(ids(second))
    assert first.pages == 2


def test_title_matches_rank_above_body_matches(engine):
    add(
        engine,
        doc("article:1", "Notes", "Something about renewal in passing, among many other words here."),
        doc("article:2", "Renewal", "How we run the yearly cycle."),
    )
    assert ids(engine.search("renewal", visibilities=PUBLIC))[0] == "article:2"


def test_snippets_mark_the_matched_words(library):
    hit = library.search("refund customer", visibilities=PUBLIC).hits[0]
    assert hit.snippet == "How to issue a <mark>refund</mark> to a <mark>customer</mark>."
    assert hit.title_html == "<mark>Refund</mark> policy"


# --------------------------------------------------------------------------------------------------
# Typos


def test_a_typo_retries_fuzzily_and_suggests_the_indexed_word(library):
    result = library.search("refnud", visibilities=PUBLIC)
    assert result.fuzzy is True
    assert result.suggestion == "refund"
    assert sorted(ids(result)) == ["article:1", "article:2"]
    assert "<mark>refund</mark>" in result.hits[0].snippet


def test_the_suggestion_keeps_the_rest_of_the_query(library):
    result = library.search("refnud policy", visibilities=PUBLIC)
    assert result.suggestion == "refund policy"
    assert ids(result) == ["article:1"]


def test_a_correct_query_is_not_corrected(library):
    result = library.search("refund", visibilities=PUBLIC)
    assert result.fuzzy is False and result.suggestion is None


def test_a_suggestion_is_written_as_the_documents_write_it(engine):
    add(engine, doc("article:1", "Escalations", "Escalations need a ticket."))
    result = engine.search("escalatoins", visibilities=PUBLIC)
    assert result.suggestion == "escalations"
    assert ids(result) == ["article:1"]


def test_nonsense_gets_no_suggestion(library):
    result = library.search("qqqxzv", visibilities=PUBLIC)
    assert result.total == 0 and result.suggestion is None


def test_a_typo_that_defeats_the_stemmer_is_corrected_to_the_word_one_edit_away(engine):
    # "customer" is indexed as its stem "custom", three edits from "custmer"; the word as typed is one.
    add(
        engine,
        doc("article:1", "Angry callers", "Calm an angry customer first."),
        doc("article:2", "Renewals", "Every customer renews once a year."),
        doc("article:3", "Holidays", "The office is closed."),
    )
    single = engine.search("custmer", visibilities=PUBLIC)
    assert single.suggestion == "customer" and sorted(ids(single)) == ["article:1", "article:2"]
    both = engine.search("angry custmer", visibilities=PUBLIC)
    assert both.suggestion == "angry customer" and ids(both) == ["article:1"]


def test_the_one_edit_correction_wins_over_a_more_common_word_two_edits_away(engine):
    # "read" is two edits from "refnd" and on more pages; "refund" is one edit away and is the correction.
    add(
        engine,
        doc("article:1", "Refund request", "Send the refund form."),
        *(doc(f"article:{n}", f"Reading {n}", "Read the notes before the call.") for n in range(2, 7)),
    )
    result = engine.search("refnd", visibilities=PUBLIC)
    assert result.suggestion == "refund"
    assert ids(result) == ["article:1"]


def test_among_corrections_equally_near_the_most_common_word_is_chosen(engine):
    add(
        engine,
        doc("article:1", "Gift cards", "A gift card never expires."),
        doc("article:2", "Card payments", "Card payments settle in two days."),
        doc("article:3", "Shopping", "The cart keeps items for a week."),
    )
    result = engine.search("carx", visibilities=PUBLIC)
    assert result.suggestion == "card"
    assert sorted(ids(result)) == ["article:1", "article:2"]


# --------------------------------------------------------------------------------------------------
# Visibility


@pytest.fixture
def mixed(engine):
    add(
        engine,
        doc(
            "article:1",
            "Pricing overview",
            "Public pricing for customers.",
            tags=["pricing"],
            category="Sales",
        ),
        doc(
            "article:2",
            "Pricing secrets",
            "Zebracorn discount rules for partners.",
            tags=["secret-deals"],
            category="Deals",
            visibility="editors",
        ),
        doc(
            "process:3",
            "Pricing approvals",
            "Zebracorn approvals need two people.",
            tags=["secret-deals"],
            category="Deals",
            visibility=["editors", "managers"],
        ),
    )
    return engine


def test_hidden_documents_are_not_found(mixed):
    assert ids(mixed.search("pricing", visibilities=PUBLIC)) == ["article:1"]
    assert mixed.search("zebracorn", visibilities=PUBLIC).total == 0
    assert mixed.search("zebracorn", visibilities={"managers"}).total == 1
    assert mixed.search("zebracorn", visibilities=EVERYONE).total == 2


def test_counts_and_facets_leave_hidden_documents_out(mixed):
    result = mixed.search("pricing", visibilities=PUBLIC)
    assert result.total == 1
    assert dict(result.facets["tag"]) == {"pricing": 1}
    assert dict(result.facets["category"]) == {"sales": 1}
    assert dict(result.facets["type"]) == {"article": 1}
    everyone = mixed.search("pricing", visibilities=EVERYONE)
    assert dict(everyone.facets["tag"]) == {"pricing": 1, "secret-deals": 2}


def test_filter_only_queries_respect_visibility(mixed):
    assert mixed.search("tag:secret-deals", visibilities=PUBLIC).total == 0
    assert mixed.search("tag:secret-deals", visibilities=EVERYONE).total == 2


def test_did_you_mean_never_comes_from_hidden_documents(mixed):
    hidden = mixed.search("zebracron", visibilities=PUBLIC)
    assert hidden.suggestion is None and hidden.total == 0
    seen = mixed.search("zebracron", visibilities=EVERYONE)
    assert seen.suggestion == "zebracorn" and seen.total == 2


def test_title_completions_only_offer_visible_titles(mixed):
    assert [s.title for s in mixed.suggest_titles("pric", visibilities=PUBLIC)] == ["Pricing overview"]
    assert sorted(s.title for s in mixed.suggest_titles("pric", visibilities=EVERYONE)) == [
        "Pricing approvals",
        "Pricing overview",
        "Pricing secrets",
    ]


def test_no_visibility_means_no_results(mixed):
    assert mixed.search("pricing", visibilities=set()).total == 0
    assert mixed.suggest_titles("pric", visibilities=[]) == []


def test_title_completion_uses_every_typed_word(mixed):
    assert [s.id for s in mixed.suggest_titles("pricing ov", visibilities=EVERYONE)] == ["article:1"]
    assert mixed.suggest_titles("pricing zz", visibilities=EVERYONE) == []


# --------------------------------------------------------------------------------------------------
# Malformed queries

MALFORMED = [
    "title:(",
    '"unclosed',
    "*",
    "AND OR NOT",
    "x" * 10_000,
    "a*" * 5000,
    "-",
    '"',
    "tag:",
    "(((",
    "OR",
    "NOT",
    "refund OR",
    "NOT NOT refund",
    "type:",
    'tag:"',
    ":::",
    "*?*",
    "\x00\x01",
    "🙂 refund",
    "lang:" + "é" * 300,
    "-" * 50,
    '""',
    "title:(refund",
    "?",
    "re?und",
]


@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_queries_never_raise(library, query):
    result = library.search(query, visibilities=PUBLIC)
    assert result.total == len(result.hits) or result.total > len(result.hits)


def test_malformed_queries_fall_back_to_their_plain_words(library):
    assert sorted(ids(library.search("title:(refund", visibilities=PUBLIC))) == ["article:1", "article:2"]
    assert ids(library.search('"refund policy', visibilities=PUBLIC)) == ["article:1"]
    assert sorted(ids(library.search("refund OR", visibilities=PUBLIC))) == ["article:1", "article:2"]


def test_long_queries_are_capped():
    parsed = parse_query("word " * 5000)
    assert len(parsed.groups) <= search_engine.MAX_CLAUSES


@pytest.fixture(scope="module")
def shared_engine(tmp_path_factory):
    eng = SearchEngine(tmp_path_factory.mktemp("hypothesis") / "index")
    add(
        eng,
        doc("article:1", "Refund policy", "How to issue a refund."),
        doc("article:2", "Kunde", "Kunden får svar.", language="nb"),
        doc("article:3", "客户", "客户成功", language="zh"),
    )
    yield eng
    eng.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_is_a_valid_query(shared_engine, text):
    result = shared_engine.search(text, visibilities=PUBLIC)
    assert 0 <= len(result.hits) <= result.total
    shared_engine.suggest_titles(text, visibilities=PUBLIC)


# --------------------------------------------------------------------------------------------------
# Writing: updates, deletes, concurrency


def test_an_update_replaces_the_old_text_for_the_same_searcher(engine):
    add(engine, doc("article:1", "Plan", "The old wording."))
    assert engine.search("old", visibilities=PUBLIC).total == 1
    add(engine, doc("article:1", "Plan", "The new wording."))
    assert engine.search("old", visibilities=PUBLIC).total == 0
    assert engine.search("new", visibilities=PUBLIC).total == 1
    assert engine.doc_count() == 1


def test_a_delete_removes_the_document(engine):
    add(engine, doc("article:1", "Plan", "Alpha."), doc("article:2", "Plan", "Alpha."))
    engine.apply({"article:1": None})
    assert ids(engine.search("alpha", visibilities=PUBLIC)) == ["article:2"]
    assert engine.doc_count() == 1


def test_many_small_commits_and_merges_never_show_stale_or_duplicate_documents(engine):
    # whoosh3's own Searcher.refresh() keeps old segments: this would show duplicates there.
    for version in range(25):
        engine.apply(
            {
                "article:1": doc("article:1", "Plan", f"Alpha version{version}."),
                f"article:{100 + version}": doc(f"article:{100 + version}", "Other", "Beta."),
            }
        )
        result = engine.search("alpha", visibilities=PUBLIC)
        assert ids(result) == ["article:1"]
        assert f"version{version}" in result.hits[0].snippet
    assert engine.doc_count() == 26
    assert engine.search("beta", visibilities=PUBLIC).total == 25


def test_another_engine_on_the_same_directory_sees_updates(tmp_path):
    with SearchEngine(tmp_path / "ix") as writer, SearchEngine(tmp_path / "ix") as reader:
        assert reader.search("alpha", visibilities=PUBLIC).total == 0
        add(writer, doc("article:1", "Plan", "Alpha."))
        assert reader.search("alpha", visibilities=PUBLIC).total == 1


def test_stored_ids_and_stamps_list_live_documents(engine):
    add(engine, doc("article:1", "A", "a text"), doc("article:2", "B", "b text", stamp="v7"))
    engine.apply({"article:1": None})
    assert engine.stored_ids_and_stamps() == {"article:2": "v7"}


def test_a_document_without_visibility_is_refused(engine):
    with pytest.raises(ValueError):
        engine.apply({"article:1": doc("article:1", "A", "a", visibility=[])})
    assert engine.doc_count() == 0


def _write_from_process(path: str, prefix: str, count: int) -> None:
    eng = SearchEngine(path, create=False, lock_timeout=60)
    for number in range(count):
        doc_id = f"{prefix}:{number}"
        eng.apply({doc_id: doc(doc_id, f"Doc {number}", f"Shared word and {prefix} number {number}.")})
    eng.close()


def test_concurrent_apply_from_several_processes_loses_nothing(tmp_path):
    path = tmp_path / "ix"
    SearchEngine(path).close()
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_from_process, args=(str(path), f"article{n}", 25)) for n in range(3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    with SearchEngine(path, create=False) as eng:
        assert eng.doc_count() == 75
        assert len(eng.stored_ids_and_stamps()) == 75
        assert eng.search("shared", visibilities=PUBLIC).total == 75


# --------------------------------------------------------------------------------------------------
# Rebuild


def corpus(word: str, count: int) -> list[dict]:
    return [doc(f"article:{n}", f"Page {n}", f"{word} text number {n}.") for n in range(count)]


def test_rebuild_swaps_in_a_new_index_while_another_thread_searches(tmp_path):
    eng = SearchEngine(tmp_path / "ix")
    eng.rebuild(corpus("alpha", 40))
    stop = threading.Event()
    seen: list[int] = []
    errors: list[BaseException] = []

    def searching() -> None:
        while not stop.is_set():
            try:
                seen.append(eng.search("text", visibilities=PUBLIC).total)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    thread = threading.Thread(target=searching)
    thread.start()
    try:
        for word in ("beta", "gamma", "delta"):
            assert eng.rebuild(corpus(word, 40)) == 40
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert seen and set(seen) == {40}
    assert eng.search("delta", visibilities=PUBLIC).total == 40
    assert eng.search("alpha", visibilities=PUBLIC).total == 0
    with SearchEngine(tmp_path / "ix") as other:
        assert other.search("delta", visibilities=PUBLIC).total == 40
    eng.close()


def test_another_process_view_follows_the_swap(tmp_path):
    first, second = SearchEngine(tmp_path / "ix"), SearchEngine(tmp_path / "ix")
    first.rebuild(corpus("alpha", 10))
    assert second.search("alpha", visibilities=PUBLIC).total == 10
    first.rebuild(corpus("beta", 12))
    assert second.search("beta", visibilities=PUBLIC).total == 12
    first.rebuild(corpus("gamma", 14))  # the index "second" had open is deleted now
    assert second.search("gamma", visibilities=PUBLIC).total == 14
    first.close()
    second.close()


def test_changes_applied_during_a_rebuild_are_replayed_into_the_new_index(tmp_path):
    eng = SearchEngine(tmp_path / "ix")
    other = SearchEngine(tmp_path / "ix")

    def documents():
        for number, item in enumerate(corpus("alpha", 20)):
            if number == 10:
                other.apply(
                    {
                        "article:99": doc("article:99", "Late", "Written during the rebuild."),
                        "article:3": None,
                    }
                )
            yield item

    assert eng.rebuild(documents()) == 20
    assert ids(eng.search("rebuild", visibilities=PUBLIC)) == ["article:99"]
    assert "article:3" not in eng.stored_ids_and_stamps()
    eng.close()
    other.close()


def test_a_large_rebuild_builds_in_parallel_and_finds_everything(tmp_path):
    docs = [
        doc(f"article:{n}", f"Page {n}", f"Common words and the unique marker{n}.")
        for n in range(search_engine.PARALLEL_MIN_DOCS + 300)
    ]
    with SearchEngine(tmp_path / "ix", procs=2) as eng:
        assert eng.rebuild(docs) == len(docs)
        assert eng.doc_count() == len(docs)
        assert eng.search("common", visibilities=PUBLIC).total == len(docs)
        assert ids(eng.search("marker77", visibilities=PUBLIC)) == ["article:77"]


def test_rebuild_skips_duplicate_ids(engine):
    assert engine.rebuild([doc("article:1", "A", "first"), doc("article:1", "A", "second")]) == 1


# --------------------------------------------------------------------------------------------------
# Missing and damaged indexes


def test_opening_a_missing_index_without_create_raises(tmp_path):
    with pytest.raises(IndexMissingError):
        SearchEngine(tmp_path / "nothing", create=False)


def test_a_deleted_index_directory_is_reported_as_missing(tmp_path):
    eng = SearchEngine(tmp_path / "ix")
    add(eng, doc("article:1", "A", "alpha"))
    assert eng.search("alpha", visibilities=PUBLIC).total == 1
    shutil.rmtree(tmp_path / "ix")
    with pytest.raises(IndexMissingError):
        eng.search("alpha", visibilities=PUBLIC)
    with pytest.raises(IndexMissingError):
        eng.doc_count()
    eng.close()


def test_truncated_segment_files_are_reported_as_corrupt(tmp_path):
    with SearchEngine(tmp_path / "ix") as eng:
        add(eng, *[doc(f"article:{n}", f"Page {n}", "alpha beta gamma " * 50) for n in range(30)])
    current = (tmp_path / "ix" / "CURRENT").read_text().strip()
    for file in (tmp_path / "ix" / current).iterdir():
        if file.suffix not in (".txt", ".toc") and "LOCK" not in file.name:
            with open(file, "r+b") as handle:
                handle.truncate(file.stat().st_size // 3)
    with SearchEngine(tmp_path / "ix") as eng:
        with pytest.raises(IndexCorruptError):
            eng.search("alpha", visibilities=PUBLIC)
        with pytest.raises(IndexCorruptError):
            eng.check(deep=True)


def test_a_garbled_current_pointer_is_reported_as_corrupt(tmp_path):
    with SearchEngine(tmp_path / "ix") as eng:
        (tmp_path / "ix" / "CURRENT").write_text("../../etc\n")
        with pytest.raises(IndexCorruptError):
            eng.search("alpha", visibilities=PUBLIC)


def test_rebuild_repairs_a_damaged_index(tmp_path):
    eng = SearchEngine(tmp_path / "ix")
    current = (tmp_path / "ix" / "CURRENT").read_text().strip()
    shutil.rmtree(tmp_path / "ix" / current)
    with pytest.raises(IndexMissingError):
        eng.search("alpha", visibilities=PUBLIC)
    assert eng.rebuild(corpus("alpha", 5)) == 5
    assert eng.search("alpha", visibilities=PUBLIC).total == 5
    eng.close()


# --------------------------------------------------------------------------------------------------
# Snippet escaping


def test_snippets_and_titles_escape_user_html(engine):
    add(
        engine,
        doc(
            "article:1",
            'Tricky <b onmouseover="alert(1)">title</b>',
            'Paste `<b onmouseover="alert(1)">` into the box, or &lt;img src=x onerror=alert(2)&gt;.',
        ),
    )
    hit = engine.search("onmouseover", visibilities=PUBLIC).hits[0]
    for html_text in (hit.snippet, hit.title_html):
        without_marks = re.sub(r"</?mark>", "", html_text)
        assert "<" not in without_marks and ">" not in without_marks
    assert "&lt;b <mark>onmouseover</mark>=&quot;alert(1)&quot;&gt;" in hit.snippet
    assert "&lt;img src=x onerror=alert(2)&gt;" in hit.snippet
    assert hit.title_html == "Tricky &lt;b <mark>onmouseover</mark>=&quot;alert(1)&quot;&gt;title&lt;/b&gt;"


def test_make_snippet_picks_the_passage_with_the_most_matches():
    text = "intro " * 100 + "refund policy here " + "filler " * 100
    start = text.index("refund")
    snippet = make_snippet(text, [(start, start + 6), (start + 7, start + 13)])
    assert "<mark>refund</mark> <mark>policy</mark>" in snippet
    assert snippet.startswith("…") and snippet.endswith("…")
    assert len(re.sub(r"</?mark>", "", snippet)) <= search_engine.SNIPPET_CHARS + 2


# --------------------------------------------------------------------------------------------------
# Locks


def test_apply_waits_for_the_lock_and_then_reports_busy(tmp_path):
    with SearchEngine(tmp_path / "ix", lock_timeout=0.3) as eng:
        current = (tmp_path / "ix" / "CURRENT").read_text().strip()
        holder = open_dir(str(tmp_path / "ix" / current), schema=SCHEMA).writer()
        try:
            with pytest.raises(search_engine.IndexBusyError):
                add(eng, doc("article:1", "A", "alpha"))
        finally:
            holder.cancel()
        add(eng, doc("article:1", "A", "alpha"))
        assert eng.doc_count() == 1


def _hold_lock_and_die(path: str) -> None:
    current = (Path(path) / "CURRENT").read_text().strip()
    open_dir(str(Path(path) / current), schema=SCHEMA).writer()
    os._exit(0)  # killed while holding the write lock: no release, no cleanup


def test_a_lock_held_by_a_dead_process_does_not_block_writers(tmp_path):
    SearchEngine(tmp_path / "ix").close()
    process = multiprocessing.get_context("spawn").Process(
        target=_hold_lock_and_die, args=(str(tmp_path / "ix"),)
    )
    process.start()
    process.join(timeout=120)
    with SearchEngine(tmp_path / "ix", lock_timeout=5) as eng:
        add(eng, doc("article:1", "A", "alpha"))
        assert eng.search("alpha", visibilities=PUBLIC).total == 1


def test_warming_changes_no_result(library):
    before = library.search("refnud", visibilities=PUBLIC)
    library.warm()
    after = library.search("refnud", visibilities=PUBLIC)
    assert (ids(before), before.suggestion) == (ids(after), after.suggestion) == (ids(after), "refund")


@pytest.mark.parametrize(
    ("family", "text", "query", "expected"),
    [
        ("en", "Escalations and escalated issues", "escalation", ["Escalations"]),
        ("en", "Our policy, our policies", "policy", ["policy", "policies"]),
        ("fr", "Un café au Café.", "cafe", ["café", "Café"]),
        ("no", "Kunden og kundene", "kunde", ["Kunden", "kundene"]),
        ("cjk", "我们的客户成功", "客户成功", ["客户成功"]),
        ("plain", "ग्राहक सफलता टीम", "सफलता", ["सफलता"]),
        ("en", "snake_case_name", "case", ["case"]),
        ("en", "recase showcase case", "case", ["case"]),
    ],
)
def test_find_spans_finds_the_words_behind_index_terms(family, text, query, expected):
    terms = analyzer_for(family).terms(query)
    spans = merge_spans(search_engine.find_spans(text, family, terms))
    assert [text[s:e] for s, e in spans] == expected


def test_an_index_written_with_another_schema_version_must_be_rebuilt(tmp_path):
    with SearchEngine(tmp_path / "ix") as eng:
        add(eng, doc("article:1", "A", "alpha"))
        current = (tmp_path / "ix" / "CURRENT").read_text().strip()
        (tmp_path / "ix" / current / search_engine.META_FILE).write_text("schema 0\n")
        eng.close()
        with pytest.raises(IndexCorruptError, match="rebuild"):
            eng.search("alpha", visibilities=PUBLIC)
        eng.rebuild([doc("article:1", "A", "alpha")])
        assert eng.search("alpha", visibilities=PUBLIC).total == 1


def test_threads_can_search_while_another_thread_writes(engine):
    add(engine, *corpus("alpha", 30))
    errors: list[BaseException] = []
    totals: list[int] = []

    def searching() -> None:
        try:
            for _ in range(40):
                totals.append(engine.search("alpha text", visibilities=PUBLIC).total)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=searching) for _ in range(3)]
    for thread in threads:
        thread.start()
    for number in range(30, 45):
        add(engine, doc(f"article:{number}", f"Page {number}", f"alpha text number {number}."))
    for thread in threads:
        thread.join()
    assert errors == []
    assert totals and min(totals) >= 30 and max(totals) <= 45
    assert engine.search("alpha text", visibilities=PUBLIC).total == 45
