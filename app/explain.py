"""Views that explain and compare: mail-ready text, two models side by side, every model at once,
an embeddable view, presenter mode and lessons. Each parses, simulates and renders."""
from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request

from . import behaviour, compare, exercises, htmx, lessons, origin, presenters, stage
from .form import parse_form
from .permalink import ScenarioError, canonical_query, canonical_url, clip, resolve_model
from .present.text import render as render_text
from .serving import cached, memoised
from .sim import LATEST, MODELS
from .sim.scenario import Scenario
from .summary import title
from .views import _context, bad_request, traced

bp = Blueprint("explain", __name__)


def scenario_request(prefix: str, name: str, plain: bool = False, extra: str = ""):
    """(model, scenario, step) for /<prefix>/<model>/?query, or the redirect / 400 to answer.
    extra: a view's own key=value, kept after the permalink's keys (presenter mode's mode=all)."""
    try:
        mid = resolve_model(name)
    except ScenarioError as e:
        return _bad(str(e), canonical_url(LATEST, Scenario(), prefix=prefix), plain, 404)
    own = extra.split("=")[0] if extra else None
    parsed = parse_form([(k, v) for k, v in request.args.items(multi=True) if k != own or not own])
    if parsed.errors:
        return _bad(parsed.errors[0], canonical_url(mid, parsed.scenario, prefix=prefix), plain)
    query = "&".join(q for q in (canonical_query(parsed.scenario, parsed.step), extra) if q)
    if name != mid or request.query_string.decode("utf-8", "replace") != query:
        return redirect(f"{prefix}/{mid}/" + (f"?{query}" if query else ""), 302 if name != mid else 301)
    return mid, parsed.scenario, parsed.step


def _bad(message: str, nearest: str, plain: bool, status: int = 400) -> Response:
    if plain:
        return Response(f"{message}\nNearest valid scenario: {nearest}\n", status=status, mimetype="text/plain")
    return bad_request(message, nearest, status)


@bp.get("/text/<name>/")
def text(name: str):
    """The trace as mail-safe plain text, the permalink alone on its last line."""
    got = scenario_request("/text", name, plain=True)
    if not isinstance(got, tuple):
        return got
    mid, sc, _ = got
    url = origin.absolute(canonical_url(mid, sc))
    return memoised(("text", url), lambda: (render_text(traced(mid, sc), title(sc), url),
                                             "text/plain"))


def pair_request(prefix: str, a: str, b: str, plain: bool):
    """(model a, model b, scenario) for /<prefix>/<a>..<b>/?query, or the redirect / 400 to answer."""
    try:
        ma, mb = resolve_model(a), resolve_model(b)
    except ScenarioError as e:
        return _bad(str(e), f"{prefix}/v6.14..v6.17/", plain, 404)
    parsed = parse_form(list(request.args.items(multi=True)))
    pair = f"{ma}..{mb}"
    if parsed.errors:
        return _bad(parsed.errors[0], canonical_url(pair, parsed.scenario, prefix=prefix), plain)
    sc = parsed.scenario
    if (a, b) != (ma, mb) or request.query_string.decode("utf-8", "replace") != canonical_query(sc):
        return redirect(canonical_url(pair, sc, prefix=prefix), 301 if (a, b) == (ma, mb) else 302)
    return ma, mb, sc


@bp.get("/text/<a>..<b>/")
def versus_text(a: str, b: str):
    """The comparison as mail-safe plain text: first difference, verdicts, differing steps, link."""
    got = pair_request("/text", a, b, plain=True)
    if not isinstance(got, tuple):
        return got
    ma, mb, sc = got
    url = origin.absolute(canonical_url(f"{ma}..{mb}", sc))
    return memoised(("versus-text", url), lambda: (
        compare.as_text(traced(ma, sc), traced(mb, sc), title(sc), url), "text/plain"))


@bp.get("/<a>..<b>/")
def versus(a: str, b: str):
    """One scenario on two models, aligned by decision point."""
    got = pair_request("", a, b, plain=False)
    if not isinstance(got, tuple):
        return got
    ma, mb, sc = got
    key = ("versus", f"{ma}..{mb}", request.query_string)
    hit = cached(key)
    if hit is not None:
        return hit

    def build():
        ta, tb = traced(ma, sc), traced(mb, sc)
        rows, first = compare.align(ta, tb)
        query = canonical_query(sc)
        return render_template("compare.html", a=ma, b=mb, ta=ta, tb=tb, rows=rows, first=first, sc=sc,
                               faults=compare.fault_diff(ta, tb), models=list(MODELS), query=query,
                               title=title(sc), href_a=canonical_url(ma, sc), href_b=canonical_url(mb, sc),
                               memslot=(presenters.memslot_verdict(ta), presenters.memslot_verdict(tb)),
                               all_href=canonical_url("all", sc)), "text/html"
    return memoised(key, build)


@bp.get("/all/")
def every_model():
    """One scenario against every model: verdict, memory type and where it was rejected."""
    parsed = parse_form(list(request.args.items(multi=True)))
    if parsed.errors:
        return _bad(parsed.errors[0], canonical_url("all", parsed.scenario), False)
    sc = parsed.scenario
    if request.query_string.decode("utf-8", "replace") != canonical_query(sc):
        return redirect(canonical_url("all", sc), 301)
    return memoised(("all", sc), lambda: (_every_model(sc), "text/html"))


def _every_model(sc: Scenario) -> str:
    traces = {mid: traced(mid, sc) for mid in MODELS}
    rows = [{"label": "KVM_SET_USER_MEMORY_REGION", "cells": [
        {**compare.matrix_cell(tr, None), "href": canonical_url(mid, sc, 1)} for mid, tr in traces.items()]}]
    rows.append({"label": "KVM_CHECK_EXTENSION(243)", "cells": [
        {"ok": True, "text": str(tr.cap_cacheable_pfnmap), "href": canonical_url(mid, sc)}
        for mid, tr in traces.items()]})
    for i, f in enumerate(sc.faults):
        rows.append({"label": f"fault {i + 1}: {f.access} at {f.ipa:#x}", "cells": [
            {**compare.matrix_cell(tr, i), "href": canonical_url(mid, sc)} for mid, tr in traces.items()]})
    return render_template("all.html", rows=rows, models=list(MODELS), sc=sc, title=title(sc),
                           query=canonical_query(sc))


def scenario_view(prefix: str, name: str, template: str, mode: str = "") -> Response:
    """A read-only rendering of one permalink under a prefix (/embed, /present), with the same
    picture as the page; stepping swaps the picture alone, as on the page."""
    got = scenario_request(prefix, name, extra=("mode=all" if mode == "all" else ""))
    if not isinstance(got, tuple):
        return got
    mid, sc, step = got
    target = htmx.fragment_target(request)
    key = (prefix, mid, request.query_string, target)
    hit = cached(key)
    if hit is not None:
        return htmx.vary(hit)
    tr = traced(mid, sc)
    steps = presenters.steps(tr)
    if step is not None and step > len(steps):
        return _bad(f"step {clip(str(step))} is past the last step ({len(steps)}).",
                    canonical_url(mid, sc, prefix=prefix), False)
    current = step or len(steps)
    if prefix == "/present" and step is None:     # a talk starts at the beginning
        current = 1 if mode == "all" else next(iter(stage.key_steps(tr, steps)), 1)
    ctx = _context(mid, sc, tr, steps, current, prefix=prefix, mode=mode)
    full = origin.absolute(canonical_url(mid, sc, step))
    return htmx.vary(memoised(key, lambda: (render_template(
        "_stage.html" if target else template, embed=prefix == "/embed", present=prefix == "/present",
        full=full, **ctx), "text/html")))


@bp.get("/embed/<name>/")
def embed(name: str):
    """A read-only view for iframes (the only routes whose responses may be framed)."""
    return scenario_view("/embed", name, "embed.html")


@bp.get("/present/<name>/")
def present(name: str):
    """Presenter mode: the page's picture in large type, for a projector and a clicker; by default
    only the key steps (mode=all: every step)."""
    return scenario_view("/present", name, "present.html", "all" if request.args.get("mode") == "all" else "key")


@bp.get("/lessons/")
def lesson_index():
    return memoised(("lessons",), lambda: (render_template("lessons.html", lessons=lessons.LESSONS), "text/html"))


@bp.get("/lessons/<lid>/")
def lesson(lid: str):
    """A lesson played part by part: predict, the prediction locks, then the reveal; progress and
    score live in the URL (?a=<answers>&p=<part>)."""
    found = lessons.by_id(lid)
    if found is None:
        return _bad(f"There is no lesson '{clip(lid)}'.", "/lessons/", False, 404)
    try:
        game, goto = lessons.play(found, request.args)
    except lessons.LessonError as e:
        return _bad(str(e), f"/lessons/{found.id}/", False)
    if goto:      # a prediction just locked (302), or a lesson address in another spelling (301)
        return redirect(goto, 302 if "guess" in request.args else 301)

    def build():
        parts = game.parts()
        return render_template("lesson.html", lesson=found, game=game, parts=parts, part=parts[game.current - 1],
                               choices=exercises.CHOICES, score=sum(1 for p in parts if p.get("right")),
                               lessons=lessons.LESSONS), "text/html"
    return memoised(("lesson", found.id, request.query_string), build)


@bp.get("/map/<name>/")
def behaviour_map(name: str):
    """One model's outcomes across mappings x host features x fault kinds; or, for a..b, where they differ."""
    from .figures import behaviour_map as figure
    a, _, b = name.partition("..")
    try:
        ids = tuple(dict.fromkeys((resolve_model(a), resolve_model(b)) if b else (resolve_model(a),)))
    except ScenarioError as e:
        return _bad(str(e), "/map/v6.17/", False, 404)
    canonical = "..".join(ids)      # v6.17.. and v6.17..v6.17 are the map of v6.17
    if request.query_string:
        return _bad("A behaviour map takes no query: it always covers the same ground.", f"/map/{canonical}/", False)
    if name != canonical:
        return redirect(f"/map/{canonical}/", 302 if "latest" in (a, b) else 301)
    diff = len(ids) == 2
    grid = behaviour.diff(*ids) if diff else behaviour.grid(ids[0])
    return memoised(("map", name), lambda: (render_template(
        "map.html", grid=grid, figure=figure(grid, diff=diff), name=name, models=list(MODELS), diff=diff),
        "text/html"))


from . import teach  # noqa: E402 - the glossary and exercise sets, served beside the lessons

bp.register_blueprint(teach.bp)
