"""The `kms` command line: init, create-user, and the console script itself."""

import subprocess
import sys

from kms.auth import services
from kms.auth.models import Role


def test_create_user_reads_the_password_from_standard_input(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "lead@example.com",
            "--name",
            "Lea Lead",
            "--role",
            "manager",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = services.find_user_by_email("lead@example.com")
    assert user.role == Role.MANAGER and user.name == "Lea Lead"
    assert services.authenticate("lead@example.com", "a long enough password").id == user.id


def test_create_user_explains_a_bad_password_and_creates_nothing(app, runner):
    result = runner.invoke(
        args=["create-user", "x@example.com", "--name", "X", "--password-stdin"], input="short\n"
    )
    assert result.exit_code != 0 and "at least 10" in result.output
    assert services.user_count() == 0


def test_create_user_refuses_a_duplicate_email(app, runner, make_user):
    user = make_user(Role.MEMBER)
    result = runner.invoke(
        args=["create-user", user.email, "--name", "Again", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code != 0 and "already exists" in result.output


def test_kms_init_migrates_an_empty_instance(tmp_path):
    env = {"KMS_INSTANCE_PATH": str(tmp_path), "KMS_LOAD_STARTER_CONTENT": "0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "kms", "init"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "Database ready" in result.stdout
    assert (tmp_path / "kms.db").exists()


def test_the_console_script_lists_its_commands(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kms", "--help"],
        capture_output=True,
        text=True,
        env={"KMS_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    for command in ("serve", "init", "create-user", "create-token"):
        assert command in result.stdout


def test_data_commands_on_an_instance_without_a_database_say_to_run_kms_init(tmp_path):
    from kms import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "KMS_INSTANCE_PATH": str(tmp_path),
            "KMS_DATABASE_URL": f"sqlite:///{tmp_path}/kms.db",
        }
    )
    runner = app.test_cli_runner()
    (tmp_path / "tickets.csv").write_text("ticket_id,agent_email,solved_at\n")
    for args in (
        ["create-user", "a@example.com", "--name", "A", "--password-stdin"],
        ["create-token", "a@example.com", "bot"],
        ["import", str(tmp_path)],
        ["export", str(tmp_path / "out")],
        ["reindex"],
        ["search-check"],
        ["hiring-purge"],
        ["metrics", "import", str(tmp_path / "tickets.csv")],
        ["metrics", "recount"],
    ):
        result = runner.invoke(args=args, input="a long enough password\n")
        assert result.exit_code == 1 and "run `kms init` first" in result.output, (args, result.output)
        assert "Traceback" not in result.output and "sqlite3" not in result.output


def test_serve_refuses_a_port_outside_1_to_65535_before_starting_anything(app, runner):
    result = runner.invoke(args=["serve", "--port", "99999"])
    assert result.exit_code == 2 and "99999 is not in the range 1<=x<=65535" in result.output


def test_import_of_a_folder_of_loose_markdown_names_the_files_and_where_they_go(runner, tmp_path):
    (tmp_path / "faq.md").write_text("Questions.\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(tmp_path)])
    assert result.exit_code != 0
    assert (
        "faq.md" in result.output and "articles/" in result.output and "Nothing was imported" in result.output
    )


def test_import_owners_option_clears_an_unknown_owner_with_a_warning(runner, tmp_path):
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "refund.md").write_text(
        "---\ntitle: Refund\nslug: refund\ncategory: Billing\nowner: gone@example.test\n---\nSteps.\n",
        encoding="utf-8",
    )
    refused = runner.invoke(args=["import", str(tmp_path), "--owners=require"])
    assert refused.exit_code != 0 and "gone@example.test" in refused.output
    result = runner.invoke(args=["import", str(tmp_path), "--owners=clear"])
    assert result.exit_code == 0, result.output
    assert "gone@example.test" in result.output and "left empty" in result.output


def test_kms_demo_prints_which_login_is_the_new_hire_the_interviewer_and_the_manager(tmp_path):
    env = {"KMS_INSTANCE_PATH": str(tmp_path), "KMS_LOAD_STARTER_CONTENT": "0", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "kms", "demo"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if "@demo.kms.test" in line}
    assert "the new hire" in lines["nina@demo.kms.test"] and " member " in lines["nina@demo.kms.test"]
    assert "the interviewer" in lines["ada@demo.kms.test"]
    assert "the manager" in lines["morgan@demo.kms.test"]
    assert all(line.split()[2].startswith("demo-") for line in lines.values())  # the password, as printed
