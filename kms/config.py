"""Settings read from KMS_* environment variables, with safe embedded defaults."""

from __future__ import annotations

import math
import os
import secrets
import string
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_ROOT = PACKAGE_DIR.parent


def _resource_dir(name: str) -> Path:
    """templates/, content/ and migrations/ live at the repo root in a checkout, and inside the wheel once built."""
    in_source = SOURCE_ROOT / name
    if (SOURCE_ROOT / "pyproject.toml").exists() and in_source.is_dir():
        return in_source
    return PACKAGE_DIR / "_shipped" / name


# name: (default, help). The README's configuration table is checked against this list by a test.
VARIABLES: dict[str, tuple[str, str]] = {
    "KMS_ENV": (
        "development",
        "`development`, `test` or `production` (anything else is refused); `production` turns on the start-up refusals (debug on, no or guessable secret key).",
    ),
    "KMS_INSTANCE_PATH": (
        "instance",
        "Folder for the SQLite database, the search index and the generated secret key.",
    ),
    "KMS_DATABASE_URL": (
        "",
        "Any SQLAlchemy URL, e.g. `postgresql+psycopg://kms@db/kms`. Default: SQLite file in the instance folder.",
    ),
    "KMS_SECRET_KEY": (
        "",
        "Signs sessions and CSRF tokens. Default: generated on first run into `instance/secret_key`. Required in production, and refused there when guessable (repeated or sequential runs, under ~128 bits): make one with `python3 -c 'import secrets; print(secrets.token_hex(32))'`.",
    ),
    "KMS_DEBUG": ("0", "`1` for Flask debug mode (development only)."),
    "KMS_HTTPS": ("0", "`1` when served over HTTPS: cookies get the Secure flag."),
    "KMS_PROXY_HOPS": (
        "0",
        "How many reverse proxies set X-Forwarded-* headers in front of kms (for client addresses and HTTPS).",
    ),
    "KMS_RATELIMIT_STORAGE_URL": (
        "memory://",
        "Flask-Limiter storage, e.g. `redis://127.0.0.1:6379/0` so several workers share the per-address limits.",
    ),
    "KMS_LOGIN_RATE": ("30 per minute", "Login attempts allowed per client address."),
    "KMS_LOGIN_MAX_FAILURES": (
        "5",
        "Failed logins for an account from one client before each further attempt from it waits: 15 s, doubling with every further failure (counted in the database). Failures from unknown clients together get twice as many, one address over all accounts five times as many; a client (address or browser) that logged into the account before is never held back by failures from elsewhere.",
    ),
    "KMS_LOGIN_LOCK_MINUTES": (
        "15",
        "The longest such wait; failures are forgotten this long after the last wait ended.",
    ),
    "KMS_INVITE_HOURS": ("72", "How long an invite (set-password) link stays valid."),
    "KMS_MAX_REQUEST_KB": ("1024", "Largest request body accepted, in KiB; larger requests get 413."),
    "KMS_MAX_UPLOAD_MB": (
        "25",
        "Largest uploaded image or file, in MiB (upload routes only; everything else keeps KMS_MAX_REQUEST_KB). Larger files get 413 with a message, and nothing is stored.",
    ),
    "KMS_MEDIA_DRAFT_DAYS": (
        "30",
        "Files uploaded while writing (drafts) that no saved page came to use are deleted after this many days, by the `media-drafts` job of `kms worker`.",
    ),
    "KMS_STORAGE_URL": (
        "",
        "Where uploaded files live: a folder path or `file:///path` (default: `media/` in the instance folder), or `s3://bucket/prefix` for S3-compatible object storage (needs the `s3` extra, boto3; the bucket must exist). Several servers need object storage (or one shared folder).",
    ),
    "KMS_S3_ENDPOINT_URL": (
        "",
        "S3: the service's address, e.g. `https://s3.eu-central-1.amazonaws.com` or a MinIO/SeaweedFS/Ceph gateway (empty: AWS's default for the region).",
    ),
    "KMS_S3_ACCESS_KEY_ID": ("", "S3: access key id (empty: boto3's usual sources, e.g. an instance role)."),
    "KMS_S3_SECRET_ACCESS_KEY": ("", "S3: secret access key."),
    "KMS_S3_REGION": ("us-east-1", "S3: the bucket's region."),
    "KMS_S3_PRESIGN": (
        "0",
        "S3: seconds a pre-signed download link stays valid; above 0, kms checks the permission and then redirects the browser to the object storage instead of passing the bytes through itself. 0: kms streams every file.",
    ),
    "KMS_METRICS_MAX_MB": (
        "200",
        "Largest metrics CSV accepted (upload page and `kms metrics import`), in MiB; a larger file is refused at that size while it streams in, and nothing is imported.",
    ),
    "KMS_METRICS_TIME_ZONE": (
        "UTC",
        "Time zone of metrics dates written without an offset (e.g. `2026-03-01 14:05:00`), unless the import names one.",
    ),
    "KMS_SESSION_HOURS": (
        "12",
        "A login ends after this many hours without activity (unless 'remember me' was ticked).",
    ),
    "KMS_REMEMBER_DAYS": ("14", "How long a 'remember me' cookie lasts."),
    "KMS_COVERAGE_TARGET": ("80", "Documentation coverage target in percent for the handbook progress bar."),
    "KMS_HIRING_RETENTION_DAYS": (
        "180",
        "`kms hiring-purge` deletes rejected candidates (and their scorecards) rejected more than this many days ago.",
    ),
    "KMS_OIDC_ISSUER": (
        "",
        'Single sign-on: the OpenID Connect provider\'s issuer URL (its discovery document is read from `<issuer>/.well-known/openid-configuration`). Set it and `KMS_OIDC_CLIENT_ID` to show "Sign in with …" on the login page; register `<site>/login/sso/default/callback` at the provider. More providers can be added in Users → Single sign-on settings.',
    ),
    "KMS_OIDC_CLIENT_ID": ("", "Single sign-on: the client id the provider gave kms."),
    "KMS_OIDC_CLIENT_SECRET": ("", "Single sign-on: the client secret the provider gave kms."),
    "KMS_OIDC_SCOPES": (
        "openid email profile",
        "Single sign-on: the scopes asked for (must include `openid`; add the one that carries groups if the provider needs it).",
    ),
    "KMS_OIDC_GROUPS_CLAIM": (
        "",
        "Single sign-on: the ID token claim listing the person's groups (e.g. `groups`); when set, the group rules in the SSO settings set role and team at every sign-in. Empty: roles are managed in kms.",
    ),
    "KMS_OIDC_LABEL": (
        "",
        'Single sign-on: the provider\'s name on the button, "Sign in with <label>" (default: single sign-on).',
    ),
    "KMS_SLACK_API_URL": (
        "https://slack.com/api",
        "Slack's Web API, called only with a bot token set (Integrations), to match Slack users to accounts by e-mail.",
    ),
    "KMS_SLACK_REPLY_URL_PREFIX": (
        "https://hooks.slack.com/",
        "Answers to the Slack message shortcut are posted only to response URLs starting with this.",
    ),
    "KMS_WEBHOOK_TIMEOUT": (
        "5",
        "Seconds kms waits for a team channel or outgoing webhook to answer before counting the attempt as failed.",
    ),
    "KMS_WEBHOOK_RETRY_SECONDS": (
        "30",
        "Pause before the first retry of a failed delivery; it doubles with each further failure (at most 6 hours).",
    ),
    "KMS_WEBHOOK_MAX_ATTEMPTS": (
        "6",
        "Attempts per delivery before it is marked failed in the delivery log.",
    ),
    "KMS_WEBHOOK_DISABLE_AFTER": (
        "10",
        "Failed attempts in a row after which a team channel or webhook is switched off and admins are told.",
    ),
    "KMS_SMTP_URL": (
        "",
        "Where e-mail goes: `smtp://host:25`, `smtp://user:pass@host:587?starttls=1` (STARTTLS required) or `smtps://user:pass@host:465` (TLS); `&timeout=20` sets the seconds to wait per step (default 10). Empty: no e-mail, notifications stay in-app and Admin → Mail says so.",
    ),
    "KMS_MAIL_FROM": (
        "kms <kms@localhost>",
        "The From address of kms e-mails, e.g. `kms <kms@example.com>`.",
    ),
    "KMS_BASE_URL": (
        "",
        "The site's public address for links in e-mails, e.g. `https://kms.example.com` (without it links point at `http://localhost:5000`).",
    ),
    "KMS_MAIL_MAX_TRIES": (
        "8",
        "Tries per e-mail before it lands on Admin → Mail as failed (waits double from KMS_MAIL_RETRY_SECONDS, at most 6 h).",
    ),
    "KMS_MAIL_RETRY_SECONDS": (
        "60",
        "The first wait before an e-mail that could not be sent is tried again.",
    ),
    "KMS_DIGEST_HOUR": (
        "7",
        "The hour (in each person's time zone) from which their daily digest e-mail is built.",
    ),
    "KMS_RESET_MINUTES": ("60", "How long a password-reset link stays valid."),
    "KMS_RESET_PER_HOUR": (
        "3",
        "Password-reset e-mails per address per hour (more requests get the same answer but no e-mail); one client address may ask ten times as often.",
    ),
    "KMS_LOAD_STARTER_CONTENT": (
        "1",
        "`1`: `kms serve` and `kms init` import content/ into an empty handbook.",
    ),
    "KMS_SEARCH_FOLLOW_SECONDS": (
        "0.5",
        "How often each `kms serve` worker looks in the shared search change log for edits made on other servers (several servers on one database; see docs/search-log.md).",
    ),
    "KMS_SEARCH_LOG_RETENTION_HOURS": (
        "24",
        "Search change log rows are deleted once every live server has indexed them, and after this many hours at the latest; a server further behind rebuilds its index.",
    ),
    "KMS_SEARCH_SERVER_TIMEOUT": (
        "300",
        "Seconds without a heartbeat after which a server no longer holds back the search change log's cleanup (it rebuilds its index if it returns too late).",
    ),
}

ENVIRONMENTS = ("development", "test", "production")
MIN_KEY_BITS = 128
MAKE_A_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"


class ConfigError(RuntimeError):
    """The configuration is unsafe or unusable; the message says which setting to fix."""


def _truthy(value: str | None) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    env: str
    instance_dir: Path
    database_url: str
    secret_key: str
    secret_key_configured: bool
    debug: bool
    https: bool
    raw: dict[str, str] = field(default_factory=dict)
    flask_overrides: dict = field(default_factory=dict)

    templates_dir: Path = field(default_factory=lambda: _resource_dir("templates"))
    content_dir: Path = field(default_factory=lambda: _resource_dir("content"))
    migrations_dir: Path = field(default_factory=lambda: _resource_dir("migrations"))

    def get(self, name: str) -> str:
        return self.raw[name]

    def flask_config(self) -> dict:
        hours = int(self.get("KMS_SESSION_HOURS"))
        config = {
            "SECRET_KEY": self.secret_key,
            "DEBUG": self.debug,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(self.database_url),
            "MAX_CONTENT_LENGTH": int(self.get("KMS_MAX_REQUEST_KB")) * 1024,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.https,
            "SESSION_COOKIE_NAME": "kms_session",
            "PERMANENT_SESSION_LIFETIME": hours * 3600,
            "REMEMBER_COOKIE_NAME": "kms_remember",
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.https,
            "REMEMBER_COOKIE_DURATION": int(self.get("KMS_REMEMBER_DAYS")) * 86400,
            # Tokens live as long as the session, so a long edit never loses its text to an expired token.
            "WTF_CSRF_TIME_LIMIT": None,
            "WTF_CSRF_SSL_STRICT": self.https,
            # kms.web checks CSRF itself, so token-authenticated API calls can skip it.
            "WTF_CSRF_CHECK_DEFAULT": False,
            "RATELIMIT_STORAGE_URI": self.get("KMS_RATELIMIT_STORAGE_URL"),
            "RATELIMIT_HEADERS_ENABLED": True,
            "KMS_ENV": self.env,
            "KMS_INSTANCE_DIR": str(self.instance_dir),
            "KMS_CONTENT_DIR": str(self.content_dir),
            "KMS_MIGRATIONS_DIR": str(self.migrations_dir),
            "KMS_SEARCH_DIR": str(self.instance_dir / "search-index"),
        }
        for name in VARIABLES:
            config[name] = self.raw[name]
        config.update(self.flask_overrides)
        return config


def _engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # A busy connection waits (busy_timeout, set per connection in extensions.py) instead of failing.
        return {"connect_args": {"timeout": 15}}
    return {"pool_pre_ping": True}


def _secret_from_file(instance_dir: Path) -> str:
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    # Create with 0600 atomically; if another process won the race, use its key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _alphabet_size(key: str) -> int:
    """How many symbols a random key made of the same kinds of characters could use."""
    if all(c in "0123456789abcdef" for c in key) or all(c in "0123456789ABCDEF" for c in key):
        return 16
    classes = ((string.ascii_lowercase, 26), (string.ascii_uppercase, 26), (string.digits, 10))
    size = sum(n for chars, n in classes if any(c in chars for c in key))
    return size + (33 if any(not c.isalnum() for c in key) else 0)


def _fresh_characters(key: str) -> int:
    """Characters a guesser could not predict: those that neither continue a run with a constant step
    (`aaaa`, `abcd`, `1357`) nor repeat an earlier stretch of 4 or more characters (`0123…0123…`)."""
    fresh, i = 0, 0
    while i < len(key):
        length = 4
        while i + length <= len(key) and 0 <= key.find(key[i : i + length], 0, i + length - 1) < i:
            length += 1
        if length > 4:  # key[i:i+length-1] repeats earlier text: one choice, "copy from there"
            fresh, i = fresh + 1, i + length - 1
            continue
        steps = [ord(key[j]) - ord(key[j - 1]) for j in range(max(1, i - 2), i + 1)]
        if not (i >= 3 and len(set(steps)) == 1):
            fresh += 1
        i += 1
    return fresh


def estimated_key_bits(key: str) -> int:
    """A deliberately modest estimate of a secret key's randomness, in bits."""
    key = key[:512]  # more than enough to reach the minimum; keeps the check quick for any length
    if not key:
        return 0
    return int(_fresh_characters(key) * math.log2(max(_alphabet_size(key), 2)))


def _check_secret_key(key: str) -> None:
    """Refuse a missing or guessable production secret key, saying how to make a good one."""
    if not key:
        raise ConfigError(f"KMS_ENV=production needs KMS_SECRET_KEY; make one with `{MAKE_A_KEY}`.")
    bits = estimated_key_bits(key)
    if bits < MIN_KEY_BITS or len(set(key)) < 10:
        raise ConfigError(
            f"KMS_SECRET_KEY is guessable (about {bits} bits of randomness; at least {MIN_KEY_BITS} needed, "
            f"without repeated or sequential runs). Make one with `{MAKE_A_KEY}`."
        )


def load(overrides: dict | None = None, environ: dict | None = None) -> Settings:
    """Merge defaults, the environment and test overrides; refuse unsafe production settings."""
    overrides = dict(overrides or {})
    environ = os.environ if environ is None else environ
    raw = {
        name: str(overrides.pop(name, environ.get(name, default))) for name, (default, _) in VARIABLES.items()
    }

    instance_dir = Path(raw["KMS_INSTANCE_PATH"]).expanduser().resolve()
    instance_dir.mkdir(parents=True, exist_ok=True)
    env = raw["KMS_ENV"].strip().lower() or "development"
    if env not in ENVIRONMENTS:
        raise ConfigError(
            f"KMS_ENV={raw['KMS_ENV']!r} is not a known environment; use one of {', '.join(ENVIRONMENTS)}."
        )
    debug = _truthy(raw["KMS_DEBUG"]) or bool(overrides.get("DEBUG"))
    database_url = raw["KMS_DATABASE_URL"] or f"sqlite:///{instance_dir / 'kms.db'}"
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

    configured_key = overrides.pop("SECRET_KEY", None) or raw["KMS_SECRET_KEY"]
    if env == "production":
        if debug:
            raise ConfigError("KMS_ENV=production refuses to start with debug on: unset KMS_DEBUG.")
        _check_secret_key(configured_key)
    secret_key = configured_key or _secret_from_file(instance_dir)
    for name in (
        "KMS_LOGIN_MAX_FAILURES",
        "KMS_LOGIN_LOCK_MINUTES",
        "KMS_INVITE_HOURS",
        "KMS_MAX_REQUEST_KB",
        "KMS_MAX_UPLOAD_MB",
        "KMS_MEDIA_DRAFT_DAYS",
        "KMS_METRICS_MAX_MB",
        "KMS_SESSION_HOURS",
        "KMS_REMEMBER_DAYS",
        "KMS_COVERAGE_TARGET",
        "KMS_PROXY_HOPS",
        "KMS_HIRING_RETENTION_DAYS",
        "KMS_MAIL_MAX_TRIES",
        "KMS_MAIL_RETRY_SECONDS",
        "KMS_DIGEST_HOUR",
        "KMS_RESET_MINUTES",
        "KMS_RESET_PER_HOUR",
        "KMS_S3_PRESIGN",
    ):
        if not raw[name].strip().isdigit():
            raise ConfigError(f"{name} must be a whole number, got {raw[name]!r}.")
    return Settings(
        env=env,
        instance_dir=instance_dir,
        database_url=database_url,
        secret_key=secret_key,
        secret_key_configured=bool(configured_key),
        debug=debug,
        https=_truthy(raw["KMS_HTTPS"]),
        raw=raw,
        flask_overrides=overrides,
    )
