"""Response plumbing: memoised bodies, ETag, conditional GET, Cache-Control, br/gzip compression.

Permalink responses are deterministic (same canonical URL, same bytes), so their ETag is a hash of
the body and browsers and proxies may keep them. A memoised response is kept compressed only (brotli,
or gzip without brotli), in the worker's one byte budget (cache.py); another encoding is derived
from it when a client asks for one. HEAD answers exactly the headers GET would.
"""
from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass

from flask import Response, request

from . import cache, htmx, origin

COMPRESSIBLE = ("text/html", "application/json", "text/plain")
CACHEABLE_PREFIXES = ("/api/v1/", "/figure/", "/text/", "/embed/", "/present/", "/notes/", "/map/")
MIN_SIZE = 512
PERMALINK_CACHE = "public, max-age=3600, stale-while-revalidate=86400"
FRAGMENT_CACHE = "private, max-age=3600"
BUILDERS = 2
_builders = threading.BoundedSemaphore(BUILDERS)


@dataclass(frozen=True, slots=True)
class Body:
    """A memoised response: its bytes as kept (compressed unless tiny) and what describes them."""
    data: bytes
    encoding: str | None
    mimetype: str
    status: int
    etag: str


def request_key() -> tuple:
    """What the response to this request depends on: its path, its raw query, the part of the page
    htmx asks for, and the origin of its absolute links (origin.py)."""
    return request.path, request.query_string, htmx.fragment_target(request) or "", origin.base()


def cached(key=None) -> Response | None:
    """The memoised response for key (by default, this request's), if there is one."""
    hit = cache.store().get(("response", key or request_key()))
    return None if hit is None else _response(hit)


def memoised(build, key=None) -> Response:
    """A response from the worker's cache, or built once by build() -> (body, mimetype[, status]).

    The key (by default the request's own, request_key()) must hold everything the response
    depends on; the ETag is computed once, when the body is built. At most BUILDERS threads of a
    worker build at once: building is CPU-bound (one GIL per worker), so more at once would only
    hold more half-rendered pages in memory."""
    key = key or request_key()
    hit = cache.store().get(("response", key))
    if hit is None:
        with _builders:
            hit = cache.memo(("response", key), lambda: _keep(*build()), size=_body_size)
    return _response(hit)


def _keep(body: str | bytes, mimetype: str, status: int = 200) -> Body:
    raw = body.encode() if isinstance(body, str) else body
    etag = hashlib.sha256(raw).hexdigest()[:24]
    if len(raw) < MIN_SIZE:
        return Body(raw, None, mimetype, status, etag)
    encoding = "br" if _brotli() is not None else "gzip"
    return Body(_pack(raw, encoding), encoding, mimetype, status, etag)


def _body_size(b: Body) -> int:
    return len(b.data) + 160


def _response(b: Body) -> Response:
    encoding = _encoding() if b.encoding else None
    resp = Response(_body_for(b, encoding), status=b.status, mimetype=b.mimetype)
    if encoding:
        resp.headers["Content-Encoding"] = encoding
    resp.vary.add("Accept-Encoding")
    resp.body_etag = b.etag         # read by finish(); an attribute, never a header
    return resp


def _body_for(b: Body, encoding: str | None) -> bytes:
    if encoding == b.encoding:
        return b.data
    raw = _unpack(b.data, b.encoding) if b.encoding else b.data
    if encoding is None:
        return raw
    return cache.memo(("packed", b.etag, encoding), lambda: _pack(raw, encoding), size=len)


def is_permalink() -> bool:
    """Requests whose answer depends only on the URL (and the htmx headers named in Vary)."""
    return request.endpoint in ("page.page", "page.figure", "api.trace", "explain.versus", "explain.every_model",
                                "explain.present") or request.path.startswith(CACHEABLE_PREFIXES)


def finish(resp: Response) -> Response:
    if request.method not in ("GET", "HEAD") or resp.direct_passthrough or resp.mimetype not in COMPRESSIBLE:
        return resp
    fragment = htmx.is_fragment(request, resp)
    etag = getattr(resp, "body_etag", None)
    if resp.status_code != 200:
        resp.headers.setdefault("Cache-Control", "private, no-store" if fragment else "no-store")
        return resp if etag else _compress(resp)
    if etag is None:
        body = resp.get_data()
        etag = hashlib.sha256(body).hexdigest()[:24]
        _compress(resp)
    if is_permalink():
        resp.headers["Cache-Control"] = FRAGMENT_CACHE if fragment else PERMALINK_CACHE
    else:
        resp.headers.setdefault("Cache-Control", "private, no-cache" if fragment else "no-cache")
    encoding = resp.headers.get("Content-Encoding")
    resp.set_etag(etag + ("-" + encoding if encoding else ""))
    if request.if_none_match and request.if_none_match.contains(resp.get_etag()[0]):
        resp.status_code = 304
        resp.set_data(b"")
    return resp


def _compress(resp: Response) -> Response:
    encoding = _encoding()
    body = resp.get_data()
    resp.vary.add("Accept-Encoding")
    if encoding and len(body) >= MIN_SIZE:
        resp.set_data(_pack(body, encoding))
        resp.headers["Content-Encoding"] = encoding
    return resp


def _encoding() -> str | None:
    accept = request.accept_encodings
    if accept["br"] and _brotli() is not None:
        return "br"
    if accept["gzip"]:
        return "gzip"
    return None


def _pack(body: bytes, encoding: str) -> bytes:
    if encoding == "br":
        return _brotli().compress(body, quality=5)
    return gzip.compress(body, compresslevel=6, mtime=0)


def _unpack(data: bytes, encoding: str) -> bytes:
    return _brotli().decompress(data) if encoding == "br" else gzip.decompress(data)


def _brotli():
    try:
        import brotli
    except ImportError:     # pragma: no cover - brotli is a dependency; gzip still works without it
        return None
    return brotli
