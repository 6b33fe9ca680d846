"""Markdown -> plain text for indexing and snippets: strip_markdown()."""

from __future__ import annotations

import html
import re

# --------------------------------------------------------------------------------------------------
# Markdown -> plain text, for indexing and snippets.

# Every pattern here meets whole pages of user text, so none may backtrack: a construct's text excludes its
# own opener ("[" in link text, "(" in a link target), and a run that decides the match is atomic. A page of
# 100,000 "[" or backticks then costs one pass instead of minutes.
_FENCED_BLOCK_RE = re.compile(
    r"^[ \t]*((?>`{3,})|(?>~{3,}))[^\n]*\n(.*?)(?:^[ \t]*\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL
)
_BACKTICKS_RE = re.compile(r"`+")
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")
_IMAGE_RE = re.compile(r"!\[([^\[\]\n]*)\]\([^()\n]*\)")
# Runs of target characters taken whole (possessive: nothing to give back, as a ")" can only end the target).
_LINK_RE = re.compile(r"\[([^\[\]\n]+)\]\((?:[^()\n]++|\([^()\n]*+\))*+\)")
_REF_LINK_RE = re.compile(r"\[([^\[\]\n]+)\]\[[^\[\]\n]*\]")
_AUTOLINK_RE = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]+)>")
_HTML_TAG_RE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
# "\*\*{0,2}" is "\*{1,3}" with a literal first character, which the regex engine looks for at C speed
# instead of trying the pattern at every character (5x faster on the handbook). Greedy up to the next "*"
# (the text holds none, so only the character before it can end the text).
_STAR_EMPHASIS_RE = re.compile(r"\*\*{0,2}(?=[^\s*])([^*\n]*[^\s*])\*{1,3}")
_STRIKE_RE = re.compile(r"~~(?=\S)([^~\n]*?\S)~~")
# Starts with the literal so the regex engine can skip ahead; "(?<!\w_)" keeps snake_case intact.
_UNDERSCORE_EMPHASIS_RE = re.compile(r"_(?<!\w_)_{0,2}(?=[^\s_])([^_\n]*?[^\s_])_{1,3}(?!\w)")
# Line-level syntax, applied to one stripped line at a time (anchored patterns over a whole page
# with re.M are tried at every character and cost 10x more).
_RULE_LINE_RE = re.compile(
    r"(?:[-*_=][ \t]*){3,}|=+|-{2,}|\|?[ \t]*:?-{2,}:?[ \t]*(?:\|[ \t]*:?-{2,}:?[ \t]*)*\|?"
)
_HEADING_MARK_RE = re.compile(r"#{1,6}[ \t]+")
_LIST_LINE_RE = re.compile(r"(?:[-*+]|\d{1,9}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_REF_DEF_LINE_RE = re.compile(r"\[[^\]]+\]:[ \t]+\S.*")


def _heading_text(text: str) -> str:
    # An optional closing run of "#" after a space ("## Title ##"), removed without a regex: a pattern
    # for "spaces then hashes at the end" retries every space of a long gap.
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1] in " \t"):
        return bare.rstrip(" \t")
    return text


def _without_comments(text: str) -> str:
    """HTML comments replaced by a space; an unclosed one is left as it is (found with str.find, once)."""
    parts, start = [], 0
    while (opening := text.find("<!--", start)) != -1:
        closing = text.find("-->", opening + 4)
        if closing == -1:
            break
        parts.append(text[start:opening])
        parts.append(" ")
        start = closing + 3
    parts.append(text[start:])
    return "".join(parts)


def _code_spans(text: str, keep) -> str:
    """Code spans (a run of backticks up to the next run of the same length) replaced by keep(content).

    One pass over the runs: each length's runs are listed once, so an unclosed run costs a lookup,
    not a scan to the end of the page."""
    runs = [(m.start(), m.end()) for m in _BACKTICKS_RE.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for number, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(number)
    seen = {length: 0 for length in by_length}  # how far each length's list has been passed
    parts, done, number = [], 0, 0
    while number < len(runs):
        start, end = runs[number]
        same = by_length[end - start]
        while seen[end - start] < len(same) and same[seen[end - start]] <= number:
            seen[end - start] += 1
        if seen[end - start] == len(same):
            number += 1  # no closing run: the backticks are literal
            continue
        closer = same[seen[end - start]]
        parts.append(text[done:start])
        parts.append(keep(text[end : runs[closer][0]]))
        done = runs[closer][1]
        number = closer + 1
    parts.append(text[done:])
    return "".join(parts)


def _strip_line(line: str) -> str:
    line = line.strip()
    if not line:
        return ""
    first = line[0]
    if first in "-*_=|:" and _RULE_LINE_RE.fullmatch(line):
        return ""
    if first == ">":
        # Nested quote markers ("> > >"), skipped by index: slicing the line once per marker is quadratic.
        position = 0
        while position < len(line) and (line[position] == ">" or line[position].isspace()):
            position += 1
        line = line[position:]
        if not line:
            return ""
        first = line[0]
    if first == "#":
        mark = _HEADING_MARK_RE.match(line)
        if mark:
            line = _heading_text(line[mark.end() :])
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
        text = _code_spans(text, keep)
    if "<" in text:
        text = _without_comments(text)
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
