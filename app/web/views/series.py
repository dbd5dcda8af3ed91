"""The series view: one scenario through every revision of the cacheable-PFNMAP series and the
merged kernel (/series/?<query>), as mail text (/text/series/?<query>) and as JSON
(/api/v1/series/?<query>). Each reads its request through the one request path (answer.scenario_view)
and asks the worker's traces for every revision's trace."""
from __future__ import annotations

import json

from flask import Blueprint, render_template

from ...permalink import canonical_query, canonical_url
from ...present import series
from ...present.summary import title
from ...sim import SERIES
from ...sim.scenario import Scenario
from .. import traces
from ..request import Shape, Wanted
from ..serving import origin
from ..serving.responses import memoised
from .answer import scenario_view

bp = Blueprint("series", __name__)

PAGE = Shape(step=False, where="series")
TEXT = Shape(prefix="/text", step=False, where="series")
API = Shape(prefix="/api/v1", form=False, step=False, where="series")


def _rows(sc: Scenario) -> list[dict]:
    return series.rows(sc, {mid: traces.trace(mid, sc) for mid in SERIES})


def _href(prefix: str, sc: Scenario) -> str:
    query = canonical_query(sc)
    return f"{prefix}/series/" + (f"?{query}" if query else "")


@bp.get("/series/")
@scenario_view(PAGE)
def series_page(req: Wanted):
    """Every revision's answer, the hazard it meets and where it decides it; between two revisions,
    the change and the review that asked for it."""
    sc = req.scenario

    def build():
        rows = _rows(sc)
        return render_template("series.html", rows=rows, between=series.between(sc, rows), sc=sc, title=title(sc),
                               text_href=_href("/text", sc), api_href=_href("/api/v1", sc),
                               all_href=canonical_url("all", sc)), "text/html"
    return memoised(build)


@bp.get("/text/series/")
@scenario_view(TEXT, says="text")
def series_text(req: Wanted):
    """The series view as mail-safe plain text, the permalink alone on its last line."""
    sc = req.scenario
    url = origin.absolute(_href("", sc))
    return memoised(lambda: (series.as_text(sc, _rows(sc), title(sc), url), "text/plain"))


@bp.get("/api/v1/series/")
@scenario_view(API, says="json")
def series_json(req: Wanted):
    sc = req.scenario
    return memoised(lambda: (json.dumps(series.as_json(sc, _rows(sc), _href("", sc)), separators=(",", ":")) + "\n",
                             "application/json"))
