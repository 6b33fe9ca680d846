"""kms: a customer-success team's handbook, training and hiring scorecards in one Flask site."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from kms import articles, auth, cli, config, extensions, hiring, media, metrics, search, sso, training, web
from kms.sessions import SlidingSessionInterface

try:
    __version__ = version("kms")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0.0.0+source"


# Each feature adds itself in init_app: blueprint, menu entry, template helpers, landing rules, hooks.
# Listed in the direction they depend (metrics -> hiring -> training -> articles -> auth); search indexes them all.
FEATURES = (auth, sso, articles, training, hiring, metrics, search, media)


def create_app(overrides: dict | None = None) -> Flask:
    """Build an app; tests pass overrides (KMS_* names or Flask keys) instead of patching globals."""
    settings = config.load(overrides)
    app = Flask(
        __name__,
        template_folder=str(settings.templates_dir),
        instance_path=str(settings.instance_dir),
        instance_relative_config=False,
    )
    app.config.from_mapping(settings.flask_config())
    app.config["KMS_VERSION"] = __version__
    app.session_interface = SlidingSessionInterface()
    hops = int(settings.get("KMS_PROXY_HOPS"))
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    extensions.init_app(app)
    web.init_app(app)
    for feature in FEATURES:
        feature.init_app(app)
    cli.init_app(app)
    return app
