"""s2viz: the web app around the stage-2 fault simulator (app.sim is the simulator itself)."""
from __future__ import annotations


def create_app(test_config: dict | None = None):
    """Build the Flask app. Importing `app` alone loads no web framework."""
    from .factory import build
    return build(test_config)
