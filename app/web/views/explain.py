"""Views that explain and compare: mail-ready text, two models side by side, every model at once,
behaviour maps, an embeddable view, presenter mode, and a step's pictures as files (SVG) and as a
link-preview card (og:image). Each takes a request already read (answer.scenario_view), asks the
worker's traces and renders."""
from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, Response, redirect, render_template, request

from ...permalink import ScenarioError, canonical_query, canonical_url, resolve_model
from ...present import compare, figure_export, figures, ogimage, presenters, preview, space, stage
from ...present.summary import title
from ...present.text import render as render_text
from ...sim import KERNELS, MODELS, SERIES
from .. import traces
from ..request import Refusal, Shape, Wanted
from ..serving import htmx, origin
from ..serving.responses import memoised
from .answer import refuse, scenario_view
from .page import player_context

bp = Blueprint("explain", __name__)


def _present_mode(args: Mapping[str, str]):
    """Presenter mode's own keys: mode=all (every step, not only the key steps) and theme=dark (light
    is the default); other values fall back to the default, through a redirect."""
    return ((("mode", "all"),) if args.get("mode") == "all" else ()) + \
        ((("theme", "dark"),) if args.get("theme") == "dark" else ())


def _picture(args: Mapping[str, str]):
    fig = args.get("fig", "")
    if fig not in FIGURES:
        return Refusal("The picture (fig) must be path, tree, desc or memtype.", "/svg/v6.17/?fig=path")
    return (("fig", fig),)


FIGURES = ("path", "tree", "desc", "memtype")
TEXT = Shape(prefix="/text")
TEXT_PAIR = Shape(prefix="/text", step=False)
PAIR = Shape(step=False)
EVERY = Shape(step=False)
EMBED = Shape(prefix="/embed", check_step=True, story=("story",))
PRESENT = Shape(prefix="/present", check_step=True, story=("story",), own=_present_mode)
NOTES = Shape(prefix="/notes", check_step=True, own=_present_mode)
SVG = Shape(prefix="/svg", check_step=True, own=_picture)
OG = Shape(prefix="/og")


@bp.get("/text/<name>/")
@scenario_view(TEXT, says="text")
def text(req: Wanted):
    """The trace as mail-safe plain text, the permalink alone on its last line."""
    url = origin.absolute(canonical_url(req.model, req.scenario))
    return memoised(lambda: (render_text(traces.trace(req.model, req.scenario), title(req.scenario), url),
                             "text/plain"))


@bp.get("/text/<a>..<b>/")
@scenario_view(TEXT_PAIR, says="text")
def versus_text(req: Wanted):
    """The comparison as mail-safe plain text: first difference, verdicts, differing steps, link."""
    (ma, mb), sc = req.models, req.scenario
    url = origin.absolute(canonical_url(f"{ma}..{mb}", sc))
    return memoised(lambda: (compare.as_text(traces.trace(ma, sc), traces.trace(mb, sc), title(sc), url),
                             "text/plain"))


@bp.get("/<a>..<b>/")
@scenario_view(PAIR)
def versus(req: Wanted):
    """One scenario on two models, aligned by decision point."""
    (ma, mb), sc = req.models, req.scenario

    def build():
        ta, tb = traces.trace(ma, sc), traces.trace(mb, sc)
        rows, first = compare.align(ta, tb)
        return render_template("compare.html", a=ma, b=mb, ta=ta, tb=tb, rows=rows, first=first, sc=sc,
                               faults=compare.fault_diff(ta, tb), leaves=compare.memslot_leaves(ta, tb, sc),
                               models=_listed(ma, mb), query=canonical_query(sc),
                               title=title(sc), href_a=canonical_url(ma, sc), href_b=canonical_url(mb, sc),
                               memslot=(presenters.memslot_verdict(ta), presenters.memslot_verdict(tb)),
                               all_href=canonical_url("all", sc), og=_versus_og(ma, mb, sc, ta, tb)), "text/html"
    return memoised(build)


def _listed(*mids: str) -> list[str]:
    """The models a comparison's picker lists: the six kernels, or the series when a revision is compared."""
    return list(SERIES) if set(mids) - set(KERNELS) else list(KERNELS)


def _versus_og(ma: str, mb: str, sc, ta, tb) -> dict:
    """A comparison's link preview: both verdicts in the title, the scenario in words."""
    return {"title": f"{ma} vs {mb}: {preview.verdict_words(ta)} / {preview.verdict_words(tb)} - "
                     f"{preview.scenario_words(sc)}",
            "description": f"{preview.access_words(sc).capitalize()}: {ma} and {mb} side by side, aligned by "
                           "decision point, the first difference marked.",
            "url": origin.absolute(canonical_url(f"{ma}..{mb}", sc)), "image": ""}


@bp.get("/all/")
@scenario_view(EVERY)
def every_model(req: Wanted):
    """One scenario against every model: verdict, memory type and where it was rejected."""
    return memoised(lambda: (_every_model(req.scenario), "text/html"))


def _every_model(sc) -> str:
    runs = {mid: traces.trace(mid, sc) for mid in KERNELS}
    slots = space.slots_by_model(sc, runs) if sc.has_layout else []
    rows = [{"label": "KVM_SET_USER_MEMORY_REGION", "cells": [
        {**compare.matrix_cell(tr, None), "href": canonical_url(mid, sc, 1)} for mid, tr in runs.items()]}]
    rows.append({"label": "KVM_CHECK_EXTENSION(243)", "cells": [
        {"ok": True, "text": str(tr.cap_cacheable_pfnmap), "href": canonical_url(mid, sc)}
        for mid, tr in runs.items()]})
    for i, f in enumerate(sc.faults):
        rows.append({"label": f"fault {i + 1}: {f.access} at {f.ipa:#x}", "cells": [
            {**compare.matrix_cell(tr, i), "href": canonical_url(mid, sc)} for mid, tr in runs.items()]})
    for row in slots:
        for c in row["cells"]:
            c["href"] = canonical_url(c["mid"], sc)
    return render_template("all.html", rows=rows, slots=slots, models=list(KERNELS), sc=sc, title=title(sc),
                           query=canonical_query(sc))


def _player(req: Wanted, prefix: str, page: str, mode: str = "") -> Response:
    """A read-only rendering of one permalink under /embed or /present, with the same picture as
    the page; stepping swaps the picture alone, as on the page."""
    full = origin.absolute(canonical_url(req.model, req.scenario, req.step))
    template = htmx.template(request, page, main="_stage.html", stage="_stage.html")
    own = dict(req.own)
    return htmx.vary(memoised(lambda: (render_template(
        template, embed=prefix == "/embed", present=prefix == "/present", full=full, theme=own.get("theme", "light"),
        **player_context(req, prefix, mode)), "text/html")))


@bp.get("/embed/<name>/")
@scenario_view(EMBED, fragments=True)
def embed(req: Wanted):
    """A read-only view for iframes (the only routes whose responses may be framed)."""
    return _player(req, "/embed", "embed.html")


@bp.get("/present/<name>/")
@scenario_view(PRESENT, fragments=True)
def present(req: Wanted):
    """Presenter mode: the page's picture in large type, for a projector and a clicker; by default
    only the key steps (mode=all: every step)."""
    return _player(req, "/present", "present.html", "all" if ("mode", "all") in req.own else "key")


@bp.get("/notes/<name>/")
@scenario_view(NOTES)
def notes(req: Wanted):
    """Speaker notes for presenter mode, in a second window that follows the deck (and steers it):
    the step's code, values and source, and what the next key step will say."""
    own = dict(req.own)
    mode = "all" if own.get("mode") == "all" else "key"
    deck = origin.absolute(canonical_url(req.model, req.scenario, req.step, prefix="/present"))
    return memoised(lambda: (render_template("notes.html", deck=deck, theme=own.get("theme", "light"),
                                             **player_context(req, "/notes", mode)), "text/html"))


@bp.get("/svg/<name>/")
@scenario_view(SVG)
def figure_svg(req: Wanted):
    """The step's picture as a standalone SVG file: fig=path (the access's path), fig=tree (the
    stage-2 table), fig=desc (the leaf descriptor) or fig=memtype (the memory types and the cache
    maintenance), at the permalink's step (the last when it names none)."""
    mid, sc, fig = req.model, req.scenario, req.own[0][1]
    tr = traces.trace(mid, sc)
    steps = presenters.steps(tr)
    if not steps:
        return refuse(Refusal("This scenario has no step to draw.", f"/{mid}/"))
    n = req.step or len(steps)
    ctx = stage.context(mid, sc, tr, steps, n)
    if fig == "path":
        svg, width = render_template("_svg_path.html", p=ctx["path_wide"], cls="wide"), 1200
    elif fig == "tree":
        svg, width = render_template("_svg_tree.html", t=ctx["tree"]), 1000
    elif fig == "desc":
        svg, width = figure_export.descriptor_svg(ctx["desc"])
    else:
        svg, width = figure_export.memtype_svg(ctx["mt"], ctx["cmo_lines"])
    resp = Response(figure_export.standalone(svg, width), mimetype="image/svg+xml")
    resp.headers["Content-Disposition"] = f'attachment; filename="s2viz-{mid}-step{n}-{fig}.svg"'
    resp.headers["Content-Security-Policy"] = figure_export.CSP
    return resp


@bp.get("/og/<name>/")
@scenario_view(OG)
def og_image(req: Wanted):
    """A permalink's link-preview card (og:image): a PNG with model, scenario and verdict."""
    mid, sc = req.model, req.scenario

    def build():
        tr = traces.trace(mid, sc)
        ok = tr.memslot.result == "ok" and bool(tr.faults) and tr.faults[-1].outcome in (
            "map", "relax", "no_fault", "exit_mmio")
        return ogimage.card(mid, MODELS[mid].title, preview.scenario_words(sc), preview.access_words(sc),
                            preview.verdict_words(tr), ok), "image/png"
    return memoised(build)


@bp.get("/map/<name>/")
def behaviour_map(name: str):
    """One model's outcomes across mappings x host features x fault kinds; or, for a..b, where they differ."""
    a, _, b = name.partition("..")
    try:
        ids = tuple(dict.fromkeys((resolve_model(a), resolve_model(b)) if b else (resolve_model(a),)))
    except ScenarioError as e:
        return refuse(Refusal(str(e), "/map/v6.17/", 404))
    canonical = "..".join(ids)      # v6.17.. and v6.17..v6.17 are the map of v6.17
    if request.query_string:
        return refuse(Refusal("A behaviour map takes no query: it always covers the same ground.",
                              f"/map/{canonical}/"))
    if name != canonical:
        return redirect(f"/map/{canonical}/", 302 if "latest" in (a, b) else 301)
    diff = len(ids) == 2

    def build():
        grid = traces.grid_diff(*ids) if diff else traces.grid(ids[0])
        return render_template("map.html", grid=grid, figure=figures.behaviour_map(grid, diff=diff), name=name,
                               models=list(KERNELS), diff=diff, vms=traces.vm_grid(*ids)), "text/html"
    return memoised(build)
