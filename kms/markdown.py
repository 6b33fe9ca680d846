"""Markdown text -> sanitized HTML: Python-Markdown renders, nh3 keeps only an allowlist."""

from __future__ import annotations

import bisect
import functools
import gc
import hashlib
import html
import multiprocessing
import os
import re
import signal
import stat
import threading
import unicodedata
import xml.etree.ElementTree as etree
from urllib.parse import quote

import markdown as md
import nh3
from markdown import inlinepatterns, treeprocessors, util
from markdown.extensions import Extension, fenced_code
from markdown.treeprocessors import Treeprocessor

from kms.markdown_video import VideoExtension

MAX_MARKDOWN = 256 * 1024
ARTICLE_LINK_BASE = "/handbook/articles/"

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "s",
    "del",
    "ins",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "img",
    "div",
    "span",
    "sup",
    "sub",
    "dl",
    "dt",
    "dd",
    "kbd",
    "mark",
    "abbr",
    "details",
    "summary",
    "input",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "input": {"type", "checked", "disabled", "aria-label"},
    "ol": {"start"},
    "abbr": {"title"},
    "*": {"id", "class"},
}
SAFE_CLASSES = re.compile(
    r"^(admonition|admonition-title|note|tip|warning|danger|important|info|toc|task-list|"
    r"task-list-item|wikilink|headerlink|language-[a-z0-9+-]{1,20})$"
)
SAFE_ID = re.compile(r"^h-[a-z0-9_-]{1,80}$")


def _slug(value: str, separator: str = "-") -> str:
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^\w\s-]", "", value).strip().lower()
    return re.sub(r"[\s_-]+", separator, value)


SLUG_MAX = 80


def _slug_char(char: str) -> bool:
    # Letters, digits and combining marks of any script: a Devanagari vowel sign or virama is part of its word.
    return unicodedata.category(char)[0] in "LNM"


_ASCII_SLUG_WORD = re.compile(r"[a-z0-9]+")


def slug_words(value: str) -> list[str]:
    """The words of a text as a slug sees them: NFKC, case-folded, runs of letters, digits and marks."""
    if value.isascii():  # NFKC leaves ASCII as it is, and its letters, digits and marks are [a-z0-9] folded
        return _ASCII_SLUG_WORD.findall(value.lower())
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value or "").casefold())
    words, current = [], []
    for char in folded:  # one pass, no regular expression: linear whatever the text
        if _slug_char(char):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return words


def slugify(value: str) -> str:
    """The URL slug of a title: its words in any alphabet, case-folded, joined by hyphens ("" when it has none).

    Flask's url_for percent-encodes the non-ASCII letters on the wire; browsers show them as typed.
    """
    slug = ""
    for word in slug_words(value):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > SLUG_MAX:
            return slug or word[:SLUG_MAX]
        slug = candidate
    return slug


def is_slug(value: str) -> bool:
    """True when value is already a slug: words of letters, digits and marks joined by single hyphens."""
    return bool(value) and len(value) <= 100 and "-".join(slug_words(value)) == value


def free_slug(base: str, taken, fallback: str, source: str) -> str:
    """The first of base, base-2, base-3... that `taken(slug)` says is free.

    Without a base (a title of only punctuation or emoji) the slug is `fallback` plus a short hash of `source`,
    so two such titles never share a constant address.
    """
    if not base:
        base = f"{fallback}-{hashlib.sha256(source.encode('utf-8')).hexdigest()[:8]}"
    candidate, number = base, 2
    while taken(candidate):
        suffix = f"-{number}"
        candidate, number = base[: 100 - len(suffix)] + suffix, number + 1
    return candidate


def _heading_id(value: str, separator: str) -> str:
    # A prefix keeps author-chosen heading ids from clobbering the page's own element ids.
    return "h-" + (_slug(value, separator)[:60] or "section")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [name for name in value.split() if SAFE_CLASSES.match(name)]
        return " ".join(kept) or None
    if attribute == "id":
        return value if SAFE_ID.match(value) else None
    if tag == "input":
        if attribute == "type":
            return "checkbox" if value == "checkbox" else None
        if attribute == "aria-label":
            return value if value in TASK_LABELS else None
        return value
    return value


TASK_LABELS = ("done", "not done")  # what a screen reader says for a task's checkbox (it has no <label>)


class _TaskLists(Treeprocessor):
    """`- [ ] item` and `- [x] item` become disabled checkboxes, named "done" or "not done"."""

    MARK = re.compile(r"^\[([ xX])\]\s+")

    def run(self, root: etree.Element) -> None:
        for item in root.iter("li"):
            target = item[0] if len(item) and item[0].tag == "p" and not (item.text or "").strip() else item
            match = self.MARK.match(target.text or "")
            if not match:
                continue
            target.text = target.text[match.end() :]
            done = match.group(1).lower() == "x"
            box = etree.Element(
                "input",
                {"type": "checkbox", "disabled": "disabled", "aria-label": TASK_LABELS[0 if done else 1]},
            )
            if done:
                box.set("checked", "checked")
            box.tail = " " + (target.text or "")
            target.text = ""
            target.insert(0, box)
            item.set("class", "task-list-item")


class TaskListExtension(Extension):
    def extendMarkdown(self, markdown) -> None:  # noqa: N802 - Python-Markdown's API name
        markdown.treeprocessors.register(_TaskLists(markdown), "kms_tasklists", 5)


# --- Linear-time links and images -------------------------------------------------------------------------
# Python-Markdown finds the `]` of `[text]` and the `)` of `(url)` by scanning forward from every candidate, and
# re-scans the whole paragraph after each link it makes: a paragraph of 3,000 links took 90 s, 20 KB of `[](` 12 s.
# The processors below give the same result from tables computed once per stretch of text (issue 13 item 1).


class _DropEnds:
    """ends[pos]: the distance from the end of `text` to just past the closer that ends the nesting level at
    `pos` (None when none does). Built from the opener and closer positions alone (a regular expression finds
    them), so a long stretch with few brackets costs little; a position between two of them has the answer of
    the next one, since the depth does not change in between."""

    __slots__ = ("positions", "values")

    def __init__(self, text: str, opener: str, closer: str) -> None:
        size = len(text)
        self.positions = [match.start() for match in _BRACKETS[opener].finditer(text)]
        self.values: list[int | None] = [None] * len(self.positions)
        depth, waiting = 0, []
        for number, pos in enumerate(self.positions):
            waiting.append((number, depth))
            if text[pos] == opener:
                depth += 1
                continue
            depth -= 1
            while waiting and depth < waiting[-1][1]:
                self.values[waiting.pop()[0]] = size - pos - 1

    def __getitem__(self, pos: int) -> int | None:
        number = bisect.bisect_left(self.positions, pos)
        return self.values[number] if number < len(self.positions) else None


_BRACKETS = {"[": re.compile(r"[\[\]]"), "(": re.compile(r"[()]")}
_QUOTES = re.compile("['\"]")


class _NextQuote:
    """next_quote[pos]: the distance from the end of `text` to the first quote at or after `pos` (0: none)."""

    __slots__ = ("positions", "size")

    def __init__(self, text: str) -> None:
        self.size, self.positions = len(text), [match.start() for match in _QUOTES.finditer(text)]

    def __getitem__(self, pos: int) -> int:
        number = bisect.bisect_left(self.positions, pos)
        return self.size - self.positions[number] if number < len(self.positions) else 0


class _TailTables:
    """Bracket, parenthesis and quote tables of one stretch of text, valid for every string that ends with it."""

    def __init__(self, tail: str) -> None:
        self.tail = tail
        self.brackets = _DropEnds(tail, "[", "]")
        self.parens = _DropEnds(tail, "(", ")")
        self.next_quote = _NextQuote(tail)  # distance from the end to the next quote (0: none)
        self.budget = 2 * len(tail) + 10_000  # characters the quote-aware scan may still read in this text

    def covers(self, data: str, index: int) -> bool:
        remaining = len(data) - index
        return remaining <= len(self.tail) and self.tail.endswith(data[index:])

    def at(self, data: str, index: int) -> int:
        return len(self.tail) - (len(data) - index)


class _LinearLinkMixin:
    """getText and getLink answered from _TailTables instead of a fresh scan of the rest of the paragraph."""

    _TABLES_KEPT = 8

    def _tables(self, data: str, index: int) -> tuple[_TailTables, int]:
        cache = self.__dict__.setdefault("_kms_tables", [])
        for entry in cache:
            if entry[0] is data:
                return entry[1], entry[1].at(data, index)
        for entry in cache:
            if entry[1].covers(data, index):
                entry[0] = data
                return entry[1], entry[1].at(data, index)
        tables = _TailTables(data[index:])
        cache.insert(0, [data, tables])
        del cache[self._TABLES_KEPT :]
        return tables, 0

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:  # noqa: N802 - Python-Markdown's name
        """The text between `[` and its `]`, the index past the `]`, and whether the bracket closes."""
        tables, pos = self._tables(data, index)
        left = tables.brackets[pos]
        if left is None:
            return data[index:], len(data), False
        end = len(data) - left
        return data[index : end - 1], end, True

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:  # noqa: N802
        """The target of `(url "title")`; the quote-aware original only where a quote comes before the `)`."""
        match = self.RE_LINK.match(data, pos=index)
        if not match or match.group(1):
            return super().getLink(data, index)
        start = match.end()
        tables, pos = self._tables(data, start)
        left, quote = tables.parens[pos], tables.next_quote[pos]
        if quote and (left is None or quote > left):  # a quote before the closing parenthesis: a title
            return self._quoted_link(tables, data, index)
        if left is None:
            return "", None, start, False
        end = len(data) - left
        return self.unescape(data[start : end - 1]).strip(), None, end, True

    def _quoted_link(self, tables: _TailTables, data: str, index: int) -> tuple[str, str | None, int, bool]:
        if tables.budget <= 0:  # quotes that never close, again and again: the rest is plain text
            return "", None, index, False
        href, title, end, handled = super().getLink(data, index)
        tables.budget -= (end if handled else len(data)) - index
        return href, title, end, handled


class _Link(_LinearLinkMixin, inlinepatterns.LinkInlineProcessor):
    pass


class _Image(_LinearLinkMixin, inlinepatterns.ImageInlineProcessor):
    pass


class _Reference(_LinearLinkMixin, inlinepatterns.ReferenceInlineProcessor):
    pass


class _ShortReference(_LinearLinkMixin, inlinepatterns.ShortReferenceInlineProcessor):
    pass


class _ImageReference(_LinearLinkMixin, inlinepatterns.ImageReferenceInlineProcessor):
    pass


class _ShortImageReference(_LinearLinkMixin, inlinepatterns.ShortImageReferenceInlineProcessor):
    pass


class LinearLinksExtension(Extension):
    """Replaces Python-Markdown's link, image and reference patterns by linear-time ones (same names, same order)."""

    REPLACED = {
        "reference": (_Reference, inlinepatterns.REFERENCE_RE, 170),
        "link": (_Link, inlinepatterns.LINK_RE, 160),
        "image_link": (_Image, inlinepatterns.IMAGE_LINK_RE, 150),
        "image_reference": (_ImageReference, inlinepatterns.IMAGE_REFERENCE_RE, 140),
        "short_reference": (_ShortReference, inlinepatterns.REFERENCE_RE, 130),
        "short_image_ref": (_ShortImageReference, inlinepatterns.IMAGE_REFERENCE_RE, 125),
    }

    def extendMarkdown(self, markdown) -> None:  # noqa: N802 - Python-Markdown's API name
        for name, (cls, pattern, priority) in self.REPLACED.items():
            markdown.inlinePatterns.register(cls(pattern, markdown), name, priority)


# --- Linear-time fenced code -----------------------------------------------------------------------------------
# The opening-fence pattern has two runs of spaces side by side (`[ ]*` after the fence and after the language),
# so a fence followed by 20 KB of spaces and no newline backtracked for 12 s. Taking the spaces possessively
# (`[ ]*+`) finds the same fences: a language or `{attributes}` never starts with a space.
LINEAR_FENCE_RE = re.compile(
    fenced_code.FencedBlockPreprocessor.FENCED_BLOCK_RE.pattern.replace(
        "(?:~{3,}|`{3,}))[ ]*", "(?:~{3,}|`{3,}))[ ]*+", 1
    ).replace("[\\w#.+-]*)[ ]*)?", "[\\w#.+-]*)[ ]*+)?", 1),
    fenced_code.FencedBlockPreprocessor.FENCED_BLOCK_RE.flags,
)


class LinearFencesExtension(Extension):
    """Gives the fenced-code preprocessor an opening-fence pattern that cannot backtrack over spaces."""

    def extendMarkdown(self, markdown) -> None:  # noqa: N802 - Python-Markdown's API name
        markdown.preprocessors["fenced_code_block"].FENCED_BLOCK_RE = LINEAR_FENCE_RE


# --- Inline patterns tried only where they can match -------------------------------------------------------------
# Python-Markdown tries every inline pattern (15 here) on every stretch of text, one regular expression search
# each, and reads each pattern from its registry by position (a sorted look-up) every time: most of the inline
# stage's cost on ordinary prose. A pattern whose expression cannot match without some character (a backtick,
# `[`, `<`, `&`...) is passed over when the text holds none of them, which is exactly what its failed search
# would have done. Patterns are known by their expression, so one changed by an upgrade (or added by another
# extension) is always tried.
_WIKILINK_RE = r"\[\[([\w0-9_ -]+)\]\]"
_INLINE_NEEDS = {
    inlinepatterns.BACKTICK_RE: ("`",),
    inlinepatterns.ESCAPE_RE: ("\\",),
    inlinepatterns.LINK_RE: ("[",),
    inlinepatterns.IMAGE_LINK_RE: ("![",),
    inlinepatterns.AUTOLINK_RE: ("<",),
    inlinepatterns.AUTOMAIL_RE: ("<",),
    inlinepatterns.LINE_BREAK_RE: ("  \n",),
    inlinepatterns.HTML_RE: ("<",),
    inlinepatterns.ENTITY_RE: ("&",),
    _WIKILINK_RE: ("[[",),
    r"\*|_": ("*", "_"),
}


_NEEDLES = tuple(dict.fromkeys(needle for needs in _INLINE_NEEDS.values() for needle in needs))


class _SkippingInlineProcessor(treeprocessors.InlineProcessor):
    """Python-Markdown's inline stage, passing over the patterns that cannot match a text (same output)."""

    def run(self, tree: etree.Element, ancestors: list[str] | None = None) -> etree.Element:
        compiled = [getattr(pattern, "compiled_re", None) for pattern in self.inlinePatterns]
        self._kms_patterns = list(self.inlinePatterns)
        self._kms_needs = [_INLINE_NEEDS.get(regex.pattern) if regex else None for regex in compiled]
        self._kms_next: dict[
            int, list[int]
        ] = {}  # needles present (bit mask) -> next pattern to try from each
        return super().run(tree, ancestors)

    def _next_patterns(self, data: str) -> list[int]:
        """For each pattern position, the first pattern at or after it that may match `data`."""
        mask = sum(1 << bit for bit, needle in enumerate(_NEEDLES) if needle in data)
        found = self._kms_next.get(mask)
        if found is None:
            present = {needle for bit, needle in enumerate(_NEEDLES) if mask >> bit & 1}
            found, following = [], len(self._kms_needs)
            for index in range(len(self._kms_needs) - 1, -1, -1):
                needs = self._kms_needs[index]
                if needs is None or not present.isdisjoint(needs):
                    following = index
                found.append(following)
            found = self._kms_next[mask] = found[::-1] + [following]
        return found

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802, N803
        # Python-Markdown's __handleInline (3.11), with the pass-over added; its __applyPattern calls it back.
        if isinstance(data, util.AtomicString):
            return data
        apply, patterns = self._InlineProcessor__applyPattern, self._kms_patterns
        count, start = len(patterns), 0
        following = self._next_patterns(data)
        while patternIndex < count:
            if following[patternIndex] != patternIndex:  # patterns that cannot match: each would fail, from 0
                patternIndex, start = following[patternIndex], 0
                continue
            data, matched, start = apply(patterns[patternIndex], data, patternIndex, start)
            if matched:
                following = self._next_patterns(data)
            else:
                patternIndex += 1
        return data


class SkippingInlineExtension(Extension):
    """Puts _SkippingInlineProcessor in the place of Python-Markdown's inline stage."""

    def extendMarkdown(self, markdown) -> None:  # noqa: N802 - Python-Markdown's API name
        markdown.treeprocessors.register(_SkippingInlineProcessor(markdown), "inline", 20)


def _wikilink_url(label: str, base: str, end: str) -> str:
    return f"{ARTICLE_LINK_BASE}{quote(slugify(label))}"


_local = threading.local()


def build_converter(*, linear: bool = True) -> md.Markdown:
    """A Markdown converter with kms's extensions; linear=False keeps Python-Markdown's own link and fence code."""
    videos = VideoExtension()
    extensions = [
        "tables",
        "fenced_code",
        "sane_lists",
        "admonition",
        "def_list",
        "abbr",
        "toc",
        "wikilinks",
        TaskListExtension(),
        videos,
    ]
    if linear:
        extensions += [LinearLinksExtension(), LinearFencesExtension(), SkippingInlineExtension()]
    converter = md.Markdown(
        extensions=extensions,
        extension_configs={
            "toc": {"slugify": _heading_id, "toc_depth": "2-4", "title": ""},
            "wikilinks": {"build_url": _wikilink_url, "html_class": "wikilink"},
        },
        output_format="html",
    )
    converter.kms_videos = videos  # the players go in after sanitizing (see _render_now)
    return converter


def _converter() -> md.Markdown:
    # One converter per thread: building it costs more than converting a page.
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = build_converter()
    converter.reset()
    return converter


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def render_with_toc(text: str, *, time_limit: bool = True) -> tuple[str, str]:
    """Render Markdown to (sanitized body HTML, sanitized table-of-contents HTML).

    A text that cannot be formatted within RENDER_SECONDS is shown as typed, with a note saying so (see
    shown_as_typed). Batch work that runs in processes of its own (an import's render pool) passes
    time_limit=False: it may wait for a slow text, and stores no as-typed stand-in.
    """
    text = (text or "")[:MAX_MARKDOWN]
    if not time_limit:
        return _render_now(text)
    try:
        return _render_cached(text)
    except RenderTooSlow:
        return as_typed(text), ""


# Rendering is a pure function of the text and costs most of an article page's time; the same published
# text is shown again and again, so each process keeps the most recent results (a text shown as typed is not kept:
# the next view tries again).
@functools.lru_cache(maxsize=512)
def _render_cached(text: str) -> tuple[str, str]:
    if len(text) <= RENDER_IN_PROCESS:
        return _render_now(text)
    return _render_with_time_limit(text)


def _render_now(text: str) -> tuple[str, str]:
    converter = _converter()
    body = converter.convert(text)
    toc = getattr(converter, "toc", "") or ""
    # Players go in only after sanitizing: nh3 never sees (or lets through) an iframe.
    return converter.kms_videos.insert_players(_clean(body)), _clean(toc) if "<li" in toc else ""


# --- Time limit on rendering ----------------------------------------------------------------------------------
# Python-Markdown rebuilds a paragraph's text after every inline element it makes, and nests quotes, lists and HTML
# as deep as the text asks, so 200 KB of some shapes (`*a* ` repeated, thousands of nested `<div>`) take seconds
# whatever kms replaces. Short texts render in the calling process (their worst case is a few tens of
# milliseconds); longer ones render in a forked child that is killed at the limit, so no worker is tied up.
RENDER_IN_PROCESS = 2 * 1024
RENDER_SECONDS = 0.75
AS_TYPED_NOTE = "This text is too complex to format in time, so it is shown as typed."


class RenderTooSlow(Exception):
    """Formatting a text did not finish within RENDER_SECONDS."""


def shown_as_typed(html_body: str) -> bool:
    """Whether a rendering is the as-typed stand-in for a text that took too long (not worth keeping)."""
    return html_body.startswith(f'<p class="note"><em>{AS_TYPED_NOTE}')


def as_typed(text: str) -> str:
    """The text as typed, escaped, in a <pre> block after a note saying why it is not formatted."""
    return f'<p class="note"><em>{AS_TYPED_NOTE}</em></p>\n<pre>{html.escape(text)}</pre>'


def _close_inherited_files(kept: int) -> None:
    """Close the files and sockets the fork inherited, but stdio and ``kept``. A web worker forks from one
    thread while others work: without this the child held whatever they had open, such as the search index's
    drain lock (an flock, shared by a fork), the listening socket, and the worker's ends of sibling render
    children's connections. When the worker was killed, those siblings never saw their connection close, lived
    on, and kept the lock: that server's index stopped taking changes. Pipes stay: multiprocessing's own (the
    parent's sentinel of this child) are pipes, and a pipe holds no lock. The objects that owned the closed
    files stay in the child's memory unused; gc.freeze() keeps the collector from finalizing them (and closing
    a number a later file reuses)."""
    gc.freeze()
    try:
        numbers = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:  # no /proc (macOS): the usual range
        numbers = list(range(3, 1024))
    for number in numbers:
        if number <= 2 or number == kept:
            continue
        try:
            if not stat.S_ISFIFO(os.fstat(number).st_mode):
                os.close(number)
        except OSError:
            pass  # not open (any more): /proc's own listing handle, or a number of the fallback range


def _serve_renders(connection, parent_end) -> None:
    # The child is a fork of a server worker and inherits its Python signal handlers (gunicorn's SIGTERM only
    # flags the worker to stop): without the defaults back, terminating the child at exit would not end it, and
    # the worker would wait for it until killed.
    for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(number, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    parent_end.close()
    _close_inherited_files(connection.fileno())
    while True:
        try:
            text = connection.recv()
        except (EOFError, OSError):  # the web process went away
            return
        try:
            result = _render_now(text)
        except Exception:  # noqa: BLE001 - the caller shows the text as typed
            result = None
        connection.send(result)


WARM_UP = "# A\n\n*a* [b](#c) `d`\n\n| e |\n|---|\n| f |\n\n```\ng\n```\n"


class _RenderWorker:
    """A forked process that renders the texts it is sent, one at a time; killed when one takes too long."""

    def __init__(self) -> None:
        # The child must import nothing: a module another thread was importing at the fork stays locked in
        # the child forever (its importing thread is not there), and the child would hang on it. Rendering
        # once here imports all that rendering needs and builds this thread's converter, which the child
        # inherits.
        _render_now(WARM_UP)
        context = multiprocessing.get_context("fork")
        self.connection, child_end = context.Pipe()
        self.process = context.Process(target=_serve_renders, args=(child_end, self.connection), daemon=True)
        self.process.start()
        child_end.close()

    def render(self, text: str) -> tuple[str, str] | None:
        self.connection.send(text)
        return self.connection.recv() if self.connection.poll(RENDER_SECONDS) else None

    def stop(self) -> None:
        self.process.kill()
        self.process.join()
        self.connection.close()


_idle_workers: list[_RenderWorker] = []
_workers_lock = threading.Lock()
IDLE_WORKERS_KEPT = 2


def _render_with_time_limit(text: str) -> tuple[str, str]:
    if "fork" not in multiprocessing.get_all_start_methods():
        return _render_now(text)
    with _workers_lock:
        worker = _idle_workers.pop() if _idle_workers else None
    worker = worker or _RenderWorker()
    try:
        result = worker.render(text)
    except (EOFError, OSError):
        result = None
    if result is None:
        worker.stop()
        raise RenderTooSlow(f"formatting took over {RENDER_SECONDS} s")
    with _workers_lock:
        keep = len(_idle_workers) < IDLE_WORKERS_KEPT
        if keep:
            _idle_workers.append(worker)
    if not keep:
        worker.stop()
    return result


def render(text: str) -> str:
    """Render Markdown to HTML that is safe to put in a page: no script, event handler or javascript: URL."""
    return render_with_toc(text)[0]


def to_plain_text(text: str) -> str:
    """Markdown -> plain text (for snippets, search and e-mail-like previews)."""
    html = render(text)
    return re.sub(r"\s+", " ", nh3.clean(html, tags=set())).strip()
