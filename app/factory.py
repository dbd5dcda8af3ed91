"""The Flask application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def build(test_config: dict | None = None) -> Flask:
    app = Flask("app", template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_mapping(MAX_CONTENT_LENGTH=64 * 1024)
    app.config.from_prefixed_env("S2VIZ")
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False
    from . import api, errors, security, views
    app.after_request(security.add_headers)
    app.register_blueprint(api.bp)
    app.register_blueprint(views.bp)
    errors.register(app)
    return app
