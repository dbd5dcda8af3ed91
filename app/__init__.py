"""s2viz: how arm64 KVM handles a guest's stage-2 fault, kernel by kernel.

Layers, each importing only the ones before it: app.sim (the simulator) -> app.permalink (the
schema-1 address grammar) -> app.present (what to show of a trace) -> app.teach (lessons,
exercises, glossary) -> app.web (the Flask app) -> app.cli."""
from __future__ import annotations


def create_app(test_config: dict | None = None):
    """Build the Flask app. Importing `app` alone loads no web framework."""
    from .web.factory import build
    return build(test_config)
