"""Words of an article's own and slugs: typographic punctuation counts as the plain kind, in every path."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kms.articles.services.substance import _AS_SPACE, own_words
from kms.markdown import slug_words, slugify

TYPOGRAPHIC = sorted(chr(code) for code in _AS_SPACE)
PLAIN_SEPARATORS = " -.,;:!?'\"()/"


def test_curly_quotes_dashes_and_emoji_count_as_the_plain_punctuation_they_stand_for():
    plain = 'It\'s done - really... "Refunds" go to the team (see 2024 notes) -> escalate'
    typed = "It\u2019s done \u2014 really\u2026 \u201cRefunds\u201d go to the team (see 2024 notes) \u2192 escalate \u2705"
    assert own_words(plain, frozenset()) == own_words(typed, frozenset()) == 12


def test_letters_digits_and_marks_outside_ascii_still_count_as_words():
    assert own_words("Café crème — Ärger", frozenset()) == 3
    assert own_words("返金の手順", frozenset()) == 5  # one word per character in unspaced scripts
    assert own_words("a\ufe0fb", frozenset()) == 1  # a variation selector is a mark: it joins, not splits


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.text(alphabet="abcXYZ019_", min_size=1, max_size=6), min_size=1, max_size=8),
    st.lists(
        st.tuples(st.sampled_from(PLAIN_SEPARATORS), st.sampled_from(TYPOGRAPHIC)), min_size=8, max_size=8
    ),
)
def test_a_typographic_separator_never_changes_the_count(words, separators):
    plain = "".join(word + separators[i][0] for i, word in enumerate(words))
    typed = "".join(word + separators[i][1] for i, word in enumerate(words))
    assert own_words(typed, frozenset()) == own_words(plain, frozenset())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_an_ascii_text_has_the_same_slug_words_as_the_general_walk_gives(text):
    # " é" sends the text down the per-character walk and adds one word, "é", at the end.
    assert slug_words(text) == slug_words(text + " \u00e9")[:-1]


def test_slugs_of_plain_and_accented_titles():
    assert slugify("Refund_request -- v2!") == "refund-request-v2"
    assert slugify("Crème brûlée: how-to") == "crème-brûlée-how-to"
