"""Where the templates and static files are: beside the app/ package in a checkout or a container
(templates/, static/), or inside it when installed from the wheel (app/_templates, app/_static,
copied there by the build; see pyproject.toml)."""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
_installed = (PACKAGE / "_templates").is_dir()
TEMPLATES = PACKAGE / "_templates" if _installed else PACKAGE.parent / "templates"
STATIC = PACKAGE / "_static" if _installed else PACKAGE.parent / "static"


def missing() -> str | None:
    """One sentence saying what a server would lack, or None when templates and built assets are there."""
    if not (TEMPLATES / "page.html").is_file():
        return f"the templates are missing (no {TEMPLATES / 'page.html'})"
    if not (STATIC / "dist" / "manifest.json").is_file():
        return f"the built static files are missing (no {STATIC / 'dist' / 'manifest.json'}; run `make assets`)"
    return None
