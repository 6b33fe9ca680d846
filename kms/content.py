"""content/ folder <-> database: Markdown files with YAML front matter, in both directions.

Import is all-or-nothing: every section is loaded inside one transaction, and the first bad file stops
the run with an error naming the file and the field or line; nothing is written then. Each feature's
services own the meaning of their files; this module parses files and orchestrates the sections.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kms.errors import Invalid
from kms.extensions import db, writing


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

    def add(self, kind: str, outcome: str) -> None:
        bucket = self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        bucket[outcome] = bucket.get(outcome, 0) + 1

    def summary(self) -> str:
        if not self.counts:
            return "nothing to import"
        return "; ".join(f"{kind}: " + ", ".join(f"{n} {outcome}" for outcome, n in bucket.items() if n)
                         for kind, bucket in self.counts.items())


def load_yaml(path: Path, text: str | None = None, *, first_line: int = 1):
    """Parse YAML safely (no Python tags); errors name the file and line."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8") if text is None else text)
    except yaml.MarkedYAMLError as error:
        line = (error.problem_mark.line + first_line) if error.problem_mark else None
        raise ContentError(path, f"invalid YAML: {error.problem or error}", line=line) from None
    except yaml.YAMLError as error:
        raise ContentError(path, f"invalid YAML: {error}") from None
    except UnicodeDecodeError:
        raise ContentError(path, "not UTF-8 text") from None


def read_front_matter(path: Path) -> tuple[dict, str]:
    """Split a Markdown file into (front matter dict, body). The front matter sits between two '---' lines."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ContentError(path, "not UTF-8 text") from None
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise ContentError(path, "missing front matter: the file must start with a '---' line", line=1)
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            meta = load_yaml(path, "".join(lines[1:index]), first_line=2) or {}
            if not isinstance(meta, dict):
                raise ContentError(path, "front matter must be a mapping of field: value", line=2)
            return meta, "".join(lines[index + 1:]).lstrip("\n")
    raise ContentError(path, "front matter is not closed with a '---' line", line=1)


def write_front_matter(path: Path, meta: dict, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    head = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(f"---\n{head}---\n{body.rstrip()}\n", encoding="utf-8")


def write_yaml(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")


def require(meta: dict, name: str, path: Path, kind: type | tuple = str):
    """A required front-matter field of the given type, or a ContentError naming it."""
    if name not in meta or meta[name] in (None, ""):
        raise ContentError(path, "required field is missing", field=name)
    value = meta[name]
    if not isinstance(value, kind):
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ContentError(path, f"must be {expected}, got {type(value).__name__}", field=name)
    return value


# Each section: (name, importer(root, report), exporter(root) -> count). Features are appended in
# dependency order (articles before training before hiring), so later sections can refer to earlier ones.
def _sections():
    from kms.articles import services as articles
    from kms.hiring import services as hiring

    sections = [("handbook", articles.import_content, articles.export_content)]
    sections.append(("hiring", hiring.import_content, hiring.export_content))
    return sections


def import_content(root: Path | str) -> ImportReport:
    """Load a content folder into the database in one transaction; all or nothing."""
    root = Path(root)
    if not root.is_dir():
        raise ContentError(root, "no such folder")
    report = ImportReport()
    with writing():
        for _, importer, _ in _sections():
            importer(root, report)
        db.session.commit()
    return report


def export_content(root: Path | str) -> dict[str, int]:
    """Write the database's content into a folder in the same format import reads."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    return {name: exporter(root) for name, _, exporter in _sections()}
