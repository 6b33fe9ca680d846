"""Big imports: progress lines, Ctrl+C leaves the database as it was, HTML rendered once, UTF-16 escapes."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select as io_select
import signal
import sqlite3
import subprocess
import sys
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
from kms.search.indexer import DRAIN_LOCK_FILE
from kms.web import CleanParams

BODY = "Intro paragraph with enough words to count.\n\n## Steps\n\n1. **Check** the account.\n2. Reply.\n"


def write_articles(root: Path, count: int, title=lambda n: f"Page {n}") -> Path:
    (root / "articles").mkdir(parents=True)
    for n in range(count):
        meta = {
            "title": title(n),
            "slug": f"page-{n}",
            "category": "Billing",
            "status": "published",
            "process": {"name": f"Process {n}", "frequency": 3},
        }
        (root / "articles" / f"page-{n}.md").write_text(
            f"---\n{json.dumps(meta)}\n---\n{BODY}", encoding="utf-8"
        )
    return root


def counts() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Article, Revision, Process))


def test_an_escaped_surrogate_pair_in_front_matter_becomes_the_character(app, tmp_path):
    root = write_articles(tmp_path, 1)
    path = root / "articles" / "page-0.md"
    path.write_text(path.read_text().replace('"Page 0"', '"Launch day \\ud83d\\ude80"'), encoding="utf-8")
    content.import_content(root)
    assert db.session.scalar(select(Article.title)) == "Launch day \U0001f680"


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
    assert CleanParams({"title": "Launch \ud83d\ude80"})["title"] == "Launch \U0001f680"
    with app.test_request_context(
        method="POST", data='{"article": {"title": "x \\udc00"}}', content_type="application/json"
    ):
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
    assert rendered_html(revision) == markdown.render_with_toc(BODY)  # another renderer: rendered again
    db.session.rollback()


BIG = 1760  # twice the real handbook's page count, with short bodies so that CI takes seconds


def kms(env: dict, *args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kms", *args], env=env, capture_output=True, text=True, timeout=120, **options
    )


def table_counts(database: Path) -> list[int]:
    with sqlite3.connect(database) as connection:
        return [
            connection.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("articles", "revisions", "processes")
        ]


@pytest.fixture()
def instance(tmp_path):
    """A file database in its own instance folder holding two imported articles; the environment to run kms."""
    env = {
        **os.environ,
        "KMS_INSTANCE_PATH": str(tmp_path / "instance"),
        "KMS_LOAD_STARTER_CONTENT": "0",
        "KMS_DATABASE_URL": "",
    }
    kms(env, "init", check=True)
    kms(env, "import", str(write_articles(tmp_path / "small", 2)), check=True)
    write_articles(tmp_path / "big", BIG, title=lambda n: f"Big page {n}")
    return env, tmp_path / "instance" / "kms.db"


def interrupt_import(env: dict, folder: Path, ready) -> tuple[int, str]:
    """Run `kms import folder` on a terminal of its own (so it draws its progress bars), press Ctrl+C (SIGINT to
    its process group) once ready(screen so far) says so; returns (exit code, everything it printed)."""
    main, terminal = pty.openpty()
    importing = subprocess.Popen(
        [sys.executable, "-m", "kms", "import", str(folder)],
        env=env,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        start_new_session=True,
        # As on a user's terminal. A shell starts background commands with Ctrl+C ignored, and an ignored
        # signal stays ignored in every program started below it (this suite run as `make test &`, say).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(terminal)
    screen, sent = "", False
    while True:
        waiting, _, _ = io_select.select([main], [], [], 0.05)
        chunk = b""
        if waiting:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
        screen += chunk.decode(errors="replace")
        if not sent and ready(screen):
            os.killpg(importing.pid, signal.SIGINT)
            sent = True
    os.close(main)
    return importing.wait(timeout=60), screen


def test_ctrl_c_while_rendering_and_inserting_leaves_the_database_as_before(instance, tmp_path):
    env, database = instance
    written = re.compile(rf"articles\b.*?\b(\d+)/{BIG}\b")

    def first_batch_written(screen: str) -> bool:  # its bar counts past the first batch of new articles
        return any(500 <= int(done) < BIG for done in written.findall(screen))

    code, screen = interrupt_import(env, tmp_path / "big", first_batch_written)
    assert code == 130, screen
    assert "Interrupted: nothing was imported" in screen and "Traceback" not in screen
    assert table_counts(database) == [2, 2, 2]
    assert "In step." in kms(env, "search-check").stdout


def test_ctrl_c_while_the_search_index_catches_up_keeps_the_saved_import_and_says_so(instance, tmp_path):
    env, database = instance
    # Another process holds the index's drain lock: the import commits, then waits its turn to index.
    with open(tmp_path / "instance" / "search-index" / DRAIN_LOCK_FILE, "a+") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        code, screen = interrupt_import(
            env, tmp_path / "big", lambda _screen: table_counts(database)[0] == BIG
        )
    assert code == 130, screen
    assert "Interrupted after the import was saved" in screen and "Traceback" not in screen
    assert table_counts(database) == [BIG, BIG + 2, BIG]  # two articles updated, with a revision each
    fixed = kms(env, "search-check", "--fix")
    assert fixed.returncode == 0 and "Fixed" in fixed.stdout, fixed.stdout + fixed.stderr
    assert "In step." in kms(env, "search-check").stdout


def test_a_big_import_shows_the_search_index_built_after_it_as_a_stage_of_its_own(instance, tmp_path):
    env, database = instance
    result = kms(env, "import", str(tmp_path / "big"))
    assert result.returncode == 0, result.stdout + result.stderr
    stages = re.findall(r"^import: (.+?) ([\d,]+)/([\d,]+) in ", result.stdout, re.M)
    assert [stage for stage, _, _ in stages] == ["reading files", "articles", "search index"], result.stdout
    done, total = (int(n.replace(",", "")) for n in stages[-1][1:])
    assert done == total == 2 * BIG  # every article and its process (two of each were there before)
    assert "In step." in kms(env, "search-check").stdout
