"""Static assets: content-hashed copies with a manifest, precompressed (br, gzip), built once.

`python -m app.web.serving.assets` writes static/dist/<name>.<hash>.<ext> and static/dist/manifest.json; the
page links those names, which never change content, so they are served `immutable`. Without a
build (a fresh checkout), the page links the plain files instead.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from functools import cache
from pathlib import Path

from .site import STATIC

DIST = STATIC / "dist"
SOURCES = ("css/app.css", "js/app.js", "js/present.js", "js/map.js", "js/glossary.js", "favicon.svg",
           "vendor/htmx.min.js", "vendor/plotly.min.js")
IMMUTABLE = r"/static/dist/.+\.[0-9a-f]{12}\.[a-z]+$"


def build(static: Path = STATIC) -> dict:
    dist = static / "dist"
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir(parents=True)
    manifest = {}
    for name in SOURCES:
        src = static / name
        digest = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
        stem, _, ext = src.name.rpartition(".")
        target = Path(name).parent / f"{stem}.{digest}.{ext}"
        (dist / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dist / target)
        manifest[name] = str(target)
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    from whitenoise.compress import Compressor
    compressor = Compressor(quiet=True)
    for path in dist.rglob("*"):
        if path.is_file() and compressor.should_compress(path.name):
            for _ in compressor.compress(str(path)):
                pass
    return manifest


@cache
def manifest() -> dict:
    path = DIST / "manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}


def asset_url(name: str) -> str:
    hashed = manifest().get(name)
    return f"/static/dist/{hashed}" if hashed else f"/static/{name}"


if __name__ == "__main__":
    built = build()
    print(f"{len(built)} assets fingerprinted and compressed into {DIST}", file=sys.stderr)
