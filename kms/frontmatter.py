"""The content/ file format: YAML front matter, safe YAML, and errors that name the file and field or line.

Feature services use these to read and write their part of the content/ folder; kms.content orchestrates
the whole import and export.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kms.errors import Invalid
from kms.validate import clean_json, clean_text


class ContentError(Invalid):
    """A content file is malformed; the message names the file and the field or line."""

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None, field: str | None = None):
        where = f"{path}" + (f", line {line}" if line else "") + (f", field '{field}'" if field else "")
        super().__init__(f"{where}: {problem}", field=field)
        self.path, self.line, self.problem = str(path), line, problem


@dataclass
class ImportReport:
    """What an import did, per kind of item: created, updated, unchanged."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(
        default_factory=list
    )  # files skipped, owners cleared: shown after the summary
    owners: str = (
        "create"  # what to do with an owner the site lacks: create | clear | require (kms.auth.content)
    )
    people: dict = field(default_factory=dict)  # people.yml's entries by email, once read
    progress: Callable[[str, int, int], None] | None = None  # progress(stage, done, total) on long work

    def add(self, kind: str, outcome: str) -> None:
        bucket = self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        bucket[outcome] = bucket.get(outcome, 0) + 1

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def summary(self) -> str:
        if not self.counts:
            return "nothing to import"
        return "; ".join(
            f"{kind}: " + ", ".join(f"{n} {outcome}" for outcome, n in bucket.items() if n)
            for kind, bucket in self.counts.items()
        )


# libyaml's safe loader when PyYAML has it (several times faster); it refuses "\\ud83d\\ude80" escapes, which
# the pure-Python one reads (as two surrogates that clean_json joins), so a text it refuses is read again by that.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _safe_load(text: str):
    try:
        return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        if _FAST_LOADER is yaml.SafeLoader:
            raise
        return yaml.safe_load(text)


def load_yaml(path: Path, text: str | None = None, *, first_line: int = 1):
    """Parse YAML safely (no Python tags); errors name the file and line (or field)."""
    try:
        # "\0" and "\e" escapes in quoted YAML strings make control characters too: clean what was parsed.
        return clean_json(_safe_load(path.read_text(encoding="utf-8") if text is None else text))
    except Invalid as error:
        raise ContentError(path, error.message.removeprefix(f"'{error.field}' "), field=error.field) from None
    except yaml.MarkedYAMLError as error:
        line = (error.problem_mark.line + first_line) if error.problem_mark else None
        raise ContentError(path, f"invalid YAML: {error.problem or error}", line=line) from None
    except yaml.YAMLError as error:
        raise ContentError(path, f"invalid YAML: {error}") from None
    except UnicodeDecodeError:
        raise ContentError(path, "not UTF-8 text") from None


_REWRITE: ContextVar[Callable[[Path, str], str] | None] = ContextVar("kms_content_rewrite", default=None)


@contextmanager
def rewriting(rewrite: Callable[[Path, str], str]) -> Iterator[None]:
    """While the block runs, read_front_matter passes each file's whole text through rewrite(path, text) first
    (the content import turns content/media/ paths into this site's file addresses so)."""
    token = _REWRITE.set(rewrite)
    try:
        yield
    finally:
        _REWRITE.reset(token)


def read_front_matter(path: Path) -> tuple[dict, str]:
    """Split a Markdown file into (front matter dict, body). The front matter sits between two '---' lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContentError(path, "not UTF-8 text") from None
    rewrite = _REWRITE.get()
    if rewrite is not None:
        text = rewrite(path, text)
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ContentError(path, "missing front matter: the file must start with a '---' line", line=1)
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            meta = load_yaml(path, "".join(lines[1:index]), first_line=2) or {}
            if not isinstance(meta, dict):
                raise ContentError(path, "front matter must be a mapping of field: value", line=2)
            try:
                body = clean_text("".join(lines[index + 1 :]), keep_cr=True, field="body")
            except Invalid as error:
                raise ContentError(path, error.message, line=index + 2) from None
            return meta, body  # exactly: leading blank lines are the author's
    raise ContentError(path, "front matter is not closed with a '---' line", line=1)


def write_front_matter(path: Path, meta: dict, body: str) -> None:
    """Write front matter and the body exactly as given, so import reads back the same text, byte for byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    path.write_bytes(f"---\n{head}---\n{body}".encode())


# Names Windows refuses for a file whatever its extension.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))}
MAX_NAME_BYTES = 200  # most file systems allow 255 bytes per name; room left for a suffix and a copy's " (2)"


def file_name(slug: str, suffix: str) -> str:
    """A file name for a slug that every OS accepts: its letters kept, a short hash when too long or reserved.

    Import reads the slug from the front matter, so the file name only has to be unique and safe.
    """
    stem = slug
    if stem.casefold() in _RESERVED:
        stem += "-"
    if len(stem.encode("utf-8")) > MAX_NAME_BYTES:
        digest = hashlib.sha256(slug.encode("utf-8")).hexdigest()[:8]
        kept = stem.encode("utf-8")[: MAX_NAME_BYTES - 9].decode("utf-8", "ignore")
        stem = f"{kept}-{digest}"
    return stem + suffix


def write_yaml(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).encode("utf-8"))


def require(meta: dict, name: str, path: Path, kind: type | tuple = str):
    """A required front-matter field of the given type, or a ContentError naming it."""
    if name not in meta or meta[name] in (None, ""):
        raise ContentError(path, "required field is missing", field=name)
    value = meta[name]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ContentError(path, f"must be {expected}, got {type(value).__name__}", field=name)
    return value
