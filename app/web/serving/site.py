"""Where the templates and static files are: templates/ and static/ beside the app/ package in a
checkout or a container, reached through the links app/_templates and app/_static; inside the
package when installed from the wheel, which carries them there (see pyproject.toml)."""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2]          # app/
_inside = (PACKAGE / "_templates").is_dir()      # in a checkout, links to templates/ and static/
TEMPLATES = (PACKAGE / "_templates" if _inside else PACKAGE.parent / "templates").resolve()
STATIC = (PACKAGE / "_static" if _inside else PACKAGE.parent / "static").resolve()


def missing() -> str | None:
    """One sentence saying what a server would lack, or None when templates and built assets are there."""
    if not (TEMPLATES / "page.html").is_file():
        return f"the templates are missing (no {TEMPLATES / 'page.html'})"
    if not (STATIC / "dist" / "manifest.json").is_file():
        return f"the built static files are missing (no {STATIC / 'dist' / 'manifest.json'}; run `make assets`)"
    return None
