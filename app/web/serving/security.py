"""Security headers on every response.

Scripts come only from this origin, with no inline script and no eval. Plotly writes its styles
into a <style id="plotly.js-style-global"> element with CSSOM; the page ships that element empty,
and the policy admits exactly the empty element by its hash, so responses stay deterministic
(no per-request nonce) and cacheable. Plotly and the step list set style attributes, which
style-src-attr allows.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from flask import Response, redirect, request

EMPTY_STYLE_HASH = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"


def csp(frame_ancestors: str = "'none'") -> str:
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        f"style-src-elem 'self' {EMPTY_STYLE_HASH}",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        f"frame-ancestors {frame_ancestors}",
    ))


HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=(), payment=(), interest-cohort=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_headers(resp: Response) -> Response:
    embed = request.path.startswith("/embed/")
    resp.headers.setdefault("Content-Security-Policy", csp("*" if embed else "'none'"))
    if not embed:
        resp.headers.setdefault("X-Frame-Options", "DENY")
    for k, v in HEADERS.items():
        resp.headers.setdefault(k, v)
    return resp


# Static files are not documents, but a browser may still be pointed at one (an SVG, a stray file):
# they get nosniff and a policy that lets them run nothing.
STATIC_CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
              "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def static_headers(headers, path: str, url: str) -> None:
    """WhiteNoise's hook: the headers every static file carries."""
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = STATIC_CSP
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"


def local_location(resp: Response) -> Response:
    """Redirects name a path on this site, never a host: werkzeug's own redirects (a missing slash)
    would otherwise echo the request's Host."""
    location = resp.headers.get("Location")
    if location:
        parts = urlsplit(location)
        path = "/" + re.sub(r"^/+", "", parts.path)
        local = urlunsplit(("", "", path, parts.query, parts.fragment))
        if local != location:
            resp.headers["Location"] = local
            resp.set_data(redirect(local, resp.status_code).get_data())    # the body names it too
    return resp


def merged_slashes():
    """`//v6.17/` and the like: one canonical address, reached by a 301 (before routing, which
    would otherwise match it as it is)."""
    raw = request.environ.get("PATH_INFO", "")      # request.path has its leading slashes merged already
    if "//" in raw:
        query = request.query_string.decode("ascii", "replace")
        return redirect(re.sub(r"/{2,}", "/", request.path) + (f"?{query}" if query else ""), 301)
    return None
