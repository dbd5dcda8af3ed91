"""The Flask application factory."""
from __future__ import annotations

from flask import Flask, abort, request
from flask.templating import Environment
from whitenoise import WhiteNoise

from .. import conformance
from ..permalink import MAX_QUERY
from ..teach import glossary
from .serving import assets, cache, origin, responses, security, site
from .views import api, errors, explain, page, series, teach


class Templates(Environment):
    """Jinja's environment, reading a dict's items before its attributes. The presenters give the
    templates plain dicts, and Jinja's own order (attribute first) raises and catches an
    AttributeError for each `row.name` it reads: hundreds a page."""

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def build(test_config: dict | None = None) -> Flask:
    # Static files are served by WhiteNoise (precompressed, immutable when fingerprinted), not Flask.
    app = Flask("app", template_folder=str(site.TEMPLATES), static_folder=None)
    app.jinja_environment = Templates
    app.config.from_mapping(MAX_CONTENT_LENGTH=64 * 1024)
    app.config.from_prefixed_env("S2VIZ")
    if test_config:
        app.config.update(test_config)
    app.config["PUBLIC_URL"] = origin.check_public_url(app.config.get("PUBLIC_URL"))
    app.config["TRUSTED_HOSTS"] = origin.trusted_hosts(app.config.get("TRUSTED_HOSTS"))
    try:
        cache.install(app, float(app.config.get("CACHE_MB", 64)) * 1024 * 1024)
    except (TypeError, ValueError):
        raise ValueError(f"S2VIZ_CACHE_MB must be a number of megabytes, not {app.config['CACHE_MB']!r}.") from None
    app.config["DEBUG"] = False      # never: no debugger, no tracebacks, whatever the environment says
    app.json.sort_keys = False
    app.jinja_env.globals["asset"] = assets.asset_url
    app.jinja_env.globals["conformance_checked"] = conformance.checked
    app.jinja_env.filters["gloss"] = glossary.mark
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=str(site.STATIC), prefix="/static/", max_age=3600,
                              immutable_file_test=assets.IMMUTABLE, add_headers_function=security.static_headers)

    app.before_request(security.merged_slashes)

    @app.before_request
    def limit_query():
        if len(request.query_string) > MAX_QUERY:
            abort(413)

    app.after_request(responses.finish)
    app.after_request(security.local_location)
    app.after_request(security.add_headers)
    for bp in (api.bp, conformance.bp, explain.bp, series.bp, teach.bp, page.bp):
        app.register_blueprint(bp)
    errors.register(app)
    return app
