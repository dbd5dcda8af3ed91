"""The page: /<model>/?<query>. Each view parses, simulates and renders; htmx.py picks page or fragment."""
from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qsl

from flask import Blueprint, Response, redirect, render_template, request

from . import cache, htmx, presenters, stage
from .assets import asset_url
from .form import parse_form
from .permalink import ScenarioError, canonical_query, canonical_url, clip, fault_text, resolve_model
from .serving import cached, memoised
from .sim import LATEST, MODELS, simulate
from .sim.presets import PRESETS
from .sim.scenario import GRANULES, GUEST_S1_TYPES, HOST_LEAF_SIZES, MEMSLOT_GPA, MEMSLOT_SIZE, Scenario
from .summary import title

bp = Blueprint("page", __name__)


def traced(mid: str, sc: Scenario):
    """Traces are pure functions of (model, scenario): compute each once per worker, counted in
    bytes against the worker's cache budget (app/cache.py)."""
    return cache.memo(("trace", mid, sc), lambda: simulate(mid, sc))

DEFAULT = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r,40001000w,40002000x"


@bp.get("/")
def index():
    """The landing page: the Grace Hopper scenario, opened on the step that tells its story."""
    parsed = parse_form(parse_qsl(DEFAULT.split("?", 1)[1]))
    mid = DEFAULT.split("/")[1]
    return redirect(canonical_url(mid, parsed.scenario, story(mid, parsed.scenario)), 302)


@bp.get("/favicon.ico")
def favicon():
    return redirect(asset_url("favicon.svg"), 302)


@bp.get("/<name>/")
def page(name: str):
    target = htmx.fragment_target(request)
    key = ("page", name, request.query_string, target)
    hit = cached(key)
    if hit is not None:
        return htmx.vary(hit)
    try:
        mid = resolve_model(name)
    except ScenarioError as e:
        return bad_request(str(e), canonical_url(LATEST, Scenario()), status=404)
    parsed = parse_form(list(request.args.items(multi=True)))
    if parsed.errors and target:
        return _inline_error(mid, parsed.scenario, parsed.errors[0])
    if parsed.errors:
        return bad_request(parsed.errors[0], canonical_url(mid, parsed.scenario))
    sc = parsed.scenario
    tr = traced(mid, sc)
    steps = presenters.steps(tr)
    if parsed.step is not None and parsed.step > len(steps):
        return bad_request(f"step {clip(str(parsed.step))} is past the last step ({len(steps)}).",
                           canonical_url(mid, sc))
    step = parsed.step
    if request.args.get("preset"):
        step = story(mid, sc)          # a preset opens on the step that tells its story
    step = None if step in (None, len(steps)) else step
    canonical = canonical_url(mid, sc, step)
    if name != mid:
        return redirect(canonical, 302)
    if request.query_string.decode("utf-8", "replace") != canonical_query(sc, step):
        return redirect(canonical, 301)
    template = {"stage": "_stage.html", "main": "_main.html"}.get(target, "page.html")
    return htmx.vary(memoised(key, lambda: (render_template(
        template, **_context(mid, sc, tr, steps, step or len(steps), controls=target != "stage")), "text/html")))


def story(mid: str, sc: Scenario) -> int:
    """The step a scenario opens on (stage.story_step), from every model's trace."""
    return stage.story_step({m: traced(m, sc) for m in MODELS}, mid)


@bp.get("/figure/<name>/")
def figure(name: str):
    """The memslot map as Plotly JSON at a step, fetched when the reader opens it."""
    try:
        mid = resolve_model(name)
    except ScenarioError as e:
        return {"error": str(e)}, 404
    parsed = parse_form(list(request.args.items(multi=True)))
    if parsed.errors:
        return {"error": parsed.errors[0]}, 400
    from .figures import memslot_map
    tr = traced(mid, parsed.scenario)
    total = len(tr.all_steps())
    if parsed.step is not None and parsed.step > total:
        return {"error": f"step {clip(str(parsed.step))} is past the last step ({total})."}, 400
    return memoised(("figure", mid, parsed.scenario, parsed.step), lambda: (
        json.dumps(memslot_map(stage.trace_at(tr, parsed.step or total)), separators=(",", ":")) + "\n",
        "application/json"))


def _inline_error(mid: str, sc: Scenario, message: str) -> Response:
    """A bad field in the form: show the nearest valid scenario with the message beside the
    controls, and keep the address bar as it was. Memoised like a permalink (by the nearest scenario
    and the message), so a repeated bad request costs no new rendering."""
    def build():
        tr = traced(mid, sc)
        steps = presenters.steps(tr)
        ctx = _context(mid, sc, tr, steps, len(steps))
        return render_template("_main.html", form_error=message, **ctx), "text/html", 400
    resp = htmx.vary(memoised(("inline-error", mid, sc, message), build))
    resp.headers["HX-Push-Url"] = "false"
    return resp


def _context(mid: str, sc: Scenario, tr, steps, current: int, prefix: str = "", mode: str = "",
             controls: bool = True) -> dict:
    """What page.html, _main.html and _stage.html need (prefix: /embed or /present for those views;
    mode "key": the stepping buttons go from key step to key step, as presenter mode does;
    controls False: only the stage's part, for a step's fragment)."""
    texts = [fault_text(f) for f in sc.faults]
    faults = [{"n": i + 1, "label": texts[i], "remove": _without(mid, sc, texts, i),
               "first_step": next((s.n for s in steps if s.fault == i), None)}
              for i in range(len(texts))] if controls else []
    query = canonical_query(sc)
    total = len(steps)
    base = f"{prefix}/{mid}/?" + (query + "&" if query else "")
    tail = "&mode=all" if mode == "all" else ""

    def step_href(n: int) -> str:
        # A talk opens on its first key step, so presenter links always name their step.
        if n >= total and prefix != "/present":
            return (base[:-1] + tail.replace("&", "?" if base.endswith("?") else "&", 1)) if tail else base[:-1]
        return f"{base}step={n}{tail}"

    snap_ctx = stage.context(mid, sc, tr, steps, current, story(mid, sc)) if steps else {}
    keys = snap_ctx.get("key", []) if mode == "key" else list(range(1, total + 1))
    return {
        "faults_text": ",".join(fault_text(f) for f in sc.faults),
        "hidden": parse_qsl(query, keep_blank_values=True),
        "model": mid, "model_title": MODELS[mid].title, "sc": sc, "trace": tr, "steps": steps,
        "current": current, "faults": faults, "title": title(sc),
        "canonical": canonical_url(mid, sc, None if current >= total else current), "plain": canonical_url(mid, sc),
        "query": query, "mode": mode,
        "models": [{"id": m, "title": cls.title, "href": f"/{m}/" + (f"?{query}" if query else "")}
                   for m, cls in MODELS.items()],
        "presets": PRESETS.values(), "granules": GRANULES, "gs1_types": GUEST_S1_TYPES,
        "leaf_sizes": HOST_LEAF_SIZES[sc.g], "memslot": (MEMSLOT_GPA, MEMSLOT_GPA + MEMSLOT_SIZE),
        "ipa_limit": 1 << sc.ipa, "leaves": stage.leaf_rows(snap_ctx["snap"], tr, sc) if steps else [],
        "step_href": step_href,
        "nav_prev": max([k for k in keys if k < current] or [1]),
        "nav_next": min([k for k in keys if k > current] or [total]),
        "clear_href": canonical_url(mid, Scenario(**{**_fields(sc), "faults": ()})),
        "api_href": canonical_url(mid, sc, prefix="/api/v1"),
        "all_href": canonical_url("all", sc),
        "other": "v6.14" if mid != "v6.14" else "v6.17",
        "versus_href": canonical_url(("v6.14.." + mid) if mid != "v6.14" else "v6.14..v6.17", sc),
        **snap_ctx,
    }


def _without(mid: str, sc: Scenario, texts: list[str], i: int) -> str:
    """The permalink without fault i (the fault texts computed once for all of them)."""
    rest = ",".join(texts[:i] + texts[i + 1:])
    query = canonical_query(replace(sc, faults=()))
    query = "&".join(q for q in (query, f"f={rest}" if rest else "") if q)
    return f"/{mid}/" + (f"?{query}" if query else "")


def _fields(sc: Scenario) -> dict:
    return {k: getattr(sc, k) for k in sc.__dataclass_fields__}


def bad_request(message: str, nearest: str, status: int = 400) -> Response:
    """The contract's 400 (404 for a model that does not exist): one sentence and the nearest valid
    scenario (a fragment for htmx)."""
    name = "_error.html" if htmx.wants_fragment(request) else "error.html"
    return htmx.vary(memoised(("error", name, message, nearest, status), lambda: (
        render_template(name, message=message, nearest=nearest), "text/html", status)))
