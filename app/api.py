"""The JSON API (/api/v1/<model>/?<query>) and /healthz."""
from __future__ import annotations

import json

from flask import Blueprint, jsonify, redirect, request

from .permalink import ScenarioError, canonical_query, canonical_url, parse_query, resolve_model
from .present.report import trace_json
from .serving import cached, memoised
from .sim import LATEST
from .views import traced

bp = Blueprint("api", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/api/v1/<name>/")
def trace(name: str):
    key = ("api", name, request.query_string)
    hit = cached(key)
    if hit is not None:
        return hit
    try:
        mid = resolve_model(name)
    except ScenarioError as e:
        return _bad(str(e), canonical_url(LATEST, parse_query("").scenario, prefix="/api/v1"), 404)
    query = request.query_string.decode("utf-8", "replace")
    parsed = parse_query(query)
    if parsed.errors:
        return _bad(parsed.errors[0], canonical_url(mid, parsed.scenario, prefix="/api/v1"))
    if name != mid:
        return redirect(canonical_url(mid, parsed.scenario, parsed.step, prefix="/api/v1"), 302)
    if query != canonical_query(parsed.scenario, parsed.step):
        return redirect(canonical_url(mid, parsed.scenario, parsed.step, prefix="/api/v1"), 301)
    return memoised(key, lambda: (json.dumps(trace_json(traced(mid, parsed.scenario), canonical_url(
        mid, parsed.scenario)), separators=(",", ":")) + "\n", "application/json"))


def _bad(message: str, nearest: str, status: int = 400):
    resp = jsonify(error=message, nearest=nearest)
    resp.status_code = status
    return resp
