"""Is this HTML inert? Parse it (html.parser, as a browser tokenises tags and attributes, never regexes over
the raw string) and list everything that could run script: script-like elements, event handler attributes and
javascript:, vbscript: or data:text/html URLs.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "data"
PAYLOAD_FILES = ("xss_payloads.txt", "xss_payloads_extra.txt")  # the Markdown corpus and this suite's own

SCRIPTABLE_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "style",
    "template",
    "portal",
}
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "data",
    "xlink:href",
    "poster",
    "background",
    "codebase",
    "cite",
    "longdesc",
    "usemap",
    "ping",
    "manifest",
    "lowsrc",
    "dynsrc",
    "srcset",
    "icon",
}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "data:image/svg", "livescript:")


def read_payloads(name: str) -> list[str]:
    path = DATA / name
    if not path.exists():
        return []
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_payloads() -> list[str]:
    """Every distinct non-blank line of the payload files that exist (the handbook's xss_payloads.txt and
    this suite's xss_payloads_extra.txt overlap a little; each payload runs once)."""
    return list(dict.fromkeys(line for name in PAYLOAD_FILES for line in read_payloads(name)))


def _scheme_of(value: str) -> str:
    # Browsers drop ASCII whitespace and control characters inside a URL's scheme, and ignore case.
    return "".join(ch for ch in value if ord(ch) > 0x20).lower()


class _Inspector(HTMLParser):
    def __init__(self, own_script_prefix: str):
        super().__init__(convert_charrefs=True)
        self.own_script_prefix = own_script_prefix
        self.problems: list[str] = []
        self.text: list[str] = []
        self._in_own_script = False

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def _check(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "script" and values.get("src", "").startswith(self.own_script_prefix) and len(values) <= 3:
            self._in_own_script = True  # the site's own static script, e.g. /static/kms.js
        elif tag in SCRIPTABLE_TAGS:
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.problems.append("<meta http-equiv=refresh>")
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name}= on <{tag}>")
            elif name == "srcdoc":
                self.problems.append(f"srcdoc= on <{tag}>")
            elif name in URL_ATTRIBUTES and _scheme_of(value).startswith(BAD_SCHEMES):
                self.problems.append(f"{name}={value!r} on <{tag}>")
            elif name == "style" and any(bad in _scheme_of(value) for bad in ("javascript:", "expression(")):
                self.problems.append(f"style={value!r} on <{tag}>")

    def handle_data(self, data):
        if self.lasttag == "script" and self._in_own_script and data.strip():
            self.problems.append("inline code inside the site's own <script>")
        self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_own_script = False


def inspect(html: str, own_script_prefix: str = "/static/") -> tuple[list[str], str]:
    """(problems found, the page's visible text) for a page or fragment."""
    parser = _Inspector(own_script_prefix)
    parser.feed(html)
    parser.close()
    return parser.problems, "".join(parser.text)


def assert_inert(html: str, where: str) -> str:
    """Fail listing every executable construct in `html`; return its text for further checks."""
    problems, text = inspect(html)
    assert not problems, f"{where}: executable content in the HTML: {problems}"
    return text
