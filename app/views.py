"""The page: /<model>/?<query>. Each view parses, simulates and renders; htmx.py picks page or fragment."""
from __future__ import annotations

import json
from urllib.parse import parse_qsl

from flask import Blueprint, Response, redirect, render_template, request

from . import cache, htmx, presenters
from .assets import asset_url
from .form import parse_form, without_fault
from .permalink import ScenarioError, canonical_query, canonical_url, clip, fault_text, resolve_model
from .serving import cached, memoised
from .sim import LATEST, MODELS, simulate
from .sim.presets import PRESETS
from .sim.scenario import GRANULES, GUEST_S1_TYPES, HOST_LEAF_SIZES, MEMSLOT_GPA, MEMSLOT_SIZE, Scenario

bp = Blueprint("page", __name__)


def traced(mid: str, sc: Scenario):
    """Traces are pure functions of (model, scenario): compute each once per worker, counted in
    bytes against the worker's cache budget (app/cache.py)."""
    return cache.memo(("trace", mid, sc), lambda: simulate(mid, sc))

DEFAULT = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"


@bp.get("/")
def index():
    return redirect(DEFAULT, 302)


@bp.get("/favicon.ico")
def favicon():
    return redirect(asset_url("favicon.svg"), 302)


@bp.get("/<name>/")
def page(name: str):
    fragment = htmx.wants_fragment(request)
    key = ("page", name, request.query_string, fragment)
    hit = cached(key)
    if hit is not None:
        return htmx.vary(hit)
    try:
        mid = resolve_model(name)
    except ScenarioError as e:
        return bad_request(str(e), canonical_url(LATEST, Scenario()), status=404)
    parsed = parse_form(list(request.args.items(multi=True)))
    if parsed.errors and fragment:
        return _inline_error(mid, parsed.scenario, parsed.errors[0])
    if parsed.errors:
        return bad_request(parsed.errors[0], canonical_url(mid, parsed.scenario))
    sc = parsed.scenario
    tr = traced(mid, sc)
    steps = presenters.steps(tr)
    if parsed.step is not None and parsed.step > len(steps):
        return bad_request(f"step {clip(str(parsed.step))} is past the last step ({len(steps)}).",
                           canonical_url(mid, sc))
    step = None if parsed.step in (None, len(steps)) else parsed.step
    canonical = canonical_url(mid, sc, step)
    if name != mid:
        return redirect(canonical, 302)
    if request.query_string.decode("utf-8", "replace") != canonical_query(sc, step):
        return redirect(canonical, 301)
    return htmx.vary(memoised(key, lambda: (render_template(
        "_main.html" if fragment else "page.html", **_context(mid, sc, tr, steps, step or len(steps), canonical)),
        "text/html")))


@bp.get("/figure/<name>/")
def figure(name: str):
    """The memslot map as Plotly JSON, fetched when the reader opens it."""
    try:
        mid = resolve_model(name)
    except ScenarioError as e:
        return {"error": str(e)}, 404
    parsed = parse_form(list(request.args.items(multi=True)))
    if parsed.errors:
        return {"error": parsed.errors[0]}, 400
    from .figures import memslot_map
    return memoised(("figure", mid, parsed.scenario), lambda: (
        json.dumps(memslot_map(traced(mid, parsed.scenario)), separators=(",", ":")) + "\n",
        "application/json"))


def _inline_error(mid: str, sc: Scenario, message: str) -> Response:
    """A bad field in the form: show the nearest valid scenario with the message beside the
    controls, and keep the address bar as it was. Memoised like a permalink (by the nearest scenario
    and the message), so a repeated bad request costs no new rendering."""
    def build():
        tr = traced(mid, sc)
        steps = presenters.steps(tr)
        ctx = _context(mid, sc, tr, steps, len(steps), canonical_url(mid, sc))
        return render_template("_main.html", form_error=message, **ctx), "text/html", 400
    resp = htmx.vary(memoised(("inline-error", mid, sc, message), build))
    resp.headers["HX-Push-Url"] = "false"
    return resp


def _context(mid: str, sc: Scenario, tr, steps, current: int, canonical: str) -> dict:
    has_fwb = "fwb" in sc.host
    faults = []
    for i, f in enumerate(tr.faults):
        faults.append({
            "n": i + 1, "f": f, "label": fault_text(sc.faults[i]),
            "verdict": presenters.fault_verdict(f),
            "walk": presenters.walk_rows(f, tr.geometry), "desc": presenters.descriptor(f.s2.pte) if f.s2 else None,
            "memtypes": presenters.memtypes(sc, tr, f, has_fwb), "cmo": presenters.cmo_text(f, sc),
            "remove": canonical_url(mid, without_fault(sc, i)),
            "first_step": next((s.n for s in steps if s.fault == i), None),
        })
    current_fault = steps[current - 1].fault if steps else None
    memslot_verdict = presenters.memslot_verdict(tr)
    verdict = presenters.overall_verdict(tr)
    query = canonical_query(sc)
    return {
        "faults_text": ",".join(fault_text(f) for f in sc.faults),
        "hidden": parse_qsl(query, keep_blank_values=True),
        "model": mid, "model_title": MODELS[mid].title, "sc": sc, "trace": tr, "steps": steps,
        "current": current, "current_fault": current_fault, "faults": faults, "verdict": verdict,
        "memslot_verdict": memslot_verdict, "canonical": canonical, "query": query,
        "models": [{"id": m, "title": cls.title, "href": f"/{m}/" + (f"?{query}" if query else "")}
                   for m, cls in MODELS.items()],
        "presets": PRESETS.values(), "granules": GRANULES, "gs1_types": GUEST_S1_TYPES,
        "leaf_sizes": HOST_LEAF_SIZES[sc.g], "memslot": (MEMSLOT_GPA, MEMSLOT_GPA + MEMSLOT_SIZE),
        "ipa_limit": 1 << sc.ipa, "leaves": presenters.leaf_rows(tr),
        "step_href": lambda n: canonical_url(mid, sc, None if n == len(steps) else n),
        "clear_href": canonical_url(mid, Scenario(**{**_fields(sc), "faults": ()})),
        "api_href": canonical_url(mid, sc, prefix="/api/v1"),
        "all_href": canonical_url("all", sc),
        "other": "v6.14" if mid != "v6.14" else "v6.17",
        "versus_href": canonical_url(("v6.14.." + mid) if mid != "v6.14" else "v6.14..v6.17", sc),
    }


def _fields(sc: Scenario) -> dict:
    return {k: getattr(sc, k) for k in sc.__dataclass_fields__}


def bad_request(message: str, nearest: str, status: int = 400) -> Response:
    """The contract's 400 (404 for a model that does not exist): one sentence and the nearest valid
    scenario (a fragment for htmx)."""
    name = "_error.html" if htmx.wants_fragment(request) else "error.html"
    return htmx.vary(memoised(("error", name, message, nearest, status), lambda: (
        render_template(name, message=message, nearest=nearest), "text/html", status)))

