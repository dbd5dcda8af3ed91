"""The JSON API (/api/v1/<model>/?<query>) and /healthz."""
from __future__ import annotations

import json

from flask import Blueprint, jsonify

from ...permalink import canonical_url
from ...present.report import trace_json
from .. import traces
from ..request import Shape, Wanted
from ..serving.responses import memoised
from .answer import scenario_view

bp = Blueprint("api", __name__)

# The API reads the contract's keys only: none of the page's form keys.
API = Shape(prefix="/api/v1", form=False)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/api/v1/<name>/")
@scenario_view(API, says="json")
def trace(req: Wanted):
    mid, sc = req.model, req.scenario
    return memoised(lambda: (json.dumps(trace_json(traces.trace(mid, sc), canonical_url(mid, sc)),
                                        separators=(",", ":")) + "\n", "application/json"))
