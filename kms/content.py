"""content/ folder <-> database: Markdown files with YAML front matter, in both directions.

Import is all-or-nothing: every section is loaded inside one transaction, and the first bad file stops
the run with an error naming the file and the field or line; nothing is written then. Each feature's
services own the meaning of their files (parsed with kms.frontmatter); this module orchestrates them.
"""
from __future__ import annotations

from pathlib import Path

from kms.extensions import db, writing
from kms.frontmatter import ContentError, ImportReport


# Each section: (name, importer(root, report), exporter(root) -> count). Features are appended in
# dependency order (articles before training before hiring), so later sections can refer to earlier ones.
def _sections():
    from kms.articles import services as articles
    from kms.hiring import services as hiring
    from kms.training import services as training

    sections = [("handbook", articles.import_content, articles.export_content),
                ("training", training.import_content, training.export_content),
                ("hiring", hiring.import_content, hiring.export_content)]
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
