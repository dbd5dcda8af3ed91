"""Security headers on every response.

Scripts come only from this origin, with no inline script and no eval. Plotly writes its styles
into a <style id="plotly.js-style-global"> element with CSSOM; the page ships that element empty,
and the policy admits exactly the empty element by its hash, so responses stay deterministic
(no per-request nonce) and cacheable. Plotly and the step list set style attributes, which
style-src-attr allows.
"""
from __future__ import annotations

from flask import Response, request

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
