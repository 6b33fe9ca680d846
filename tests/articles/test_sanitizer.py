"""Markdown from authors never puts script, event handlers or dangerous URLs on a page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kms import markdown
from kms.auth.models import Role
from tests.conftest import login

PAYLOADS = [
    line
    for line in (Path(__file__).parent.parent / "data" / "xss_payloads.txt")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]
FORBIDDEN_TAGS = {
    "script",
    "iframe",
    "style",
    "form",
    "object",
    "embed",
    "meta",
    "base",
    "link",
    "svg",
    "math",
    "body",
    "noscript",
    "button",
    "textarea",
    "select",
}
SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.I)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name in {"style", "srcdoc", "background", "formaction", "xlink:href"}:
                self.problems.append(f"{tag}[{name}]")
            if name in {"href", "src"}:
                squashed = re.sub(r"[\s\x00-\x1f]", "", value)
                scheme = SCHEME.match(squashed)
                if (
                    scheme and scheme.group(1).lower() not in {"http", "https", "mailto"}
                ) or "&#" in squashed:
                    self.problems.append(f"{tag}[{name}={value!r}]")
            if name == "id" and not value.startswith("h-"):
                self.problems.append(f"{tag}[id={value!r}]")
            if tag == "input" and name == "type" and value != "checkbox":
                self.problems.append(f"input[type={value}]")


def problems_in(html: str) -> list[str]:
    collector = _Collector()
    collector.feed(html)
    return collector.problems


def test_the_payload_corpus_has_at_least_twenty_entries():
    assert len(PAYLOADS) >= 20


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_payload_survives_rendering(payload):
    html = markdown.render(payload)
    assert problems_in(html) == [], html


def test_the_whole_corpus_in_one_document_renders_clean():
    html = markdown.render("\n\n".join(PAYLOADS))
    assert problems_in(html) == []
    assert "<script" not in html.lower()


def test_useful_markdown_still_renders():
    html = markdown.render(
        "## Steps\n\n- [x] done\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "[Refund](https://example.com/r) and [[Refund request]]\n\n```\ncode\n```"
    )
    assert '<h2 id="h-steps">' in html
    assert 'type="checkbox"' in html and "<table>" in html
    assert 'href="https://example.com/r"' in html and 'href="/handbook/articles/refund-request"' in html


def test_an_article_page_shows_the_corpus_without_any_live_markup(client, make_user, make_article, app):
    author = make_user(Role.AUTHOR)
    article = make_article("Attack surface", "\n\n".join(PAYLOADS), actor=author)
    login(client, author)
    page = client.get(f"/handbook/articles/{article.slug}").get_data(as_text=True)
    prose = page.split('<div class="prose"', 1)[1].split("</article>", 1)[0]
    assert problems_in(prose) == []
    assert "Content-Security-Policy" in client.get(f"/handbook/articles/{article.slug}").headers


def test_task_list_checkboxes_are_named_for_screen_readers_and_authors_cannot_name_them_otherwise():
    html = markdown.render("- [x] Called the customer\n- [ ] Logged the call\n")
    boxes = re.findall(r"<input[^>]*>", html)
    assert len(boxes) == 2
    assert 'aria-label="done"' in boxes[0] and "checked" in boxes[0]
    assert 'aria-label="not done"' in boxes[1] and "checked" not in boxes[1]
    forged = markdown.render('<input type="checkbox" aria-label="click me to win">')
    assert "click me" not in forged
