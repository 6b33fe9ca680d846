"""content/ folder <-> database: Markdown files with YAML front matter, in both directions.

Import is all-or-nothing: every section is loaded inside one transaction, and the first bad file stops
the run with an error naming the file and the field or line; nothing is written then. Each feature's
services own the meaning of their files (parsed with kms.frontmatter); this module orchestrates them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kms.extensions import unit_of_work
from kms.frontmatter import ContentError, ImportReport, rewriting


# Each section: (name, importer(root, report), exporter(root) -> count). Features are appended in
# dependency order (articles before training before hiring), so later sections can refer to earlier ones.
def _sections():
    from kms.articles import services as articles
    from kms.auth import content as people
    from kms.hiring import services as hiring
    from kms.training import services as training

    sections = [
        ("people", people.import_people, people.export_people),
        ("handbook", articles.import_content, articles.export_content),
        ("training", training.import_content, training.export_content),
        ("hiring", hiring.import_content, hiring.export_content),
    ]
    return sections


# Where each kind of file goes (docs/content-format.md); anything else is not read.
KNOWN_PLACES = {"articles", "article-templates", "training", "hiring", "media"}
# Where the Markdown lives that may use files from media/ (articles, templates, lessons and quiz explanations).
PAGE_PLACES = ("articles", "article-templates", "training")
CONTENT_KINDS = ("articles", "processes", "training modules", "training paths", "hiring traits")


def stray_markdown(root: Path) -> list[Path]:
    """Markdown files import does not read: at the top of the folder or in a folder it does not know."""
    found = [path for path in root.glob("*.md") if path.is_file()]
    for folder in sorted(
        p for p in root.iterdir() if p.is_dir() and p.name not in KNOWN_PLACES and not p.name.startswith(".")
    ):
        found += [path for path in folder.rglob("*.md") if path.is_file()]
    return sorted(found)


def _stray_message(root: Path, strays: list[Path]) -> str:
    names = ", ".join(str(path.relative_to(root)) for path in strays[:10]) + (
        " …" if len(strays) > 10 else ""
    )
    return (
        f"skipped {len(strays)} Markdown file{'s' if len(strays) != 1 else ''} that import does not read "
        f"({names}): handbook articles go in {root / 'articles'}/, training modules in "
        f"{root / 'training' / 'modules'}/, hiring traits in {root / 'hiring'}/, each starting with front "
        "matter (see docs/content-format.md)"
    )


Progress = Callable[[str, int, int], None]


def import_content(
    root: Path | str, owners: str = "create", progress: Progress | None = None
) -> ImportReport:
    """Load a content folder into the database in one transaction; all or nothing.

    Markdown files outside the places import reads are named in the report; when they are all the folder
    holds, the import stops with that message instead of "nothing to import". `owners` says what to do with
    an owner this site has no account for (create, clear or require: see kms.auth.content). `progress`,
    when given, is called as progress(stage, done, total) along the way.
    """
    root = Path(root)
    if not root.is_dir():
        raise ContentError(root, "no such folder")
    report = ImportReport(owners=owners, progress=progress)
    strays = stray_markdown(root)
    with unit_of_work():  # the import is one use case: it commits once, or leaves nothing behind
        media = _media_import(root, report)
        with rewriting(media.rewrite):
            for _, importer, _ in _sections():
                importer(root, report)
        media.finish()
        if strays and not any(kind in report.counts for kind in CONTENT_KINDS):
            raise ContentError(root, f"nothing to import; {_stray_message(root, strays)}")
        if strays:
            report.warn(_stray_message(root, strays))
    return report


def _media_import(root: Path, report: ImportReport):
    from flask import current_app

    from kms.media.hooks import storage
    from kms.media.services.folder import MediaImport

    return MediaImport(
        root, report, store=storage(), max_bytes=int(current_app.config["KMS_MAX_UPLOAD_MB"]) * 1024 * 1024
    )


def _export_media(root: Path) -> int:
    from kms.media.hooks import storage
    from kms.media.services.folder import export_media

    pages = sorted(path for place in PAGE_PLACES for path in (root / place).rglob("*.md") if path.is_file())
    return export_media(root, pages, storage())


def export_content(root: Path | str, progress: Progress | None = None) -> dict[str, int]:
    """Write the database's content into a folder in the same format import reads (progress of the articles);
    the files its pages use go to media/, referenced by relative path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    counts = {
        name: exporter(root, progress=progress) if name == "handbook" else exporter(root)
        for name, _, exporter in _sections()
    }
    counts["media"] = _export_media(root)
    return counts
