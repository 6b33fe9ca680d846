"""Settings: safe defaults, a generated secret key, and refusals in production."""

import re
import stat
from pathlib import Path

import pytest

from kms import create_app
from kms.config import VARIABLES, ConfigError, load

STRONG = "9f1c2ab7e05d4c3388a61f7be2d09c54f3a8b6e1d7c20495ab3e8f6d1c07b2a4"  # secrets.token_hex(32)


def test_a_secret_key_is_generated_once_into_the_instance_folder_and_reused(tmp_path):
    first = load({"KMS_INSTANCE_PATH": str(tmp_path)}, environ={})
    second = load({"KMS_INSTANCE_PATH": str(tmp_path)}, environ={})
    key_file = tmp_path / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text()
    assert len(first.secret_key) >= 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_defaults_put_sqlite_and_the_index_in_the_instance_folder(tmp_path):
    app = create_app({"KMS_INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'kms.db'}"
    assert app.config["KMS_SEARCH_DIR"].startswith(str(tmp_path))
    assert app.config["DEBUG"] is False


def test_production_refuses_to_start_without_a_configured_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="KMS_SECRET_KEY"):
        create_app({"KMS_INSTANCE_PATH": str(tmp_path), "KMS_ENV": "production"})


@pytest.mark.parametrize(
    "weak",
    [
        "changeme",
        "secret",
        "short-key",
        "a" * 64,
        "0123456789abcdef" * 2,
        "abcdefghijklmnopqrstuvwxyz" * 3,
        "x" * 16 + "0123456789abcdef0123",
        "Abc123!-" * 8,
        "ab" * 40,
    ],
)
def test_production_refuses_a_guessable_secret_key_and_says_how_to_make_one(tmp_path, weak):
    with pytest.raises(ConfigError, match="guessable") as refused:
        create_app({"KMS_INSTANCE_PATH": str(tmp_path), "KMS_ENV": "production", "KMS_SECRET_KEY": weak})
    assert "secrets.token_hex(32)" in str(refused.value)


def test_keys_made_the_documented_way_are_accepted(tmp_path):
    import secrets

    for _ in range(50):
        load(
            {
                "KMS_INSTANCE_PATH": str(tmp_path),
                "KMS_ENV": "production",
                "KMS_SECRET_KEY": secrets.token_hex(32),
            },
            environ={},
        )


@pytest.mark.parametrize("env", ["prod", "Production!", "staging", "dev"])
def test_an_unknown_environment_is_refused_with_the_allowed_values(tmp_path, env):
    with pytest.raises(ConfigError, match="development, test, production") as refused:
        load({"KMS_INSTANCE_PATH": str(tmp_path), "KMS_ENV": env}, environ={})
    assert env in str(refused.value)


@pytest.mark.parametrize("env", ["development", "test", "Production", ""])
def test_the_known_environments_are_accepted(tmp_path, env):
    settings = load(
        {"KMS_INSTANCE_PATH": str(tmp_path), "KMS_ENV": env, "KMS_SECRET_KEY": STRONG}, environ={}
    )
    assert settings.env == (env.lower() or "development")


def test_production_refuses_debug_mode(tmp_path):
    with pytest.raises(ConfigError, match="debug"):
        create_app(
            {
                "KMS_INSTANCE_PATH": str(tmp_path),
                "KMS_ENV": "production",
                "KMS_SECRET_KEY": STRONG,
                "KMS_DEBUG": "1",
            }
        )


def test_production_starts_with_a_strong_key_and_secure_settings(tmp_path):
    app = create_app(
        {
            "KMS_INSTANCE_PATH": str(tmp_path),
            "KMS_ENV": "production",
            "KMS_SECRET_KEY": STRONG,
            "KMS_HTTPS": "1",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert not (tmp_path / "secret_key").exists()


def test_a_non_numeric_setting_is_named_in_the_error(tmp_path):
    with pytest.raises(ConfigError, match="KMS_LOGIN_MAX_FAILURES"):
        load({"KMS_INSTANCE_PATH": str(tmp_path), "KMS_LOGIN_MAX_FAILURES": "ten"}, environ={})


def test_environment_variables_are_read(tmp_path):
    settings = load(
        {}, environ={"KMS_INSTANCE_PATH": str(tmp_path), "KMS_DATABASE_URL": "postgresql://u@h/db"}
    )
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_the_readme_documents_every_setting():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    documented = set(re.findall(r"`(KMS_[A-Z0-9_]+)`", readme))
    assert set(VARIABLES) <= documented, sorted(set(VARIABLES) - documented)


def test_the_kms_command_refuses_an_unknown_environment_in_one_line_without_a_traceback(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "KMS_ENV": "prod", "KMS_INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "kms", "init"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert (
        "KMS_ENV='prod' is not a known environment; use one of development, test, production." in done.stderr
    )
    assert "Traceback" not in done.stderr
