"""The Flask application factory."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, abort, request
from whitenoise import WhiteNoise

from . import assets
from .permalink import MAX_QUERY

ROOT = Path(__file__).resolve().parent.parent


def build(test_config: dict | None = None) -> Flask:
    # Static files are served by WhiteNoise (precompressed, immutable when fingerprinted), not Flask.
    app = Flask("app", template_folder=str(ROOT / "templates"), static_folder=None)
    app.config.from_mapping(MAX_CONTENT_LENGTH=64 * 1024)
    app.config.from_prefixed_env("S2VIZ")
    if test_config:
        app.config.update(test_config)
    app.config["DEBUG"] = False      # never: no debugger, no tracebacks, whatever the environment says
    app.json.sort_keys = False
    app.jinja_env.globals["asset"] = assets.asset_url
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=str(ROOT / "static"), prefix="/static/", max_age=3600,
                              immutable_file_test=assets.IMMUTABLE)
    from . import api, conformance, errors, explain, security, serving, views

    @app.before_request
    def limit_query():
        if len(request.query_string) > MAX_QUERY:
            abort(413)

    app.after_request(serving.finish)
    app.after_request(security.add_headers)
    app.register_blueprint(api.bp)
    app.register_blueprint(conformance.bp)
    app.jinja_env.globals["conformance_checked"] = conformance.checked
    app.register_blueprint(explain.bp)
    app.register_blueprint(views.bp)
    errors.register(app)
    return app
