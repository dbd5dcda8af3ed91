"""s2viz: the web app around the stage-2 fault simulator."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"))
    app.config.from_mapping(
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.config.from_prefixed_env("S2VIZ")
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False
    from . import api, errors
    app.register_blueprint(api.bp)
    errors.register(app)
    return app
