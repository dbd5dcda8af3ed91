"""The one place that reads and writes htmx's headers (htmx 4).

htmx 4 sends HX-Request on every request it makes and HX-Request-Type: partial when it swaps a
part of the page; a history restore (back/forward after a cache miss) re-fetches the URL with
HX-History-Restore-Request and HX-Request-Type: full, and must get the whole page. 4xx responses
are swapped too, so an error fragment is content. Stepping is htmx's own request: a step link,
boosted, with hx-target #stage (htmx sends HX-Target: div#stage), its URL replaced in the history.
Every response that reads these headers names them in Vary.
"""
from __future__ import annotations

from flask import Request, Response

VARY = "HX-Request, HX-Request-Type, HX-History-Restore-Request, HX-Target"


def wants_fragment(request: Request) -> bool:
    h = request.headers
    return (h.get("HX-Request") == "true" and h.get("HX-Request-Type", "partial") == "partial"
            and h.get("HX-History-Restore-Request") != "true")


def fragment_target(request: Request) -> str | None:
    """Which part of the page an htmx request swaps: "stage" (stepping swaps only the picture of
    one step), "main" (a change of scenario), or None for a whole page."""
    if not wants_fragment(request):
        return None
    return "stage" if request.headers.get("HX-Target", "").lstrip("#").endswith("stage") else "main"


def template(request: Request, page: str, **fragments: str) -> str:
    """The template that answers: the whole page, or the fragment for the part htmx swaps
    (fragments by target: stage=..., main=...; a target without one gets the page)."""
    target = fragment_target(request)
    return page if target is None else fragments.get(target, page)


def vary(resp: Response) -> Response:
    resp.vary.update(v.strip() for v in VARY.split(","))
    return resp


def is_fragment(request: Request, resp: Response) -> bool:
    """Whether resp is a fragment for htmx: it varies by htmx's headers and they asked for one."""
    return "HX-Request" in resp.vary and wants_fragment(request)


def keep_address(resp: Response) -> Response:
    """The answer must not change the address bar (an inline error beside the controls)."""
    resp.headers["HX-Push-Url"] = "false"
    return resp
