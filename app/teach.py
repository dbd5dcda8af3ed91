"""Teaching views: the glossary and seeded exercise sets (worksheet, answer checker, exports).
Each parses its query, asks app.glossary / app.exercises, and renders."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from . import exercises, figure_export, glossary, ogimage, origin, preview, stage
from .presenters import steps as step_views
from .serving import memoised
from .sim import MODELS
from .views import bad_request, story, traced

bp = Blueprint("teach", __name__)
bp.add_app_template_filter(glossary.mark, "gloss")


@bp.app_template_global("link_preview")
def link_preview(mid, sc, tr, path: str) -> dict:
    """OpenGraph meta for a permalink page (app.preview), with its absolute address."""
    return preview.meta(mid, sc, tr, origin.absolute(path))


@bp.get("/glossary/")
def glossary_page():
    if request.query_string:
        return bad_request("The glossary takes no query.", "/glossary/")
    return render_template("glossary.html", terms=sorted(glossary.TERMS, key=lambda t: t.name.lower()))


def _set():
    """The exercise set the query names, or the 400 to answer."""
    try:
        return exercises.generate(*exercises.parse(request.args))
    except exercises.ExerciseError as e:
        return bad_request(str(e), "/exercises/")


@bp.get("/exercises/")
def exercise_set():
    es = _set()
    if isinstance(es, Response):
        return es
    fmt = request.args.get("format", "html")
    if fmt in exercises.FORMATS:
        render, mimetype = exercises.FORMATS[fmt]
        resp = Response(render(es, origin.base()), mimetype=mimetype)
        resp.headers["Content-Disposition"] = f'inline; filename="s2viz-exercises-{es.seed}.{fmt}"'
        return resp
    if fmt != "html":
        return bad_request("The format must be html, md, json or gift.", "/exercises/")
    key = request.args.get("key") == "1"
    return render_template("exercises.html", es=es, choices=exercises.CHOICES, short=exercises.SHORT,
                           models=list(MODELS), levels=exercises.LEVELS, max_n=exercises.MAX_N, key=key)


@bp.get("/exercises/check/")
def exercise_check():
    es = _set()
    if isinstance(es, Response):
        return es
    sheet = request.args.get("answers")
    if sheet is None:      # the worksheet's own form: one radio group per question
        sheet = "".join(request.args.get(f"a{q.n}", "-") or "-" for q in es.questions)
    try:
        sheet = exercises.parse_answers(sheet, len(es.questions))
    except exercises.ExerciseError as e:
        return bad_request(str(e), f"/exercises/?{es.query}")
    rows = exercises.grade(es, sheet)
    return render_template("exercises_check.html", es=es, rows=rows, score=sum(r["right"] for r in rows),
                           choices=exercises.CHOICES, short=exercises.SHORT, sheet=sheet)


@bp.get("/svg/<name>/")
def figure_svg(name: str):
    """The step's picture as a standalone SVG file: fig=path (the access's path) or fig=tree (the
    stage-2 table), at the permalink's step (the last when it names none)."""
    from .explain import _bad, scenario_request
    fig = request.args.get("fig", "")
    if fig not in ("path", "tree"):
        return _bad("The picture (fig) must be path or tree.", "/svg/v6.17/?fig=path", False)
    got = scenario_request("/svg", name, extra=f"fig={fig}")
    if not isinstance(got, tuple):
        return got
    mid, sc, step = got
    tr = traced(mid, sc)
    steps = step_views(tr)
    if not steps:
        return _bad("This scenario has no step to draw.", f"/{mid}/", False)
    if step is not None and step > len(steps):
        return _bad(f"step {step} is past the last step ({len(steps)}).", f"/{mid}/", False)
    n = step or len(steps)
    ctx = stage.context(mid, sc, tr, steps, n, story(mid, sc))
    if fig == "path":
        svg, width = render_template("_svg_path.html", p=ctx["path_wide"], cls="wide"), 1200
    else:
        svg, width = render_template("_svg_tree.html", t=ctx["tree"]), 1000
    resp = Response(figure_export.standalone(svg, width), mimetype="image/svg+xml")
    resp.headers["Content-Disposition"] = f'attachment; filename="s2viz-{mid}-step{n}-{fig}.svg"'
    resp.headers["Content-Security-Policy"] = figure_export.CSP
    return resp


@bp.get("/og/<name>/")
def og_image(name: str):
    """A permalink's link-preview card (og:image): a PNG with model, scenario and verdict."""
    from .explain import scenario_request
    got = scenario_request("/og", name)
    if not isinstance(got, tuple):
        return got
    mid, sc, _ = got
    tr = traced(mid, sc)
    ok = tr.memslot.result == "ok" and bool(tr.faults) and tr.faults[-1].outcome in ("map", "relax", "no_fault",
                                                                                      "exit_mmio")
    return memoised(("og", mid, request.query_string), lambda: (ogimage.card(
        mid, MODELS[mid].title, preview.scenario_words(sc), preview.access_words(sc), preview.verdict_words(tr), ok),
        "image/png"))
