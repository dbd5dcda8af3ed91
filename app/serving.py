"""Response plumbing for permalinks: ETag, conditional GET, Cache-Control, br/gzip compression.

Permalink responses are deterministic (same canonical URL, same bytes), so their ETag is a hash of
the body and browsers and proxies may keep them. Compressed bodies are memoised by ETag.
"""
from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict

from flask import Response, current_app, request

COMPRESSIBLE = ("text/html", "application/json", "text/plain")
CACHEABLE_PREFIXES = ("/api/v1/", "/figure/", "/text/", "/embed/")
MIN_SIZE = 512
PERMALINK_CACHE = "public, max-age=3600, stale-while-revalidate=86400"


class LRU:
    """A small bounded mapping, oldest out first."""

    def __init__(self, size: int):
        self.size, self.data = size, OrderedDict()

    def get(self, key):
        value = self.data.get(key)
        if value is not None:
            self.data.move_to_end(key)
        return value

    def put(self, key, value):
        self.data[key] = value
        self.data.move_to_end(key)
        while len(self.data) > self.size:
            self.data.popitem(last=False)
        return value


_compressed = LRU(256)


def _responses() -> LRU:
    return current_app.extensions.setdefault("s2viz.responses", LRU(512))


def cached(key) -> Response | None:
    """The memoised permalink response for key, if there is one."""
    hit = _responses().get(key)
    return None if hit is None else _response(*hit)


def memoised(key, build) -> Response:
    """A permalink response from the per-app cache, or built once by build() -> (body, mimetype).

    The key must hold everything the response depends on (path, raw query, the htmx headers); the
    ETag is computed once, when the body is built."""
    hit = _responses().get(key)
    if hit is None:
        body, mimetype = build()
        body = body.encode() if isinstance(body, str) else body
        hit = _responses().put(key, (body, mimetype, hashlib.sha256(body).hexdigest()[:24]))
    return _response(*hit)


def _response(body: bytes, mimetype: str, etag: str) -> Response:
    resp = Response(body, mimetype=mimetype)
    resp.headers["X-Body-Etag"] = etag      # consumed by finish(), never sent
    return resp


def is_permalink() -> bool:
    """Requests whose answer depends only on the URL (and the htmx headers named in Vary)."""
    return request.endpoint in ("page.page", "page.figure", "api.trace", "explain.versus", "explain.every_model",
                                "explain.present", "explain.lesson") or request.path.startswith(CACHEABLE_PREFIXES)


def finish(resp: Response) -> Response:
    if request.method != "GET" or resp.direct_passthrough or resp.mimetype not in COMPRESSIBLE:
        return resp
    if resp.status_code != 200:
        resp.headers.setdefault("Cache-Control", "no-store")
        return _compress(resp)
    body = resp.get_data()
    etag = resp.headers.pop("X-Body-Etag", None) or hashlib.sha256(body).hexdigest()[:24]
    if is_permalink():
        resp.headers["Cache-Control"] = PERMALINK_CACHE
    else:
        resp.headers.setdefault("Cache-Control", "no-cache")
    encoding = _encoding()
    resp.set_etag(etag + ("-" + encoding if encoding else ""))
    resp.vary.add("Accept-Encoding")
    if request.if_none_match and request.if_none_match.contains(resp.get_etag()[0]):
        resp.status_code = 304
        resp.set_data(b"")
        return resp
    if encoding and len(body) >= MIN_SIZE:
        key = (etag, encoding)
        packed = _compressed.get(key) or _compressed.put(key, _pack(body, encoding))
        resp.set_data(packed)
        resp.headers["Content-Encoding"] = encoding
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


def _brotli():
    try:
        import brotli
    except ImportError:     # pragma: no cover - brotli is a dependency; gzip still works without it
        return None
    return brotli
