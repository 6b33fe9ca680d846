"""Big imports: progress lines, Ctrl+C leaves the database as it was, HTML rendered once, UTF-16 escapes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import request
from sqlalchemy import func, select

from kms import content, markdown
from kms.articles.models import Article, Process, Revision
from kms.articles.rendering import RENDERER_VERSION, rendered_html
from kms.errors import Invalid
from kms.extensions import db
from kms.frontmatter import ContentError
from kms.web import CleanParams

BODY = "Intro paragraph with enough words to count.\n\n## Steps\n\n1. **Check** the account.\n2. Reply.\n"


def write_articles(root: Path, count: int, title=lambda n: f"Page {n}") -> Path:
    (root / "articles").mkdir(parents=True)
    for n in range(count):
        meta = {"title": title(n), "slug": f"page-{n}", "category": "Billing", "status": "published",
                "process": {"name": f"Process {n}", "frequency": 3}}
        (root / "articles" / f"page-{n}.md").write_text(f"---\n{json.dumps(meta)}\n---\n{BODY}", encoding="utf-8")
    return root


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Article, Revision, Process))


def test_an_escaped_surrogate_pair_in_front_matter_becomes_the_character(app, tmp_path):
    root = write_articles(tmp_path, 1)
    path = root / "articles" / "page-0.md"
    path.write_text(path.read_text().replace('"Page 0"', '"Launch day \\ud83d\\ude80"'), encoding="utf-8")
    content.import_content(root)
    assert db.session.scalar(select(Article.title)) == "Launch day \U0001F680"


def test_a_lone_surrogate_is_refused_naming_the_file_and_field_and_nothing_is_imported(app, tmp_path):
    root = write_articles(tmp_path, 3)
    path = root / "articles" / "page-2.md"
    path.write_text(path.read_text().replace('"Process 2"', '"Process \\ud83d"'), encoding="utf-8")
    before = counts()
    with pytest.raises(ContentError) as caught:
        content.import_content(root)
    assert "page-2.md" in caught.value.message and "'process.name'" in caught.value.message
    assert "surrogate" in caught.value.message
    assert counts() == before


def test_a_form_field_or_json_member_with_a_lone_surrogate_is_refused_by_name(app):
    with pytest.raises(Invalid) as caught:
        CleanParams({"title": "Launch \ud83d"})
    assert caught.value.field == "title" and caught.value.status == 400
    assert CleanParams({"title": "Launch \ud83d\ude80"})["title"] == "Launch \U0001F680"
    with app.test_request_context(method="POST", data='{"article": {"title": "x \\udc00"}}',
                                  content_type="application/json"):
        with pytest.raises(Invalid) as caught:
            request.get_json()
    assert caught.value.field == "article.title"


def test_import_shows_one_line_per_stage_when_not_on_a_terminal(app, runner, tmp_path):
    write_articles(tmp_path, 3)
    result = runner.invoke(args=["import", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "import: reading files 3/3 in" in result.output
    assert "import: articles 3/3 in" in result.output
    assert "articles: 3 created" in result.output
    exported = runner.invoke(args=["export", str(tmp_path / "out")])
    assert "export: articles 3/3 in" in exported.output


def test_an_imported_page_is_rendered_once_and_kept_beside_its_revision(app, tmp_path):
    content.import_content(write_articles(tmp_path, 2))
    revision = db.session.scalars(select(Revision)).first()
    assert revision.rendered_version == RENDERER_VERSION
    assert (revision.rendered_html, revision.rendered_toc) == markdown.render_with_toc(BODY)
    revision.rendered_html, revision.rendered_version = "<p>old renderer</p>", "0-old"
    assert rendered_html(revision) == markdown.render_with_toc(BODY)     # another renderer: rendered again
    db.session.rollback()


def test_ctrl_c_during_a_big_import_leaves_the_database_as_before(tmp_path):
    # A subprocess of its own on a file database, interrupted (SIGINT, as Ctrl+C) once it has started writing.
    env = {**os.environ, "KMS_INSTANCE_PATH": str(tmp_path / "instance"), "KMS_LOAD_STARTER_CONTENT": "0",
           "KMS_DATABASE_URL": ""}
    subprocess.run([sys.executable, "-m", "kms", "init"], env=env, check=True, capture_output=True, timeout=120)
    write_articles(tmp_path / "small", 2)
    subprocess.run([sys.executable, "-m", "kms", "import", str(tmp_path / "small")], env=env, check=True,
                   capture_output=True, timeout=120)
    write_articles(tmp_path / "big", 1500, title=lambda n: f"Big page {n}")
    importing = subprocess.Popen([sys.executable, "-m", "kms", "import", str(tmp_path / "big")], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in importing.stdout:       # the files are read: it is writing now
        if "reading files" in line:
            break
    time.sleep(0.3)
    importing.send_signal(signal.SIGINT)
    _, errors = importing.communicate(timeout=120)
    assert importing.returncode == 130, errors
    assert "nothing was imported" in errors and "Traceback" not in errors
    check = subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print("
                            "[c.execute(f'select count(*) from {t}').fetchone()[0] for t in "
                            "('articles', 'revisions', 'processes')])", str(tmp_path / "instance" / "kms.db")],
                           capture_output=True, text=True, check=True)
    assert check.stdout.strip() == "[2, 2, 2]"
