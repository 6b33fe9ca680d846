"""The README and docs/ link only to files that are in the repository, so a fresh clone has every page they name."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCED = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")


def relative_links(document: Path) -> list[str]:
    """Every inline Markdown link target that is neither a web address nor an anchor on the same page."""
    text = INLINE_CODE.sub("", FENCED.sub("", document.read_text(encoding="utf-8")))
    targets = [match.group(1).strip("<>") for match in LINK.finditer(text)]
    return [t for t in targets if not urlsplit(t).scheme and not t.startswith(("#", "//"))]


def broken(document: Path, target: str) -> str | None:
    path = unquote(urlsplit(target).path)
    resolved = (document.parent / path).resolve()
    if not resolved.is_relative_to(ROOT):
        return f"{target} points outside the repository ({resolved})"
    if not resolved.exists():
        return f"{target} does not exist ({resolved.relative_to(ROOT)})"
    return None


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_relative_link_points_to_a_file_inside_the_repository(document):
    problems = [problem for target in relative_links(document) if (problem := broken(document, target))]
    assert not problems, f"{document.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_link_check_sees_the_readme_links():
    links = relative_links(ROOT / "README.md")
    assert "docs/architecture.md" in links and "kms/auth/permissions.py" in links
    assert broken(ROOT / "README.md", "../shared/DESIGN.md").startswith("../shared/DESIGN.md points outside")
    assert "does not exist" in broken(ROOT / "README.md", "docs/no-such-page.md")
