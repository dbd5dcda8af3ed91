"""How the web answers a request for a scenario: scenario_view() runs the one request path
(app/web/request.py) for a view and answers its redirect or its refusal, so that a view only ever
sees a request it can show; refuse() says a refusal as the view's readers need it (an HTML page,
an htmx fragment, JSON or plain text)."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import Response, jsonify, redirect, render_template, request

from ..request import Refusal, Shape, Wanted, scenario_request
from ..serving import htmx
from ..serving.responses import cached, memoised


def scenario_view(shape: Shape, says: str = "html", fragments: bool = False,
                  refusal: Callable[[Refusal], Response] | None = None):
    """Decorate a view of /<prefix>/<model>/ (or <a>..<b>, or none for /all/) that takes the Wanted.

    says: how a refusal is said, "html", "json" or "text" (refusal: a view's own way instead);
    fragments: the view answers htmx's fragment requests too, so its answers vary by their headers.
    A response already memoised for this very request is answered before anything is parsed."""
    def wrap(view: Callable[[Wanted], Response]):
        @wraps(view)
        def run(**segments: str):
            hit = cached()
            if hit is not None:
                return htmx.vary(hit) if fragments else hit
            names = tuple(segments[k] for k in ("name", "a", "b") if k in segments)
            got = scenario_request(shape, names, request.query_string.decode("utf-8", "replace"),
                                   request.args.items(multi=True))
            if isinstance(got, Refusal):
                return refusal(got) if refusal else refuse(got, says)
            if got.redirect:
                return redirect(*got.redirect)
            return view(got)
        return run
    return wrap


def refuse(r: Refusal, says: str = "html") -> Response:
    """The contract's 400 (404 for a model that does not exist): one sentence and the nearest valid
    address, as JSON, plain text, or an HTML page (a fragment for htmx)."""
    if says == "json":
        resp = jsonify(error=r.message, nearest=r.nearest)
        resp.status_code = r.status
        return resp
    if says == "text":
        return Response(f"{r.message}\nNearest valid scenario: {r.nearest}\n", status=r.status, mimetype="text/plain")
    return bad_request(r.message, r.nearest, r.status)


def bad_request(message: str, nearest: str, status: int = 400) -> Response:
    """An HTML refusal: the error page, or its fragment for htmx; memoised by what it says, so a
    repeated bad request costs no new rendering."""
    name = "_error.html" if htmx.wants_fragment(request) else "error.html"
    return htmx.vary(memoised(lambda: (render_template(name, message=message, nearest=nearest), "text/html", status),
                              key=("error", name, message, nearest, status)))
