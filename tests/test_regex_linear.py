"""Every step that processes user text runs in linear time: 200 KB of its worst characters take well under a second.

A pattern with overlapping or nested quantifiers can take minutes on a page of `[` or backticks, which hangs the
request or the index drain that meets it (issue 13 item 1). Each function below is fed 200 KB of the characters
and short sequences that make such patterns backtrack; a quadratic pattern takes tens of seconds here.

kms.markdown.render has its own checks in tests/test_render_linear.py (linear processors plus a time limit).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from wtforms.validators import ValidationError

from kms import markdown
from kms.articles.services.content import _key_line
from kms.auth.services import _validate_user_fields
from kms.errors import Invalid
from kms.hiring.services.candidates import _candidate_fields
from kms.hiring.services.rubric import clean_trait
from kms.search import services as search_services
from kms.search.engine.query import parse_query
from kms.search.engine.snippets import find_spans, make_snippet
from kms.search.plaintext import strip_markdown
from kms.search.schema import analyzer_for, prepare_document
from kms.search.views.pages import safe_html
from kms.training.forms import parse_windows
from kms.training.services.catalog import _tags

SIZE = 200_000
BOUND_SECONDS = 1.0

# Single characters that open or close Markdown, HTML or query syntax, and short sequences that start a construct
# again and again without closing it.
WORST = [
    "[",
    "]",
    "*",
    "_",
    "~",
    "`",
    "<",
    ">",
    "(",
    ")",
    "!",
    "\\",
    "#",
    "-",
    "|",
    "&",
    ":",
    '"',
    "@",
    ".",
    " ",
    "\t",
    "\n",
    "a",
    "[](",
    "![](",
    "[a](",
    "[a][",
    "![",
    "](",
    "[a]",
    "<!--",
    "<a ",
    "<http:",
    "``a",
    "`a",
    "*a ",
    "_a ",
    "~~a ",
    "# a ",
    "a@",
    "a.",
    "-a",
    "q-",
    "mon ",
    "[\n",
    "> ",
    "1. ",
]


def worst_texts():
    for chars in WORST:
        text = (chars * (SIZE // len(chars) + 1))[:SIZE]
        yield pytest.param(text, id=repr(chars))
    # A run that almost closes a construct: a long line between an opener and a character that ends it wrongly.
    yield pytest.param("# a" + " " * SIZE + "b", id="heading with a long gap")
    yield pytest.param("```" + "`" * SIZE, id="one line of backticks")
    yield pytest.param("a@" + "a." * (SIZE // 2) + " ", id="email with a trailing space")


def _expect_invalid(call: Callable[[], object]) -> None:
    try:
        call()
    except (Invalid, ValidationError, ValueError):
        pass


def _key_line_of(tmp_path, text: str) -> None:
    path = tmp_path / "front.md"
    path.write_text(text, encoding="utf-8")
    _key_line(path, "owner")


FUNCTIONS: dict[str, Callable] = {
    "plain text for the index": strip_markdown,
    "index document": lambda text, _: prepare_document(
        {"id": "article:1", "visibility": "public", "title": text[:300], "body": text}
    ),
    "analyzer": lambda text, _: analyzer_for("en").terms(text),
    "snippet": lambda text, _: make_snippet(text, find_spans(text, "en", {"refund", "a"})),
    "query parser": lambda text, _: parse_query(text),
    "logged query": lambda text, _: search_services.normalize_query(text),
    "gap process name": lambda text, _: search_services._process_name(text),
    "search result html": lambda text, _: safe_html(text),
    "slug": lambda text, _: markdown.slugify(text),
    "front matter key line": lambda text, tmp_path: _key_line_of(tmp_path, text),
    "account email": lambda text, _: _expect_invalid(
        lambda: _validate_user_fields(text, "Name", "member", "UTC")
    ),
    "candidate email": lambda text, _: _expect_invalid(lambda: _candidate_fields("Name", text, "", "", "")),
    "trait key": lambda text, _: _expect_invalid(lambda: clean_trait({"key": text}, "rubric")),
    "module tags": lambda text, _: _expect_invalid(lambda: _tags([text])),
    "shadowing windows": lambda text, _: _expect_invalid(lambda: parse_windows(text)),
}


@pytest.mark.parametrize("text", list(worst_texts()))
@pytest.mark.parametrize("name", FUNCTIONS)
def test_user_text_is_processed_in_linear_time(name, text, tmp_path):
    """200 KB of one construct's worst characters finish well under a second (a quadratic pattern needs minutes)."""
    function = FUNCTIONS[name]
    # CPU time of this process, not the wall clock: a neighbour's load must not decide it (everything here runs
    # in this process; a quadratic pattern costs tens of CPU seconds).
    started = time.process_time()
    if name == "plain text for the index":
        function(text)
    else:
        function(text, tmp_path)
    elapsed = time.process_time() - started
    assert elapsed < BOUND_SECONDS, f"{name} took {elapsed:.2f} s on 200 KB of {text[:8]!r}…"


def test_plain_text_still_drops_markup_from_the_worst_inputs():
    """The linear rules still strip what they stripped: links, images, code spans, comments, headings."""
    text = strip_markdown(
        "# Refunds #\n\n[the form](http://x.test/(a)) ![chart](c.png) `<b>code</b>` "
        "<!-- hidden --> <https://kms.test> [ref][1] ``a ` b``\n\n```\nfenced()\n```"
    )
    assert text.split("\n") == [
        "Refunds",
        "the form chart <b>code</b> https://kms.test ref a ` b",
        "fenced()",
    ]
