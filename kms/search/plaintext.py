"""Markdown -> plain text for indexing and snippets: strip_markdown()."""

from __future__ import annotations

import html
import re

# --------------------------------------------------------------------------------------------------
# Markdown -> plain text, for indexing and snippets.

_FENCED_BLOCK_RE = re.compile(
    r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL
)
_CODE_RE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")
_IMAGE_RE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK_RE = re.compile(r"\[([^\]\n]+)\]\((?:[^()\n]|\([^)\n]*\))*\)")
_REF_LINK_RE = re.compile(r"\[([^\]\n]+)\]\[[^\]\n]*\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^>\s]+)>")
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
_STAR_EMPHASIS_RE = re.compile(r"\*{1,3}(?=[^\s*])([^*\n]*?[^\s*])\*{1,3}")
_STRIKE_RE = re.compile(r"~~(?=\S)([^~\n]*?\S)~~")
# Starts with the literal so the regex engine can skip ahead; "(?<!\w_)" keeps snake_case intact.
_UNDERSCORE_EMPHASIS_RE = re.compile(r"_(?<!\w_)_{0,2}(?=[^\s_])([^_\n]*?[^\s_])_{1,3}(?!\w)")
# Line-level syntax, applied to one stripped line at a time (anchored patterns over a whole page
# with re.M are tried at every character and cost 10x more).
_RULE_LINE_RE = re.compile(
    r"(?:[-*_=][ \t]*){3,}|=+|-{2,}|\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?"
)
_HEADING_LINE_RE = re.compile(r"#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?")
_LIST_LINE_RE = re.compile(r"(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_REF_DEF_LINE_RE = re.compile(r"\[[^\]]+\]:[ \t]+\S.*")


def _strip_line(line: str) -> str:
    line = line.strip()
    if not line:
        return ""
    first = line[0]
    if first in "-*_=|:" and _RULE_LINE_RE.fullmatch(line):
        return ""
    while first == ">":
        line = line[1:].lstrip()
        if not line:
            return ""
        first = line[0]
    if first == "#":
        heading = _HEADING_LINE_RE.fullmatch(line)
        if heading:
            line = heading.group(1)
    elif first in "-*+" or first.isdigit():
        marker = _LIST_LINE_RE.match(line)
        if marker:
            line = line[marker.end() :]
    elif first == "[" and _REF_DEF_LINE_RE.fullmatch(line):
        return ""
    if "|" in line:
        line = line.replace("|", " ")
    if "  " in line or "\t" in line or "\u00a0" in line:
        return " ".join(line.split())
    return line


def strip_markdown(text: str | None) -> str:
    """Markdown -> readable plain text: markup removed; link and image text and code kept verbatim.

    The result is plain text (entities decoded, so it may contain '<'): escape it before use in HTML."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # Code is content, not markup: set it aside so the HTML and emphasis rules leave it alone.
    code: list[str] = []

    def keep(content: str) -> str:
        code.append(content)
        return f"\x00{len(code) - 1}\x00"

    if "```" in text or "~~~" in text:
        text = _FENCED_BLOCK_RE.sub(lambda m: keep(m.group(2)), text)
    if "`" in text:
        text = _CODE_RE.sub(lambda m: keep(m.group(2)), text)
    if "<" in text:
        text = _HTML_COMMENT_RE.sub(" ", text)
        text = _AUTOLINK_RE.sub(r"\1", text)
        text = _HTML_TAG_RE.sub(" ", text)
    if "[" in text:
        text = _IMAGE_RE.sub(r"\1", text)
        text = _LINK_RE.sub(r"\1", text)
        text = _REF_LINK_RE.sub(r"\1", text)
    text = "\n".join(filter(None, map(_strip_line, text.split("\n"))))
    if "*" in text:
        text = _STAR_EMPHASIS_RE.sub(r"\1", text)
    if "~~" in text:
        text = _STRIKE_RE.sub(r"\1", text)
    if "_" in text:
        text = _UNDERSCORE_EMPHASIS_RE.sub(r"\1", text)
    if "&" in text:
        text = html.unescape(text)
    if code:
        text = _PLACEHOLDER_RE.sub(lambda m: code[int(m.group(1))], text)
    return text.strip()
