"""Every feature package has the same rooms and an init_app, create_app lists them all, and each adds itself:
its blueprint, the menu entries the base only lists (kms.navigation), and its `kms` commands."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from flask import Blueprint

import kms
from kms.navigation import nav_entries
from tests.conftest import login

KMS = Path(kms.__file__).parent
FEATURE_NAMES = sorted(p.name for p in KMS.iterdir() if (p / "__init__.py").is_file())


def test_every_package_of_kms_is_a_feature_and_the_four_of_the_mission_are_there():
    assert {"articles", "auth", "hiring", "search", "training"} <= set(FEATURE_NAMES)


@pytest.mark.parametrize("name", FEATURE_NAMES)
def test_each_feature_has_models_forms_services_and_views(name):
    package = KMS / name
    assert (package / "models.py").is_file(), f"kms/{name} has no models.py"
    assert (package / "forms.py").is_file(), f"kms/{name} has no forms.py"
    assert (package / "services.py").is_file() or (package / "services" / "__init__.py").is_file(), (
        f"kms/{name} has no services room"
    )
    assert (package / "views" / "__init__.py").is_file(), f"kms/{name} has no views/ package"
    assert not (package / "views.py").exists()


@pytest.mark.parametrize("name", FEATURE_NAMES)
def test_each_feature_defines_its_blueprint_in_views_init_and_imports_every_route_module_there(name):
    views = importlib.import_module(f"kms.{name}.views")
    assert isinstance(views.bp, Blueprint) and views.bp.import_name == f"kms.{name}.views"
    source = ast.parse((KMS / name / "views" / "__init__.py").read_text())
    imported = {
        alias.name
        for node in ast.walk(source)
        if isinstance(node, ast.ImportFrom) and node.module == f"kms.{name}.views"
        for alias in node.names
    }
    route_modules = {
        p.stem
        for p in (KMS / name / "views").glob("*.py")
        if "@bp." in p.read_text() and p.stem != "__init__"
    }
    assert route_modules and route_modules <= imported, f"kms/{name}/views/__init__.py must import its routes"


@pytest.mark.parametrize("name", FEATURE_NAMES)
def test_each_feature_has_an_init_app_that_registers_its_blueprint(name):
    feature = importlib.import_module(f"kms.{name}")
    assert callable(getattr(feature, "init_app", None)), f"kms/{name}/__init__.py has no init_app(app)"
    assert "register_blueprint" in (KMS / name / "__init__.py").read_text()


def test_create_app_lists_every_feature_once_and_registers_each(app):
    assert sorted(f.__name__ for f in kms.FEATURES) == [f"kms.{n}" for n in FEATURE_NAMES]
    assert len(kms.FEATURES) == len(set(kms.FEATURES))
    assert set(FEATURE_NAMES) <= set(app.blueprints)


def test_create_app_reads_as_a_loop_over_the_features():
    create_app = ast.get_source_segment(
        source := (KMS / "__init__.py").read_text(),
        next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "create_app"),
    )
    assert "register_blueprint" not in create_app and "FEATURES" in create_app


# kms/cli.py keeps the commands about the whole site; every other command belongs to a feature.
APP_WIDE_COMMANDS = {"init", "serve", "import", "export", "demo"}
FEATURE_COMMANDS = {
    "create-user": "auth",
    "create-token": "auth",
    "hiring-purge": "hiring",
    "jobs": "jobs",
    "mail": "notify",
    "worker": "jobs",
    "reindex": "search",
    "search-check": "search",
    "metrics": "metrics",  # the group: metrics import, export, recount
}


def _kms_commands(app) -> dict[str, str]:
    """The app's `kms` commands (not Flask-Migrate's `db`), each with the module that defines it."""
    return {
        name: command.callback.__module__
        for name, command in app.cli.commands.items()
        if command.callback.__module__.startswith("kms.")
    }


def _bare_app(tmp_path):
    return kms.create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "KMS_INSTANCE_PATH": str(tmp_path),
            "KMS_DATABASE_URL": f"sqlite:///{tmp_path}/kms.db",
        }
    )


def test_each_feature_adds_its_own_commands_from_its_commands_module(tmp_path, monkeypatch):
    monkeypatch.setattr(kms.cli, "init_app", lambda app: None)  # only the features' init_app run
    commands = _kms_commands(_bare_app(tmp_path))
    assert commands == {name: f"kms.{feature}.commands" for name, feature in FEATURE_COMMANDS.items()}


def test_every_command_is_app_wide_in_kms_cli_or_lives_in_a_feature(tmp_path):
    commands = _kms_commands(_bare_app(tmp_path))
    assert set(commands) == APP_WIDE_COMMANDS | set(FEATURE_COMMANDS)
    for name, module in commands.items():
        if name in APP_WIDE_COMMANDS:
            assert module == "kms.cli", name
        else:
            assert module.removeprefix("kms.").split(".")[0] in FEATURE_NAMES, (name, module)


def test_kms_cli_defines_no_feature_command():
    source = ast.parse((KMS / "cli.py").read_text())
    defined = {
        decorator.args[0].value
        for node in ast.walk(source)
        if isinstance(node, ast.FunctionDef)
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "click.command"
    }
    assert defined == APP_WIDE_COMMANDS


def _menu(app, user) -> list[str]:
    with app.test_request_context("/"):
        from flask_login import login_user

        login_user(user)
        return [entry.label for entry in nav_entries()]


def test_the_menu_is_contributed_by_the_features_in_order_and_by_role(app, make_user):
    assert _menu(app, make_user("admin")) == [
        "Handbook",
        "Training",
        "Hiring",
        "Performance",
        "Metrics",
        "Users",
    ]
    assert _menu(app, make_user("manager")) == ["Handbook", "Training", "Hiring", "Performance", "Metrics"]
    assert _menu(app, make_user("member")) == ["Handbook", "Training", "Performance"]


def test_the_header_marks_the_section_the_reader_is_in(client, make_user):
    admin = make_user("admin")
    login(client, admin)
    html = client.get("/training/modules").get_data(as_text=True)
    assert 'href="/training/" aria-current="page">Training</a>' in html
    assert 'aria-current="page">Handbook' not in html
    users = client.get("/admin/users").get_data(as_text=True)
    assert 'aria-current="page">Users</a>' in users
