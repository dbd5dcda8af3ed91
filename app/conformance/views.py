"""/conformance/ and /conformance.json."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from .overview import anchor, report, verdict

bp = Blueprint("conformance", __name__)


@bp.get("/conformance/")
def page():
    rep = report()
    runs = []
    for run in rep["runs"]:
        rows = [r for r in rep["cases"] if r["run"] == run["run"]]
        variant = ", ".join(k.upper() for k in ("fwb", "dic", "mte", "lpa2") if run["host"].get(k)) \
            or "no FWB, no DIC"
        runs.append({**run, "rows": rows, "variant": variant + (", nVHE" if run["host"].get("nvhe") else "")})
    return render_template("conformance.html", rep=rep, runs=runs, verdict=verdict, anchor=anchor)


@bp.get("/conformance.json")
def as_json():
    return jsonify(report())
