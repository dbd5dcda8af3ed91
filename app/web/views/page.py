"""The page: /<model>/?<query>, the landing page and the memslot map's data. Each view takes a
request already read (answer.scenario_view), asks the worker's traces and renders; htmx.py picks
the page or the fragment htmx asked for."""
from __future__ import annotations

import json

from flask import Blueprint, Response, redirect, render_template, request
from markupsafe import escape

from ...permalink import canonical_query, canonical_url, parse_query
from ...present import figures, player, presenters, preview, stage
from ...present.summary import title
from ...teach import lessons
from .. import traces
from ..request import Refusal, Shape, Wanted
from ..serving import htmx, origin
from ..serving.assets import asset_url
from ..serving.responses import memoised
from .answer import refuse, scenario_view

bp = Blueprint("page", __name__)

DEFAULT = "/v6.17/?vma=pfnmap,io,shared,maywrite&mem=dev&f=40000000r.ua,40001000w,40002000x"


def _lesson_back(args) -> tuple[tuple[str, str], ...] | Refusal:
    """`lesson=<id>.<part>`: the page was opened from that part of a lesson, and links back to it."""
    value = args.get("lesson")
    if value is None:
        return ()
    lid, _, n = value.rpartition(".")
    found = lessons.by_id(lid)
    if found is None or not n.isdigit() or not 1 <= int(n) <= len(found.parts):
        return Refusal("The lesson part (lesson) must name a lesson and one of its parts, such as grace-hopper.2.",
                       "/lessons/")
    return (("lesson", f"{lid}.{int(n)}"),)


PAGE = Shape(check_step=True, last_step_implied=True, story=("preset", "story"), own=_lesson_back)
FIGURE = Shape(prefix="/figure", check_step=True, redirects=False)


@bp.get("/")
def index():
    """The landing page: the Grace Hopper scenario, opened on the step that tells its story."""
    mid, _, query = DEFAULT.strip("/").partition("/?")
    sc = parse_query(query).scenario
    return redirect(canonical_url(mid, sc, traces.story(mid, sc)), 302)


@bp.get("/favicon.ico")
def favicon():
    return redirect(asset_url("favicon.svg"), 302)


def player_context(req: Wanted, prefix: str = "", mode: str = "", controls: bool = True) -> dict:
    """What page.html, embed.html, present.html and their fragments need for the request's step,
    from the worker's trace."""
    mid, sc = req.model, req.scenario
    tr = traces.trace(mid, sc)
    return player.context(mid, sc, tr, presenters.steps(tr), req.step, prefix, mode, controls, req.own)


def form_refusal(r: Refusal) -> Response:
    """A bad field in htmx's request for the page: the nearest valid scenario with the message
    beside the controls, and the address bar kept as it was. Memoised by the nearest scenario and
    the message, so a repeated bad request costs no new rendering. Anything else: the 400 page."""
    if r.scenario is None or htmx.fragment_target(request) is None:
        return refuse(r)
    nearest = Wanted((r.model,), r.scenario)
    return htmx.keep_address(htmx.vary(memoised(
        lambda: (render_template("_main.html", form_error=r.message, **player_context(nearest)), "text/html", 400),
        key=("inline-error", r.model, canonical_query(r.scenario), r.message))))


@bp.get("/<name>/")
@scenario_view(PAGE, fragments=True, refusal=form_refusal)
def page(req: Wanted):
    template = htmx.template(request, "page.html", main="_main.html", stage="_stage.html")
    controls = template != "_stage.html"
    return htmx.vary(memoised(lambda: (render_template(template, lesson_back=_back(req), iframe=iframe_code(req),
                                                       **player_context(req, controls=controls)), "text/html")))


EMBED_SIZE = (800, 600)      # the size the iframe code suggests: the step's sentence and the picture fit


def iframe_code(req: Wanted) -> str:
    """The HTML that frames this scenario, at this step, on another site, at the suggested size."""
    src = escape(origin.absolute("/embed" + canonical_url(req.model, req.scenario, req.step)))
    return (f'<iframe src="{src}" width="{EMBED_SIZE[0]}" height="{EMBED_SIZE[1]}" loading="lazy" '
            f'title="{escape("s2viz " + req.model + ": " + title(req.scenario))}"></iframe>')


def _back(req: Wanted) -> dict | None:
    """The lesson part a page was opened from: its title and the address that resumes it."""
    own = dict(req.own)
    if "lesson" not in own:
        return None
    lid, _, n = own["lesson"].rpartition(".")
    return {"title": lessons.by_id(lid).title, "n": int(n), "href": f"/lessons/{lid}/?p={n}"}


@bp.get("/figure/<name>/")
@scenario_view(FIGURE, says="json")
def figure(req: Wanted):
    """The memslot map as Plotly JSON at a step, fetched when the reader opens it."""
    def build():
        tr = traces.trace(req.model, req.scenario)
        shown = stage.trace_at(tr, req.step or len(tr.all_steps()))
        return json.dumps(figures.memslot_map(shown), separators=(",", ":")) + "\n", "application/json"
    return memoised(build)


@bp.app_template_global("link_preview")
def link_preview(mid, sc, tr, path: str) -> dict:
    """OpenGraph meta for a permalink page (present.preview), with its absolute address."""
    return preview.meta(mid, sc, tr, origin.absolute(path))
